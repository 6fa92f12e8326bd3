"""Issue 15: a PDF password never reaches a log line through a repr."""

from __future__ import annotations

from compliance_sse.pipeline.models import Job
from compliance_sse.upload import Upload


def test_a_password_and_the_pdf_bytes_stay_out_of_reprs() -> None:
    job = Job(job_id="j", data=b"%PDF-secret-bytes", doc_name="d.pdf", sha256="", password="hunter2")
    upload = Upload(data=b"%PDF-secret-bytes", doc_name="d.pdf", password="hunter2", sha256="")
    for text in (repr(job), repr(upload)):
        assert "hunter2" not in text and "secret-bytes" not in text
