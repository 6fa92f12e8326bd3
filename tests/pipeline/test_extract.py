"""The Extractor: the pure pypdf part, error mapping, thread and process isolation, deadlines, cleanup."""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import multiprocessing.process
import os
import signal
import sys
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pypdf
import pypdf._crypt_providers._fallback
import pypdf._encryption
import pytest
from pypdf.errors import (
    DependencyError,
    DeprecationError,
    EmptyFileError,
    LimitReachedError,
    PdfReadError,
    PdfStreamError,
)

from compliance_sse.errors import (
    DocumentError,
    ExtractTimeout,
    InternalError,
    InvalidPdf,
    NoText,
    PasswordRequired,
    TooManyPages,
)
from compliance_sse.pipeline.extract import (
    DEFAULT_SWITCH_INTERVAL_S,
    Extractor,
    _decode,
    _Done,
    _encode,
    _extract_sync,
    _map_pypdf_errors,
    _Msg,
    _Opened,
    switch_interval,
)
from compliance_sse.pipeline.models import ExtractedPage

from ..conftest import Pdf
from ..pdfs import make_pdf
from ..polling import until
from .conftest import MakeExtractor, RecordingExecutor

_original_extract_text = pypdf.PageObject.extract_text


async def extract(extractor: Extractor, data: bytes, password: str | None = None) -> list[ExtractedPage]:
    async with extractor.open(data, password) as ex:
        return [page async for page in ex]


def page_number(page: pypdf.PageObject) -> int:
    """The page's number, counting from 1 like ExtractedPage.number."""
    assert page.page_number is not None
    return page.page_number + 1


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def worker_pids() -> set[int | None]:
    return {p.pid for p in multiprocessing.active_children()}


# --- the synchronous part ---------------------------------------------------------------------------


def test_extract_sync_emits_opened_then_pages_in_order(pdf: Pdf) -> None:
    emitted: list[Any] = []
    assert _extract_sync(pdf("s03"), None, 500, emitted.append, lambda: False) == 4
    assert emitted[0] == _Opened(page_count=4, encrypted=False)
    assert [p.number for p in emitted[1:]] == [1, 2, 3, 4]
    assert all(p.text.strip() and p.error is None for p in emitted[1:])


def test_extract_sync_stops_between_pages(pdf: Pdf) -> None:
    emitted: list[Any] = []
    assert _extract_sync(pdf("s03"), None, 500, emitted.append, lambda: len(emitted) > 2) == 2
    assert [p.number for p in emitted[1:]] == [1, 2]


def test_extract_sync_counts_pages_before_extracting(pdf: Pdf, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pypdf.PageObject, "extract_text", lambda *a, **k: pytest.fail("extracted"))
    emitted: list[Any] = []
    with pytest.raises(TooManyPages, match="4 pages; the service accepts at most 3"):
        _extract_sync(pdf("s03"), None, 3, emitted.append, lambda: False)
    assert emitted == []


@pytest.mark.parametrize(
    ("exc", "word"),
    [
        (PdfStreamError("Stream has ended unexpectedly"), "stream_error"),
        (PdfReadError("Invalid Elementary Object"), "read_error"),
        (LimitReachedError("limit"), "limit_reached"),
        (DependencyError("jbig2dec binary is not available."), "missing_dependency"),
        (DeprecationError("The filter name /A85 is deprecated"), "deprecated_feature"),
        (MemoryError(), "out_of_memory"),
        (RecursionError("maximum recursion depth exceeded"), "too_deep"),
        (AttributeError("'NullObject' object has no attribute 'get'"), "extract_error"),
        (AssertionError(), "extract_error"),
        (TypeError("x"), "extract_error"),
        (KeyError("/Font"), "extract_error"),
        (ValueError("x"), "extract_error"),
        (ZeroDivisionError(), "extract_error"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v,
)
def test_page_errors_become_words(exc: BaseException, word: str, pdf: Pdf, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing page is recorded with a machine word, never the exception text, and the next page still runs."""

    def extract_text(page: pypdf.PageObject, *args: Any, **kwargs: Any) -> str:
        if page_number(page) == 2:
            raise exc
        return _original_extract_text(page, *args, **kwargs)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", extract_text)
    emitted: list[Any] = []
    _extract_sync(pdf("s03"), None, 500, emitted.append, lambda: False)
    pages = emitted[1:]
    assert [(p.number, p.error) for p in pages] == [(1, None), (2, word), (3, None), (4, None)]
    assert pages[1].text == ""
    assert pages[2].text.strip()


@pytest.mark.parametrize(
    ("exc", "detail"),
    [
        (PdfReadError("Could not read Null object"), "damaged or malformed"),
        (PdfStreamError("Stream has ended unexpectedly"), "damaged or malformed"),
        (EmptyFileError("Cannot read an empty file"), "empty"),
        (LimitReachedError("Maximum page tree depth reached: 101 > 100."), "nested too deeply"),
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (DependencyError("cryptography>=3.1 is required for AES algorithm"), "'cryptography' package"),
        (AttributeError("'NumberObject' object has no attribute 'items'"), "damaged or malformed"),
        (AssertionError(), "damaged or malformed"),
        (TypeError("unhashable"), "damaged or malformed"),
        (KeyError("/Root"), "damaged or malformed"),
        (MemoryError(), "damaged or malformed"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_open_errors_map_to_invalid_pdf(exc: BaseException, detail: str) -> None:
    with pytest.raises(InvalidPdf) as info, _map_pypdf_errors():
        raise exc
    assert detail in info.value.detail
    assert info.value.__cause__ is exc
    assert not str(exc) or str(exc) not in info.value.detail


def test_own_errors_pass_the_boundary_unchanged() -> None:
    error = PasswordRequired()
    with pytest.raises(PasswordRequired) as info, _map_pypdf_errors():
        raise error
    assert info.value is error


@pytest.fixture
def without_cryptography(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """pypdf as if installed without its [crypto] extra: AES raises DependencyError."""
    for name in ("CryptAES", "aes_cbc_decrypt", "aes_cbc_encrypt", "aes_ecb_decrypt", "aes_ecb_encrypt"):
        monkeypatch.setattr(pypdf._encryption, name, getattr(pypdf._crypt_providers._fallback, name))
    yield


@pytest.mark.usefixtures("without_cryptography")
@pytest.mark.parametrize(("name", "password"), [("s16", "foo"), ("s19", None)])
async def test_aes_without_cryptography_is_invalid_pdf(
    name: str, password: str | None, pdf: Pdf, make_extractor: MakeExtractor
) -> None:
    extractor = await make_extractor()
    with pytest.raises(InvalidPdf, match="'cryptography' package is missing"):
        await extract(extractor, pdf(name), password)


@pytest.mark.parametrize(
    "msg",
    [
        _Opened(3, True),
        ExtractedPage(1, "Grüße \u2028 \ud800 lone surrogate"),
        ExtractedPage(2, "", "stream_error"),
        _Done(3),
    ],
    ids=repr,
)
def test_wire_round_trip(msg: _Msg) -> None:
    assert _decode(_encode(msg)) == msg


def test_wire_errors() -> None:
    error = _decode(_encode(TooManyPages("The PDF has 9 pages; the service accepts at most 3.")))
    assert isinstance(error, TooManyPages)
    assert error.detail == "The PDF has 9 pages; the service accepts at most 3."
    assert isinstance(_decode(_encode(ZeroDivisionError("secret"))), InternalError)
    for garbage in (b"", b"{", b"[]", b'["page", "x"]', b'["error", "internal", "x"]', b'["error", "nope", "x"]', b"7"):
        assert isinstance(_decode(garbage), InternalError)


# --- the Extractor's life cycle ---------------------------------------------------------------------


def test_constructor_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="isolation"):
        Extractor(isolation="fork")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workers"):
        Extractor(workers=0)
    with pytest.raises(ValueError, match="timeout_s"):
        Extractor(timeout_s=0)
    with concurrent.futures.ThreadPoolExecutor(1) as executor, pytest.raises(ValueError, match="executor"):
        Extractor(isolation="process", executor=executor)


async def test_misuse_raises_runtime_error(pdf: Pdf) -> None:
    extractor = Extractor()
    with pytest.raises(RuntimeError, match="start"):
        extractor.open(pdf("s01"))
    await extractor.start()
    with pytest.raises(RuntimeError, match="once"):
        await extractor.start()
    async with extractor.open(pdf("s01")) as ex:
        [page async for page in ex]
        with pytest.raises(RuntimeError, match="once"):
            aiter(ex)
    await extractor.close()
    await extractor.close()
    with pytest.raises(RuntimeError, match="start"):
        extractor.open(pdf("s01"))


async def test_close_without_start_is_fine() -> None:
    await Extractor(isolation="process").close()


async def test_the_extractor_leaves_the_switch_interval_to_the_app(isolation: str) -> None:
    before = sys.getswitchinterval()
    async with Extractor(isolation=isolation):  # type: ignore[arg-type]
        assert sys.getswitchinterval() == before
    assert sys.getswitchinterval() == before


def test_switch_interval_is_set_for_the_block_and_restored() -> None:
    before = sys.getswitchinterval()
    with switch_interval():
        assert sys.getswitchinterval() == DEFAULT_SWITCH_INTERVAL_S
    assert sys.getswitchinterval() == before
    with switch_interval(None):
        assert sys.getswitchinterval() == before
    with switch_interval(0.002):
        sys.setswitchinterval(0.003)  # changed by someone else meanwhile: not ours to undo
    assert sys.getswitchinterval() == 0.003
    sys.setswitchinterval(before)


async def test_page_count_and_encryption_are_known_inside_the_block(
    pdf: Pdf, isolation: str, make_extractor: MakeExtractor
) -> None:
    extractor = await make_extractor(isolation=isolation)
    async with extractor.open(pdf("s18")) as ex:
        assert (ex.page_count, ex.encrypted, ex.text_chars) == (30, True, 0)
        numbers = [page.number async for page in ex]
    assert numbers == list(range(1, 31))
    assert ex.text_chars == 260
    assert extractor.stats == {"busy": 0, "stray_threads": 0, "workers_replaced": 0, "timeouts": 0}


# --- thread isolation -------------------------------------------------------------------------------


async def test_extraction_runs_on_the_injected_executor(
    pdf: Pdf, make_extractor: MakeExtractor, recording_executor: RecordingExecutor
) -> None:
    extractor = await make_extractor(executor=recording_executor)
    assert len(await extract(extractor, pdf("s03"))) == 4
    assert len(recording_executor.futures) == 1
    assert recording_executor.thread_ids != [threading.get_ident()]
    await extractor.close()
    assert not recording_executor._shutdown  # an injected executor is not ours to shut down


async def test_own_pool_threads_are_named(pdf: Pdf, make_extractor: MakeExtractor) -> None:
    extractor = await make_extractor()
    seen: list[str] = []

    def extract_text(page: pypdf.PageObject, *args: Any, **kwargs: Any) -> str:
        seen.append(threading.current_thread().name)
        return _original_extract_text(page, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pypdf.PageObject, "extract_text", extract_text)
        await extract(extractor, pdf("s01"))
    assert seen == ["csse-extract_0"]


async def test_loop_runs_while_a_page_is_being_extracted(pdf: Pdf, make_extractor: MakeExtractor) -> None:
    """Inside each extract_text() the worker thread waits for a coroutine on the loop: if the
    loop were blocked by the extraction, this would hang (and fail on its 30 s guard)."""
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    ticks: list[int] = []

    async def tick(page: int) -> None:
        assert threading.get_ident() == loop_thread
        ticks.append(page)

    def extract_text(page: pypdf.PageObject, *args: Any, **kwargs: Any) -> str:
        assert threading.get_ident() != loop_thread
        asyncio.run_coroutine_threadsafe(tick(page_number(page)), loop).result(timeout=30)
        return _original_extract_text(page, *args, **kwargs)

    extractor = await make_extractor()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pypdf.PageObject, "extract_text", extract_text)
        pages = await extract(extractor, pdf("s03"))
    assert ticks == [1, 2, 3, 4] == [p.number for p in pages]


class StuckPage:
    """Patches extract_text so that page ``number`` blocks until :meth:`release`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, number: int) -> None:
        self.entered = asyncio.Event()
        self._released = threading.Event()
        loop = asyncio.get_running_loop()

        def extract_text(page: pypdf.PageObject, *args: Any, **kwargs: Any) -> str:
            if page_number(page) == number:
                loop.call_soon_threadsafe(self.entered.set)
                assert self._released.wait(timeout=60), "never released"
            return _original_extract_text(page, *args, **kwargs)

        monkeypatch.setattr(pypdf.PageObject, "extract_text", extract_text)

    def release(self) -> None:
        self._released.set()


@pytest.fixture
async def stuck_page_2(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[StuckPage]:
    stuck = StuckPage(monkeypatch, 2)
    yield stuck
    stuck.release()


async def test_thread_timeout_mid_page(
    pdf: Pdf, make_extractor: MakeExtractor, recording_executor: RecordingExecutor, stuck_page_2: StuckPage
) -> None:
    """The caller gets ExtractTimeout at the deadline although the thread is inside a page; the
    thread is counted stray and, once that page is done, stops instead of going on to page 3."""
    extractor = await make_extractor(executor=recording_executor, timeout_s=0.5)
    numbers = []
    with pytest.raises(ExtractTimeout, match=r"longer than the 0\.5 s"):
        async with extractor.open(pdf("s03")) as ex:
            async for page in ex:
                numbers.append(page.number)
    assert numbers == [1]
    assert stuck_page_2.entered.is_set()
    assert extractor.stats == {"busy": 1, "stray_threads": 1, "workers_replaced": 0, "timeouts": 1}
    stuck_page_2.release()
    (future,) = recording_executor.futures
    assert await asyncio.wrap_future(future) == 2  # pages 1 and 2 done, page 3 never started
    assert extractor.stats == {"busy": 0, "stray_threads": 0, "workers_replaced": 0, "timeouts": 1}


async def test_thread_abandoned_mid_page_stops_after_it(
    pdf: Pdf, make_extractor: MakeExtractor, recording_executor: RecordingExecutor, stuck_page_2: StuckPage
) -> None:
    extractor = await make_extractor(executor=recording_executor)
    async with extractor.open(pdf("s03")) as ex:
        async for page in ex:
            assert page.number == 1
            await stuck_page_2.entered.wait()
            break
    assert extractor.stats["stray_threads"] == 1
    stuck_page_2.release()
    (future,) = recording_executor.futures
    assert await asyncio.wrap_future(future) == 2
    assert extractor.stats["stray_threads"] == extractor.stats["timeouts"] == 0


async def test_thread_queued_job_abandoned_before_it_starts(
    pdf: Pdf, make_extractor: MakeExtractor, stuck_page_2: StuckPage
) -> None:
    """With the only thread stuck, a second document waits in the pool's queue; timing out
    cancels it there, so it never runs and is not a stray."""
    executor = RecordingExecutor(workers=1)
    try:
        extractor = await make_extractor(executor=executor, timeout_s=0.5)
        async with extractor.open(pdf("s03")):
            await stuck_page_2.entered.wait()
            with pytest.raises(ExtractTimeout):
                await extract(extractor, pdf("s01"))
            assert executor.futures[1].cancelled()
            assert extractor.stats["stray_threads"] == 0
        assert extractor.stats["stray_threads"] == 1  # the first, abandoned inside page 2
        stuck_page_2.release()
        assert await asyncio.wrap_future(executor.futures[0]) == 2
        assert executor.thread_ids == [executor.thread_ids[0]]
    finally:
        executor.shutdown(wait=False)


async def test_thread_close_does_not_wait_for_a_stuck_page(
    pdf: Pdf, make_extractor: MakeExtractor, stuck_page_2: StuckPage
) -> None:
    """close() returns while a page is stuck; the thread stops after it, and the reader is told
    the service shut down instead of getting a short document."""
    extractor = await make_extractor()
    async with extractor.open(pdf("s03")) as ex:
        await stuck_page_2.entered.wait()
        stuck = {t for t in threading.enumerate() if t.name.startswith("csse-extract")}
        await extractor.close()
        assert extractor.stats["busy"] == 1
        stuck_page_2.release()
        numbers = []
        with pytest.raises(InternalError, match="shut down"):
            async for page in ex:
                numbers.append(page.number)
    assert numbers == [1, 2]
    await until(
        lambda: not any(t.is_alive() for t in stuck), limit_s=30, every_s=0.01, what="the released thread to stop"
    )


async def test_thread_mode_leaves_nothing_behind(pdf: Pdf) -> None:
    def alive() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.is_alive()}

    threads, fds = alive(), fd_count()
    extractor = Extractor(timeout_s=5)
    await extractor.start()
    await extract(extractor, pdf("s03"))
    async with extractor.open(pdf("s22")) as ex:  # abandoned after one page
        async for _ in ex:
            break
    with pytest.raises(InvalidPdf):
        await extract(extractor, pdf("s27"))
    with pytest.raises(NoText):
        await extract(extractor, pdf("s12"))
    await extractor.close()
    assert alive() == threads
    assert fd_count() == fds


# --- process isolation ------------------------------------------------------------------------------


async def test_process_worker_is_reused(pdf: Pdf, make_extractor: MakeExtractor) -> None:
    extractor = await make_extractor(isolation="process", workers=1)
    (pid,) = worker_pids()
    for name in ("s01", "s03", "s22"):
        await extract(extractor, pdf(name))
    with pytest.raises(InvalidPdf):
        await extract(extractor, pdf("s29"))
    with pytest.raises(PasswordRequired):
        await extract(extractor, pdf("s11"))
    assert worker_pids() == {pid}
    assert extractor.stats["workers_replaced"] == 0


async def test_process_abandoned_mid_page_kills_the_worker(pdf: Pdf, make_extractor: MakeExtractor) -> None:
    """Leaving the block while the worker is inside a page of several seconds kills it at once; the loop
    stays free meanwhile, and the replacement serves the next document."""
    extractor = await make_extractor(isolation="process", workers=1)
    (pid,) = worker_pids()
    ticked = asyncio.Event()
    async with extractor.open(pdf("slow-1-page")) as ex:
        assert ex.page_count == 1
        asyncio.get_running_loop().call_soon(ticked.set)
        await asyncio.wait_for(ticked.wait(), 10)
        assert extractor.stats["busy"] == 1
    assert len(await extract(extractor, pdf("s01"))) == 1
    assert pid not in worker_pids()
    assert len(worker_pids()) == 1
    assert extractor.stats["workers_replaced"] == 1


async def test_process_crash_is_invalid_pdf_and_the_worker_replaced(pdf: Pdf, make_extractor: MakeExtractor) -> None:
    extractor = await make_extractor(isolation="process", workers=1)
    (pid,) = worker_pids()
    assert pid is not None
    with pytest.raises(InvalidPdf, match="crashed the text extractor"):
        async with extractor.open(pdf("slow-1-page")) as ex:
            os.kill(pid, signal.SIGSEGV)
            async for _ in ex:
                pytest.fail("a page from a dead worker")
    assert len(await extract(extractor, pdf("s01"))) == 1
    assert pid not in worker_pids()
    assert extractor.stats["workers_replaced"] == 1


async def wait_dead(process: multiprocessing.process.BaseProcess) -> None:
    """Until ``process`` has exited (its sentinel fd turns readable); no polling."""
    loop = asyncio.get_running_loop()
    dead = asyncio.Event()
    loop.add_reader(process.sentinel, dead.set)
    try:
        await asyncio.wait_for(dead.wait(), 10)
    finally:
        loop.remove_reader(process.sentinel)


async def test_process_worker_that_died_idle_is_replaced(pdf: Pdf, make_extractor: MakeExtractor) -> None:
    """A worker killed while idle (the OOM killer, say) is skipped and replaced, not blamed on a document."""
    extractor = await make_extractor(isolation="process", workers=1)
    (process,) = multiprocessing.active_children()
    pid = process.pid
    process.kill()
    await wait_dead(process)
    assert len(await extract(extractor, pdf("s01"))) == 1
    assert pid not in worker_pids()
    assert extractor.stats["workers_replaced"] == 1


def cmap_bomb(entries: int = 1_000_000) -> bytes:
    """A 2.3 MB PDF whose ToUnicode CMap (one 4-byte code per line) takes pypdf ~370 MB to parse."""
    lines = b"".join(b"<%08x> <0041>\n" % i for i in range(entries))
    cmap = zlib.compress(
        b"1 begincodespacerange <00000000> <ffffffff> endcodespacerange\n%d beginbfchar\n%sendbfchar\n"
        % (entries, lines)
    )
    return make_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length 35 >>\nstream\nBT /F1 12 Tf 9 9 Td <00000001> Tj ET\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(cmap), cmap),
        ]
    )


@pytest.mark.slow
async def test_process_memory_cap_contains_a_bomb(pdf: Pdf, make_extractor: MakeExtractor) -> None:
    """Under a 256 MiB address-space cap the bomb's page fails with out_of_memory (pypdf's own
    100 000-entry limit would only trip after ~370 MB); the worker survives and carries on."""
    extractor = await make_extractor(isolation="process", workers=1, worker_memory_mb=256)
    pages: list[ExtractedPage] = []
    with pytest.raises(NoText):
        async with extractor.open(cmap_bomb()) as ex:
            async for page in ex:
                pages.append(page)
    assert pages == [ExtractedPage(1, "", "out_of_memory")]
    assert len(await extract(extractor, pdf("s01"))) == 1
    assert extractor.stats["workers_replaced"] == 0


async def test_process_close_while_extracting(pdf: Pdf, make_extractor: MakeExtractor) -> None:
    extractor = await make_extractor(isolation="process", workers=1)
    opened = asyncio.Event()

    async def run() -> None:
        async with extractor.open(pdf("slow-1-page")) as ex:
            opened.set()
            async for _ in ex:
                pass

    task = asyncio.create_task(run())
    await opened.wait()
    await extractor.close()
    with pytest.raises(InternalError, match="shut down"):
        await task
    assert multiprocessing.active_children() == []


async def test_process_mode_leaves_nothing_behind(pdf: Pdf) -> None:
    """Workers, their sockets and the spawner thread are gone after close(). multiprocessing's
    forkserver and resource tracker live once per interpreter: a first cycle starts them."""
    async with Extractor(isolation="process", workers=1):
        pass
    threads, fds = set(threading.enumerate()), fd_count()
    extractor = Extractor(isolation="process", timeout_s=60)
    try:
        await extractor.start()
        assert len(worker_pids()) == 2
        await extract(extractor, pdf("s03"))
        extractor.timeout_s = 0.5  # only the slow page must outlast it, even on a loaded machine
        with pytest.raises(ExtractTimeout):
            await extract(extractor, pdf("slow-1-page"))
        extractor.timeout_s = 60
        with pytest.raises(DocumentError):
            await extract(extractor, pdf("truncated-55pct"))
    finally:
        await extractor.close()
    assert multiprocessing.active_children() == []
    assert set(threading.enumerate()) == threads
    assert fd_count() == fds
    assert extractor.stats["timeouts"] == 1
