"""Text extraction with pypdf, page by page, off the event loop and under a time limit.

:func:`_extract_sync` is the whole pypdf part: synchronous, pure, and the one place where
pypdf's exceptions become :class:`~compliance_sse.errors.DocumentError` (at open) or a short
word on :class:`ExtractedPage.error <compliance_sse.pipeline.models.ExtractedPage>` (per page).
:class:`Extractor` runs it in one of two ways:

``thread``
    In a ``ThreadPoolExecutor``; pages reach the loop through ``call_soon_threadsafe``. A
    thread cannot be killed: at the deadline the caller gets :class:`ExtractTimeout` at once,
    and the thread stops when its current ``extract_text()`` returns (``stats["stray_threads"]``).
    pypdf holds the GIL, so the app lowers ``sys.setswitchinterval`` while it runs
    (:func:`switch_interval`) to keep the loop answering (see ``bench/extract_latency.py``).

``process``
    In long-lived worker processes started from multiprocessing's *forkserver*. ``fork`` from
    the service itself is unsafe (the loop process has threads whose locks a child would inherit
    held); the forkserver is a fresh single-threaded interpreter with pypdf preloaded, so a
    replacement worker is ready in milliseconds rather than the ~0.5 s a ``spawn`` import
    takes. Each worker has one socket pair; a message is an 8-byte length and a JSON body, so
    the parent never unpickles anything a worker (which parses untrusted input) sends. A
    worker that times out, is abandoned mid-document or dies is killed (SIGKILL), reaped and
    replaced. ``RLIMIT_AS`` caps a worker's memory so a decompression bomb fails alone.
    multiprocessing's forkserver and resource-tracker helpers are per interpreter and
    outlive :meth:`Extractor.close`; everything else is released there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import json
import logging
import multiprocessing
import multiprocessing.process
import resource
import select
import signal
import socket
import struct
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, NamedTuple, Protocol

from pypdf import PdfReader
from pypdf.errors import (
    DependencyError,
    DeprecationError,
    EmptyFileError,
    LimitReachedError,
    PdfReadError,
    PdfStreamError,
)
from pypdf.generic import StreamObject

from compliance_sse.errors import (
    DocumentError,
    ExtractTimeout,
    InternalError,
    InvalidPdf,
    NoText,
    PasswordRequired,
    TooManyPages,
    WrongPassword,
)
from compliance_sse.pipeline.models import ExtractedPage

__all__ = [
    "DEFAULT_SWITCH_INTERVAL_S",
    "DEFAULT_WORKER_MEMORY_MB",
    "Extraction",
    "Extractor",
    "switch_interval",
]

logger = logging.getLogger(__name__)

DEFAULT_SWITCH_INTERVAL_S = 0.001
"""GIL switch interval (s) while the service runs; CPython's default is 0.005. Measured in bench/extract_latency.py."""
DEFAULT_WORKER_MEMORY_MB = 2048
"""Address-space cap (MiB) of a process-mode worker."""

_CLOSE_GRACE_S = 0.5
_MAX_FRAME = 64 * 1024 * 1024
_HEADER = struct.Struct("!Q")
_SHUTDOWN_DETAIL = "The service shut down while extracting the text; retry the upload."


# --- the synchronous part -------------------------------------------------------------------------


class _Opened(NamedTuple):
    page_count: int
    encrypted: bool


class _Done(NamedTuple):
    pages: int


_Msg = _Opened | ExtractedPage | _Done | Exception

# Most specific first: PdfStreamError and LimitReachedError are PdfReadError/PyPdfError subclasses.
_PAGE_ERROR_WORDS: tuple[tuple[type[BaseException], str], ...] = (
    (PdfStreamError, "stream_error"),
    (LimitReachedError, "limit_reached"),
    (PdfReadError, "read_error"),
    (DependencyError, "missing_dependency"),  # JBIG2 needs the jbig2dec binary
    (DeprecationError, "deprecated_feature"),  # e.g. the abbreviated /A85 filter name
    (MemoryError, "out_of_memory"),
    (RecursionError, "too_deep"),
)


def _page_error_word(exc: BaseException) -> str:
    for cls, word in _PAGE_ERROR_WORDS:
        if isinstance(exc, cls):
            return word
    return "extract_error"


@contextlib.contextmanager
def _map_pypdf_errors() -> Iterator[None]:
    """Turn anything pypdf raises while opening a document into an :class:`InvalidPdf`.

    pypdf also raises plain ``AttributeError``, ``AssertionError``, ``TypeError``... on malformed
    files (tests/corpus/README.md), so everything but our own errors is mapped. The detail is
    ours; pypdf's message is only kept as ``__cause__``.
    """
    try:
        yield
    except DocumentError:
        raise
    except DependencyError as exc:
        raise InvalidPdf(
            "The PDF is encrypted with AES, which this server cannot decrypt (the 'cryptography' package is missing)."
        ) from exc
    except EmptyFileError as exc:
        raise InvalidPdf("The file is empty.") from exc
    except (LimitReachedError, RecursionError) as exc:
        raise InvalidPdf("The PDF's structure is nested too deeply or is too large to read safely.") from exc
    except Exception as exc:
        raise InvalidPdf() from exc


def _extract_sync(
    data: bytes,
    password: str | None,
    max_pages: int,
    emit: Callable[[_Opened | ExtractedPage], None],
    should_stop: Callable[[], bool],
) -> int:
    """Open ``data`` and emit an :class:`_Opened`, then one :class:`ExtractedPage` per page, in order.

    ``should_stop`` is checked before each page. Returns the number of pages emitted.
    Raises :class:`InvalidPdf`, :class:`PasswordRequired`, :class:`WrongPassword` or
    :class:`TooManyPages` before any page is emitted; per-page failures never raise.
    """
    with _map_pypdf_errors():
        reader = PdfReader(io.BytesIO(data), strict=False)
    try:
        with _map_pypdf_errors():
            encrypted = reader.is_encrypted
            # decrypt("") first: files with only an owner password open with an empty user password.
            if encrypted and not reader.decrypt(""):
                if not password:
                    raise PasswordRequired()
                if not reader.decrypt(password):
                    raise WrongPassword()
            page_count = len(reader.pages)
        if page_count > max_pages:
            raise TooManyPages(f"The PDF has {page_count} pages; the service accepts at most {max_pages}.")
        emit(_Opened(page_count, encrypted))
        for index in range(page_count):
            if should_stop():
                return index
            try:
                page = ExtractedPage(index + 1, reader.pages[index].extract_text() or "")
            except Exception as exc:
                page = ExtractedPage(index + 1, "", _page_error_word(exc))
            _forget_streams(reader)
            emit(page)
        return page_count
    finally:
        # pypdf's objects point back at their reader: a graph of cycles only a full collection
        # frees, holding every decoded stream meanwhile. close() empties the reader's object
        # cache, so they go now, by reference counting (docs/RELIABILITY.md has the figures).
        reader.close()


def _forget_streams(reader: PdfReader) -> None:
    """Drop the streams pypdf cached for the last page, with their decoded data (up to 75 MB each).

    Without this a document of many inflated pages holds all of them until it ends. A stream
    another page needs (a font, say) is read again from the file's bytes: the price of one page's
    memory at a time.
    """
    cache = reader.resolved_objects
    for key in [key for key, obj in cache.items() if isinstance(obj, StreamObject)]:
        del cache[key]


# --- the worker process and its wire format ---------------------------------------------------------

_DOCUMENT_ERRORS: dict[str, type[DocumentError]] = {
    cls.code: cls for cls in (InvalidPdf, PasswordRequired, WrongPassword, NoText, TooManyPages, ExtractTimeout)
}


def _encode(msg: _Msg) -> bytes:
    body: list[Any]
    if isinstance(msg, _Opened):
        body = ["open", msg.page_count, msg.encrypted]
    elif isinstance(msg, ExtractedPage):
        body = ["page", msg.number, msg.text, msg.error]
    elif isinstance(msg, _Done):
        body = ["end", msg.pages]
    elif isinstance(msg, DocumentError):
        body = ["error", msg.code, msg.detail]
    else:
        body = ["error", "internal", None]
    # ensure_ascii: pypdf can return lone surrogates, which strict UTF-8 would refuse.
    return json.dumps(body, ensure_ascii=True).encode("ascii")


def _decode(payload: bytes) -> _Msg:
    """Parse a worker's message; anything malformed becomes an :class:`InternalError` to raise."""
    try:
        kind, *rest = json.loads(payload)
        if kind == "open":
            return _Opened(int(rest[0]), bool(rest[1]))
        if kind == "page":
            return ExtractedPage(int(rest[0]), str(rest[1]), None if rest[2] is None else str(rest[2]))
        if kind == "end":
            return _Done(int(rest[0]))
        if kind == "error" and rest[0] in _DOCUMENT_ERRORS:
            return _DOCUMENT_ERRORS[rest[0]](str(rest[1]))
    except (ValueError, TypeError, IndexError):
        pass
    return InternalError()


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(min(size - len(buf), 1 << 20))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _recv_frame(sock: socket.socket) -> bytes:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    return _recv_exact(sock, size)


def _send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(len(payload)))
    sock.sendall(payload)


def _worker_main(sock: socket.socket, memory_limit_mb: int | None) -> None:
    """A worker process: serve jobs (a JSON frame, then the PDF bytes) until the socket closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the parent decides
    if memory_limit_mb is not None:
        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # its warnings describe the document; no handler here

    def emit(msg: _Msg) -> None:
        _send_frame(sock, _encode(msg))

    with sock:
        while True:
            try:
                meta = json.loads(_recv_frame(sock))
                data = _recv_frame(sock)
            except (EOFError, OSError):
                return
            try:
                pages = _extract_sync(data, meta["password"], meta["max_pages"], emit, lambda: False)
            except Exception as exc:
                emit(exc)
            else:
                emit(_Done(pages))
            del data


# --- the async side ---------------------------------------------------------------------------------


class _Job(Protocol):
    """One document's run in a backend: start it, receive its messages, release it."""

    async def start(self) -> None: ...

    async def receive(self) -> _Msg: ...

    def release(self, finished: bool) -> None:
        """Free the job; ``finished`` is false when it was abandoned before its last message."""


class _ThreadJob:
    def __init__(self, backend: _ThreadBackend, data: bytes, password: str | None, max_pages: int) -> None:
        self._backend = backend
        self._args = (data, password, max_pages)
        self._queue: asyncio.Queue[_Msg] = asyncio.Queue()
        self.stop = threading.Event()
        self.future: concurrent.futures.Future[int] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        stop, queue = self.stop, self._queue

        def emit(msg: _Msg) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, msg)
            except RuntimeError:  # the loop is closed: nobody will read what follows
                stop.set()

        self.future = self._backend.submit(self, _extract_sync, *self._args, emit, stop.is_set)
        del self._args
        # The last message is sent once the future is done, so busy/stray counts are exact by then.
        self.future.add_done_callback(lambda future: emit(_outcome(future)))

    async def receive(self) -> _Msg:
        return await self._queue.get()

    def release(self, finished: bool) -> None:
        self.stop.set()
        self._backend.release(self, finished)


def _outcome(future: concurrent.futures.Future[int]) -> _Msg:
    if future.cancelled():
        return InternalError(_SHUTDOWN_DETAIL)
    exc = future.exception()
    if exc is None:
        return _Done(future.result())
    return exc if isinstance(exc, Exception) else InternalError()


class _ThreadBackend:
    def __init__(self, workers: int, executor: concurrent.futures.Executor | None) -> None:
        self._workers = workers
        self._executor = executor
        self._owned: concurrent.futures.ThreadPoolExecutor | None = None
        self._jobs: set[_ThreadJob] = set()
        self._futures: set[concurrent.futures.Future[int]] = set()
        self._abandoned: set[concurrent.futures.Future[int]] = set()

    async def start(self) -> None:
        if self._executor is None:
            self._owned = concurrent.futures.ThreadPoolExecutor(self._workers, thread_name_prefix="csse-extract")
            self._executor = self._owned

    def submit(self, job: _ThreadJob, fn: Callable[..., int], *args: Any) -> concurrent.futures.Future[int]:
        if self._executor is None:
            raise RuntimeError("The extractor is not running: call 'await Extractor.start()' first")
        future = self._executor.submit(fn, *args)
        self._futures = {f for f in self._futures if not f.done()} | {future}
        self._jobs.add(job)
        return future

    def job(self, data: bytes, password: str | None, max_pages: int) -> _ThreadJob:
        return _ThreadJob(self, data, password, max_pages)

    def release(self, job: _ThreadJob, finished: bool) -> None:
        self._jobs.discard(job)
        future = job.future
        if not finished and future is not None and not future.cancel() and not future.done():
            self._abandoned.add(future)

    async def close(self) -> None:
        for job in list(self._jobs):
            job.stop.set()
        if self._owned is not None:
            self._owned.shutdown(wait=False, cancel_futures=True)
            await _wait_threads_exit(self._owned)
        self._executor = self._owned = None

    def stats(self) -> dict[str, int]:
        self._abandoned = {f for f in self._abandoned if not f.done()}
        return {
            "busy": sum(not f.done() for f in self._futures),
            "stray_threads": len(self._abandoned),
            "workers_replaced": 0,
        }


async def _wait_threads_exit(pool: concurrent.futures.ThreadPoolExecutor) -> None:
    """Give a shut-down pool's threads ``_CLOSE_GRACE_S`` to exit, without blocking the loop.

    A thread still alive after that is inside a long page: it exits when the page is done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _CLOSE_GRACE_S
    while (alive := sum(t.is_alive() for t in pool._threads)) and loop.time() < deadline:  # noqa: ASYNC110 - threads have no awaitable exit
        await asyncio.sleep(0.005)
    if alive:
        logger.warning("%d extraction thread(s) still inside a page at close; they exit after it", alive)


@dataclass(frozen=True, eq=False)
class _Worker:
    process: multiprocessing.process.BaseProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


class _ProcessJob:
    def __init__(self, backend: _ProcessBackend, data: bytes, password: str | None, max_pages: int) -> None:
        self._backend = backend
        self._meta = json.dumps({"password": password, "max_pages": max_pages}).encode()
        self._data: bytes | None = data
        self._worker: _Worker | None = None
        self._dead = False

    async def start(self) -> None:
        self._worker = await self._backend.acquire()
        assert self._data is not None
        writer = self._worker.writer
        writer.write(_HEADER.pack(len(self._meta)) + self._meta + _HEADER.pack(len(self._data)))
        writer.write(self._data)
        self._data = None
        try:
            await writer.drain()
        except ConnectionError as exc:  # it died idle (say, the OOM killer): not this document's fault
            self._dead = True
            raise InternalError("The text extractor restarted; retry the upload.", retryable=True) from exc

    async def receive(self) -> _Msg:
        assert self._worker is not None
        reader = self._worker.reader
        try:
            (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
            msg = _decode(await reader.readexactly(size)) if size <= _MAX_FRAME else InternalError()
        except (asyncio.IncompleteReadError, ConnectionError):
            self._dead = True
            if self._backend.closing:
                return InternalError(_SHUTDOWN_DETAIL)
            logger.warning("extract worker %s died mid-document", self._worker.process.pid)
            return InvalidPdf("Reading this PDF crashed the text extractor; the file is probably damaged or too large.")
        if isinstance(msg, InternalError):  # a bug or a garbled stream: do not trust this worker again
            self._dead = True
        return msg

    def release(self, finished: bool) -> None:
        if self._worker is not None:
            self._backend.release(self._worker, healthy=finished and not self._dead)
            self._worker = None


class _ProcessBackend:
    def __init__(self, workers: int, memory_limit_mb: int | None) -> None:
        self._size = workers
        self._memory_limit_mb = memory_limit_mb
        self._ctx = multiprocessing.get_context("forkserver")
        self._spawner: concurrent.futures.ThreadPoolExecutor | None = None
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._retiring: set[asyncio.Task[None]] = set()
        self.closing = False
        self.replaced = 0

    async def start(self) -> None:
        # Process.start() and join() do blocking socket and waitpid calls: they run on this thread.
        self._spawner = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="csse-extract-spawn")
        self._ctx.set_forkserver_preload([__name__])
        for _ in range(self._size):
            self._idle.put_nowait(await self._spawn())

    async def _spawn(self) -> _Worker:
        parent, child = socket.socketpair()
        process = self._ctx.Process(
            target=_worker_main, args=(child, self._memory_limit_mb), name="csse-extract-worker", daemon=True
        )
        try:
            await asyncio.get_running_loop().run_in_executor(self._spawner, process.start)
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent)
        worker = _Worker(process, reader, writer)
        self._workers.add(worker)
        return worker

    async def acquire(self) -> _Worker:
        """The next idle worker; one that died while idle (the OOM killer, say) is replaced."""
        if self._spawner is None:
            raise RuntimeError("The extractor is not running: call 'await Extractor.start()' first")
        # The sentinel turns readable when the process exits (exitcode would read the forkserver's pipe).
        while select.select([(worker := await self._idle.get()).process.sentinel], [], [], 0)[0]:
            logger.warning("extract worker %s died while idle", worker.process.pid)
            self.release(worker, healthy=False)
        return worker

    def job(self, data: bytes, password: str | None, max_pages: int) -> _ProcessJob:
        return _ProcessJob(self, data, password, max_pages)

    def release(self, worker: _Worker, *, healthy: bool) -> None:
        if worker not in self._workers:  # already reaped by close()
            return
        if healthy and not self.closing:
            self._idle.put_nowait(worker)
            return
        worker.process.kill()  # at once, even if the caller is being cancelled: it frees the CPU
        task = asyncio.create_task(self._retire(worker))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire(self, worker: _Worker) -> None:
        """Reap a killed worker and, unless closing, start its replacement."""
        await self._reap(worker)
        if self.closing:
            return
        try:
            self._idle.put_nowait(await self._spawn())
        except Exception:
            logger.exception("could not start a replacement extract worker; %d left", len(self._workers))
        else:
            self.replaced += 1

    async def _reap(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        worker.process.kill()
        worker.writer.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._spawner, worker.process.join)
        worker.process.close()

    async def close(self) -> None:
        self.closing = True
        await asyncio.gather(*self._retiring, return_exceptions=True)
        await asyncio.gather(*(self._reap(w) for w in list(self._workers)), return_exceptions=True)
        while not self._idle.empty():
            self._idle.get_nowait()
        if self._spawner is not None:
            self._spawner.shutdown(wait=False)
            await _wait_threads_exit(self._spawner)
            self._spawner = None

    def stats(self) -> dict[str, int]:
        return {
            "busy": len(self._workers) - self._idle.qsize(),
            "stray_threads": 0,
            "workers_replaced": self.replaced,
        }


class Extraction:
    """One document's extraction: ``async with extractor.open(data, password) as ex: async for page in ex``.

    ``__aenter__`` opens the PDF: afterwards ``page_count`` and ``encrypted`` are set, or it has
    raised :class:`InvalidPdf`, :class:`PasswordRequired`, :class:`WrongPassword`,
    :class:`TooManyPages` or :class:`ExtractTimeout`. Iterating yields the pages in order (a page
    pypdf failed on has empty ``text`` and an ``error`` word) and ends by raising
    :class:`NoText` if no page had a non-whitespace character (also for 0 pages), after yielding
    them all. ``text_chars`` is the length of the pages' stripped text so far. Any wait past the
    deadline (``timeout_s`` after ``__aenter__`` began) raises :class:`ExtractTimeout`; a worker
    process that dies raises :class:`InvalidPdf`; :meth:`Extractor.close` under a running
    extraction raises :class:`InternalError`. Iterate once. ``__aexit__`` stops the background
    work (a thread at its next page, a worker process at once) and frees it.
    """

    page_count: int
    encrypted: bool

    def __init__(self, extractor: Extractor, job: _Job) -> None:
        self._extractor = extractor
        self._job = job
        self._deadline = 0.0
        self._finished = False
        self._released = False
        self._iterated = False
        self.text_chars = 0

    async def __aenter__(self) -> Extraction:
        self._deadline = asyncio.get_running_loop().time() + self._extractor.timeout_s
        try:
            async with self._timeout():
                await self._job.start()
            opened = await self._next()
            if not isinstance(opened, _Opened):
                raise InternalError()
        except BaseException:
            self._release()
            raise
        self.page_count, self.encrypted = opened
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release()

    def __aiter__(self) -> AsyncIterator[ExtractedPage]:
        if self._iterated:
            raise RuntimeError("An Extraction can be iterated only once")
        self._iterated = True
        return self._pages()

    async def _pages(self) -> AsyncIterator[ExtractedPage]:
        while not isinstance(msg := await self._next(), _Done):
            if not isinstance(msg, ExtractedPage):
                raise InternalError()
            self.text_chars += len(msg.text.strip())
            yield msg
        if msg.pages != self.page_count:  # stopped early: the extractor was closed under us
            raise InternalError(_SHUTDOWN_DETAIL)
        if self.text_chars == 0:
            raise NoText()

    @contextlib.asynccontextmanager
    async def _timeout(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout_at(self._deadline):
                yield
        except TimeoutError as exc:
            self._extractor.timeouts += 1
            raise ExtractTimeout(
                f"Extracting the text took longer than the {self._extractor.timeout_s:g} s the service allows."
            ) from exc

    async def _next(self) -> _Msg:
        if self._finished or self._released:
            raise RuntimeError("The extraction is over")
        async with self._timeout():
            msg = await self._job.receive()
        if isinstance(msg, Exception | _Done):
            self._finished = True
        if isinstance(msg, Exception):
            raise msg
        return msg

    def _release(self) -> None:
        if not self._released:
            self._released = True
            self._job.release(self._finished)


@contextlib.contextmanager
def switch_interval(seconds: float | None = DEFAULT_SWITCH_INTERVAL_S) -> Iterator[None]:
    """Set the GIL switch interval (s) for the block and restore it after; ``None`` leaves it alone.

    The one place that decides it: pypdf (thread mode) and the analyzers' CPU work hold the GIL
    in threads, and a shorter interval lets the event loop in between. It is process-wide, so the
    app sets it for its whole life rather than each extractor for its own.
    """
    if seconds is None:
        yield
        return
    saved = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        if sys.getswitchinterval() == seconds:  # someone else changed it since: theirs to restore
            sys.setswitchinterval(saved)


class Extractor:
    """Runs :func:`_extract_sync` off the event loop, in threads or in worker processes.

    ``timeout_s`` is the wall-clock limit (s) on opening a document and delivering all its pages,
    counted from ``__aenter__`` of its :class:`Extraction` (time spent waiting for a free worker
    counts). ``workers`` is the pool size (threads or processes). ``executor`` (thread mode only)
    replaces the pool; it is neither created nor shut down here. ``worker_memory_mb`` caps a worker process's
    address space (process mode only; ``None``: no cap).
    """

    def __init__(
        self,
        *,
        isolation: Literal["thread", "process"] = "thread",
        workers: int = 2,
        timeout_s: float = 60,
        max_pages: int = 500,
        executor: concurrent.futures.Executor | None = None,
        worker_memory_mb: int | None = DEFAULT_WORKER_MEMORY_MB,
    ) -> None:
        if isolation not in ("thread", "process"):
            raise ValueError("isolation must be 'thread' or 'process'")
        if workers < 1 or max_pages < 1 or timeout_s <= 0:
            raise ValueError("workers and max_pages must be at least 1, timeout_s positive")
        if executor is not None and isolation != "thread":
            raise ValueError("an executor can only be injected with isolation='thread'")
        self.isolation = isolation
        self.timeout_s = timeout_s
        self.max_pages = max_pages
        self.timeouts = 0
        self._backend: _ThreadBackend | _ProcessBackend = (
            _ThreadBackend(workers, executor) if isolation == "thread" else _ProcessBackend(workers, worker_memory_mb)
        )
        self._state: Literal["new", "running", "closed"] = "new"

    async def start(self) -> None:
        """Create the pool (process mode: start the workers). Raises ``RuntimeError`` if called twice."""
        if self._state != "new":
            raise RuntimeError("Extractor.start() can be called only once")
        self._state = "running"
        await self._backend.start()

    async def close(self) -> None:
        """Stop every extraction, kill the workers and shut the pool down; safe to call twice.

        Waits at most 0.5 s for threads: one stuck in a long page exits when that page is done."""
        if self._state == "closed":
            return
        self._state = "closed"
        await self._backend.close()

    async def __aenter__(self) -> Extractor:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def open(self, data: bytes, password: str | None = None) -> Extraction:
        """Prepare the extraction of ``data``; the work starts in ``__aenter__`` of the result."""
        if self._state != "running":
            raise RuntimeError("The extractor is not running: call 'await Extractor.start()' first")
        return Extraction(self, self._backend.job(data, password, self.max_pages))

    @property
    def stats(self) -> dict[str, int]:
        """``busy`` (thread mode: jobs queued or running, strays included; process mode: workers in
        use), ``stray_threads`` (threads still in a page after their extraction timed out or was
        abandoned), ``timeouts`` (so far), ``workers_replaced`` (worker processes killed or dead
        and started anew)."""
        return {**self._backend.stats(), "timeouts": self.timeouts}
