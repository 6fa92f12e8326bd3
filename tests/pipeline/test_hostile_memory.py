"""A document's pypdf objects are freed when its extraction ends, without waiting for a full collection."""

from __future__ import annotations

import gc
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from compliance_sse.pipeline.extract import _extract_sync
from tests.pdfs import CATALOG, HELVETICA, make_pdf, one_page_pdf, page, stream

STREAM_MB = 8


@pytest.fixture
def no_collection() -> Iterator[None]:
    """The cyclic collector off, as if the next full collection were far away."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_collection")
def test_a_documents_decoded_streams_are_freed_when_its_extraction_ends() -> None:
    data = one_page_pdf(b"BT /F1 12 Tf 72 720 Td (Inflated) Tj ET\n" + b" " * (STREAM_MB * 10**6))
    emitted: list[Any] = []
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert _extract_sync(data, None, 5, emitted.append, lambda: False) == 1
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert "Inflated" in emitted[1].text
    assert held < STREAM_MB * 10**6 / 8, f"{held / 1e6:.1f} MB still held after the document"


def inflated_pages(count: int, mb: int) -> bytes:
    """``count`` pages, each a small Flate stream that inflates to ``mb`` MB (mostly blanks)."""
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [CATALOG, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count), HELVETICA]
    for i in range(count):
        content = b"BT /F1 12 Tf 72 720 Td (Page %d) Tj ET\n" % (i + 1) + b" " * (mb * 10**6)
        objects += [page(b"%d 0 R" % (5 + 2 * i), b"3 0 R"), stream(zlib.compress(content), b"/FlateDecode")]
    return make_pdf(objects)


@pytest.mark.usefixtures("no_collection")
def test_a_document_of_many_inflated_pages_holds_one_page_at_a_time() -> None:
    held: list[int] = []

    def emit(msg: Any) -> None:
        held.append(tracemalloc.get_traced_memory()[0])

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert _extract_sync(inflated_pages(4, STREAM_MB), None, 5, emit, lambda: False) == 4
    finally:
        tracemalloc.stop()
    assert max(held) - before < STREAM_MB * 10**6 / 8, [f"{(h - before) / 1e6:.1f} MB" for h in held]
