"""Every corpus PDF (tests/corpus, or ``$CSSE_CORPUS``) and every PDF tests/pdfs.py builds, through the Extractor:
the category of its manifest entry is the expectation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from compliance_sse.errors import ExtractTimeout, InvalidPdf, NoText, PasswordRequired, TooManyPages, WrongPassword
from compliance_sse.pipeline.extract import Extractor
from compliance_sse.pipeline.models import ExtractedPage

from ..conftest import Pdf
from .conftest import MakeExtractor, RecordingExecutor

# Page errors pypdf 7.1 raises inside extract_text() (tests/corpus/README.md), as the words we record.
PAGE_ERRORS = {
    "s33_broken-lzw.pdf": "stream_error",
    "s34_fuzz-partial-9-pages.pdf": "read_error",
    "s36_jbig2-bomb.pdf": "missing_dependency",
    "jbig2-bomb": "missing_dependency",
    "s37_a85-deprecated-filter.pdf": "deprecated_feature",
    "a85-deprecated-filter": "deprecated_feature",
}


async def extract(extractor: Extractor, data: bytes, password: str | None = None) -> list[ExtractedPage]:
    pages: list[ExtractedPage] = []
    async with extractor.open(data, password) as ex:
        async for page in ex:
            pages.append(page)
        assert len(pages) == ex.page_count
    return pages


async def test_text(pdf: Pdf, text_entry: dict[str, Any], isolation: str, make_extractor: MakeExtractor) -> None:
    extractor = await make_extractor(isolation=isolation)
    pages = await extract(extractor, pdf(text_entry["file"]))
    probe = text_entry["pypdf_7_1_0"]
    assert [p.number for p in pages] == list(range(1, probe["pages"] + 1))
    assert sum(len(p.text.strip()) for p in pages) == probe["text_chars"] > 0
    errors = {p.error for p in pages} - {None}
    assert errors == ({PAGE_ERRORS[text_entry["file"]]} if text_entry["file"] in PAGE_ERRORS else set())


async def test_password(
    pdf: Pdf, password_entry: dict[str, Any], isolation: str, make_extractor: MakeExtractor
) -> None:
    extractor = await make_extractor(isolation=isolation)
    data = pdf(password_entry["file"])
    pages = await extract(extractor, data, password_entry["password"])
    assert "".join(p.text for p in pages).strip()
    for password in (None, ""):
        with pytest.raises(PasswordRequired):
            await extract(extractor, data, password)
    with pytest.raises(WrongPassword):
        await extract(extractor, data, "not-" + password_entry["password"])


async def test_no_text(pdf: Pdf, no_text_entry: dict[str, Any], isolation: str, make_extractor: MakeExtractor) -> None:
    """NoText comes after every page was yielded, so a caller can still report progress."""
    extractor = await make_extractor(isolation=isolation)
    pages: list[ExtractedPage] = []
    with pytest.raises(NoText) as info:
        async with extractor.open(pdf(no_text_entry["file"])) as ex:
            async for page in ex:
                pages.append(page)
    assert len(pages) == ex.page_count == no_text_entry["pypdf_7_1_0"]["pages"]
    assert ex.text_chars == 0
    assert [p.error for p in pages if p.error] == (
        [PAGE_ERRORS[no_text_entry["file"]]] if no_text_entry["file"] in PAGE_ERRORS else []
    )
    assert "OCR" in info.value.detail


async def test_invalid(pdf: Pdf, invalid_entry: dict[str, Any], isolation: str, make_extractor: MakeExtractor) -> None:
    """Rejected in __aenter__, with our sentence: pypdf's message is only the __cause__."""
    extractor = await make_extractor(isolation=isolation)
    with pytest.raises(InvalidPdf) as info:
        async with extractor.open(pdf(invalid_entry["file"])):
            pytest.fail("opened")
    assert info.value.code == "invalid_pdf"
    assert info.value.detail.endswith(".")
    if isolation == "thread":
        cause = info.value.__cause__
        assert cause is not None
        assert not str(cause) or str(cause) not in info.value.detail
    assert extractor.stats["busy"] == 0


@pytest.mark.slow
async def test_slow_page_times_out(
    pdf: Pdf,
    isolation: str,
    make_extractor: MakeExtractor,
    recording_executor: RecordingExecutor,
) -> None:
    """One page, seconds in pypdf: ExtractTimeout at the deadline. A thread cannot be killed, so it is counted
    stray until its page is done; a worker process is killed and replaced."""
    kwargs: dict[str, Any] = {"executor": recording_executor} if isolation == "thread" else {"workers": 1}
    extractor = await make_extractor(isolation=isolation, timeout_s=1, **kwargs)
    with pytest.raises(ExtractTimeout):
        await extract(extractor, pdf("slow-1-page"))
    assert extractor.stats["timeouts"] == 1
    if isolation == "thread":
        assert extractor.stats["stray_threads"] == 1
        (future,) = recording_executor.futures
        # The thread finishes the page it was in, sees the stop flag and returns the pages it emitted.
        assert await asyncio.wrap_future(future) in (0, 1)
        assert extractor.stats["stray_threads"] == 0
    assert len(await extract(extractor, pdf("s01"))) == 1
    assert extractor.stats["workers_replaced"] == (1 if isolation == "process" else 0)


async def test_huge_over_max_pages(pdf: Pdf, isolation: str, make_extractor: MakeExtractor) -> None:
    extractor = await make_extractor(isolation=isolation, max_pages=500)
    with pytest.raises(TooManyPages) as info:
        await extract(extractor, pdf("huge-10000-pages"))
    assert "10000 pages" in info.value.detail
    assert extractor.stats["workers_replaced"] == 0


@pytest.mark.slow
async def test_huge_short_timeout_stops_the_thread(
    pdf: Pdf, make_extractor: MakeExtractor, recording_executor: RecordingExecutor
) -> None:
    """After the deadline the thread sees the stop flag at its next page and returns.

    The deadline is a fraction of the seconds pypdf needs for 10,000 pages, so even a thread that has
    the GIL to itself on a loaded machine cannot finish them all before it."""
    extractor = await make_extractor(max_pages=10_000, timeout_s=0.2, executor=recording_executor)
    delivered = 0
    with pytest.raises(ExtractTimeout):
        async with extractor.open(pdf("huge-10000-pages")) as ex:
            async for _ in ex:
                delivered += 1
    (future,) = recording_executor.futures
    emitted = await asyncio.wrap_future(future)
    assert delivered <= emitted < 10_000
    assert extractor.stats["stray_threads"] == 0


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_huge_all_pages(pdf: Pdf, isolation: str, make_extractor: MakeExtractor) -> None:
    """10 000 pages (~8 s in pypdf): all delivered in order, or a clean timeout on a loaded machine."""
    extractor = await make_extractor(isolation=isolation, max_pages=10_000, timeout_s=90)
    try:
        pages = await extract(extractor, pdf("huge-10000-pages"))
    except ExtractTimeout:
        assert extractor.stats["timeouts"] == 1
    else:
        assert [p.number for p in pages] == list(range(1, 10_001))
        assert sum(len(p.text.strip()) for p in pages) == 50_000
    assert len(await extract(extractor, pdf("s01"))) == 1
