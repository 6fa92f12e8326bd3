"""The upload checks the server and the CLI share: the ``%PDF-`` header and the size cap."""

from __future__ import annotations

import hashlib

import pytest

from compliance_sse.errors import NotAPdf, UploadTooLarge
from compliance_sse.upload import check_header, checked_upload

PDF = b"%PDF-1.7\n" + b"0" * 100


def test_junk_before_the_header_is_legal_within_1024_bytes() -> None:
    check_header(b"x" * 1023 + PDF)
    with pytest.raises(NotAPdf):
        check_header(b"x" * 1024 + PDF)


def test_a_checked_upload_has_its_digest_and_a_display_name() -> None:
    upload = checked_upload(PDF, "../../etc/contract.pdf", "pw", max_bytes=len(PDF))
    assert upload.doc_name == "contract.pdf" and upload.password == "pw"
    assert upload.sha256 == hashlib.sha256(PDF).hexdigest()
    assert checked_upload(PDF, None, None, max_bytes=len(PDF)).doc_name == "document.pdf"


def test_the_cap_and_the_header_are_checked() -> None:
    with pytest.raises(UploadTooLarge, match="larger than"):
        checked_upload(PDF, "a.pdf", None, max_bytes=len(PDF) - 1)
    with pytest.raises(NotAPdf):
        checked_upload(b"PK\x03\x04", "a.pdf", None, max_bytes=1024)
