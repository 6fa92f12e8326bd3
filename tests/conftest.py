"""Fixtures shared by the whole suite: the corpus, app builders, an SSE reader."""

from __future__ import annotations

import concurrent.futures
import gc
import io
import json
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from blockbuster import blockbuster_ctx

from compliance_sse.sse.models import ServerSentEvent
from compliance_sse.sse.parser import EventParser
from tests.pdfs import GENERATED, build
from tests.redis_server import HOST, SHARED_PORT, TEST_DB, answers, delete_prefix, redis_server

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def blockbuster() -> Iterator[None]:
    """Fail on blocking I/O that compliance_sse does on the event loop's thread (as aiohttp's tests do)."""
    with blockbuster_ctx("compliance_sse") as bb:
        # The rules' data files are read once, when an analyzer is built (the app builds it in a thread).
        for name in ("io.TextIOWrapper.read", "io.BufferedReader.read"):
            bb.functions[name].can_block_in("compliance_sse/analyzers/rules_table.py", "load_data")
        # redis-py reads its own package metadata when it opens a connection: not ours to fix.
        for name in ("os.stat", "os.listdir", "os.scandir", "io.TextIOWrapper.read", "io.BufferedReader.read"):
            if name in bb.functions:
                bb.functions[name].can_block_in("redis/utils.py", "get_lib_version")
        yield


CORPUS_ENV = "CSSE_CORPUS"
VENDORED_CORPUS = ROOT / "tests" / "corpus"


def corpus_root() -> Path:
    """The PDF corpus: ``tests/corpus`` in the repository, or a larger one in the same layout at ``$CSSE_CORPUS``."""
    return Path(os.environ.get(CORPUS_ENV) or VENDORED_CORPUS).resolve()


def _read_manifest(corpus: Path) -> list[dict[str, Any]]:
    return list(json.loads((corpus / "manifest.json").read_text()))


def check_corpus(corpus: Path) -> str | None:
    """Why ``corpus`` cannot serve the suite (no manifest, or a vendored file missing), or None."""
    if not (corpus / "manifest.json").is_file():
        return f"no PDF corpus at {corpus} (no manifest.json); unset {CORPUS_ENV} to use {VENDORED_CORPUS}"
    listed = {entry["file"] for entry in _read_manifest(corpus)}
    needed = [entry["file"] for entry in _read_manifest(VENDORED_CORPUS)]
    missing = [name for name in needed if name not in listed or not (corpus / "pdfs" / name).is_file()]
    if missing:
        return f"the PDF corpus at {corpus} lacks {len(missing)} file(s) the tests use, e.g. {missing[0]}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    """A missing corpus or corpus file stops the run before collection, with one line: never a skip."""
    config.addinivalue_line("markers", "corpus: parametrised over the PDF corpus manifest (CI reruns these)")
    if (problem := check_corpus(corpus_root())) is not None:
        raise pytest.UsageError(problem)


SOAK_ENV = "CSSE_SOAK"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the ``soak`` tests unless ``CSSE_SOAK=1`` or a ``-m`` expression names them (``make soak``).

    A hook rather than ``-m "not soak"`` in addopts, because a ``-m`` on the command line (``make
    test-corpus`` gives ``-m corpus``) replaces the one in addopts instead of adding to it.
    """
    if os.environ.get(SOAK_ENV) == "1" or "soak" in (config.option.markexpr or ""):
        return
    soak = [item for item in items if item.get_closest_marker("soak") is not None]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if item.get_closest_marker("soak") is None]


def corpus_entries() -> list[dict[str, Any]]:
    """Every manifest entry of the corpus, then the entries of the PDFs tests/pdfs.py builds."""
    return _read_manifest(corpus_root()) + [entry for _, entry in GENERATED.values()]


def corpus_category(entry: dict[str, Any]) -> str:
    """``text``, ``password``, ``no_text``, ``invalid`` or ``slow``, from the manifest's ``expected``."""
    expected: str = entry["expected"]
    if "SLOW" in expected:
        return "slow"
    if entry["password"]:
        return "password"
    if expected.startswith("fail cleanly"):
        return "invalid"
    if expected.startswith("no text"):
        return "no_text"
    return "text"  # "text ...", and "little text": a few characters are text


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``<category>_entry`` arguments over the corpus, with the file name as id."""
    for name in [name for name in metafunc.fixturenames if name.endswith("_entry")]:
        category = name.removesuffix("_entry")
        entries = [e for e in corpus_entries() if corpus_category(e) == category]
        metafunc.parametrize(name, [pytest.param(e, id=e["file"], marks=pytest.mark.corpus) for e in entries])


def load_pdf(name: str) -> bytes:
    """A PDF by name: one tests/pdfs.py builds (``"huge-10000-pages"``), or a corpus file by its name or its
    prefix (``"s03"``)."""
    if name in GENERATED:
        return build(name)
    folder = corpus_root() / "pdfs"
    matches = [p for p in folder.iterdir() if p.name == name or p.name.startswith(name + "_")]
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} PDFs named {name!r} in {folder} and none in tests/pdfs.py")
    return matches[0].read_bytes()


Pdf = Callable[[str], bytes]


@pytest.fixture(scope="session")
def pdf() -> Pdf:
    """The one way tests get a PDF: ``pdf("s03")``, ``pdf("slow-1-page")`` (see :func:`load_pdf`)."""
    return load_pdf


class GatedExecutor(concurrent.futures.ThreadPoolExecutor):
    """A thread pool whose work waits for ``gate`` and records the threads it ran on."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="test-extract")
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.thread_ids: list[int] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        def gated() -> Any:
            self.thread_ids.append(threading.get_ident())
            self.entered.set()
            if not self.gate.wait(timeout=30):
                raise TimeoutError("the test never opened the gate")
            return fn(*args, **kwargs)

        return super().submit(gated)


@pytest.fixture
def gated_executor() -> Iterator[GatedExecutor]:
    executor = GatedExecutor()
    yield executor
    executor.gate.set()
    executor.shutdown(wait=True)


def event_ids(events: list[ServerSentEvent]) -> list[str]:
    """The ids events carry themselves: a parsed event without an id field keeps the last id seen (WHATWG), and
    a heartbeat has none of its own, so it repeats the id before it."""
    return [e.id for e in events if e.id and e.event != "heartbeat"]


async def read_events(
    response: aiohttp.ClientResponse, *, limit: int | None = None, parser: EventParser | None = None
) -> list[ServerSentEvent]:
    """Parse events off ``response`` until it ends (or ``limit`` events have come)."""
    parser = parser or EventParser()
    events: list[ServerSentEvent] = []
    async for chunk in response.content.iter_any():
        events += parser.feed(chunk)
        if limit is not None and len(events) >= limit:
            return events[:limit]
    return events + parser.flush()


async def iter_events(response: aiohttp.ClientResponse) -> AsyncIterator[ServerSentEvent]:
    parser = EventParser()
    async for chunk in response.content.iter_any():
        for event in parser.feed(chunk):
            yield event


def form(data: bytes, *, name: str = "doc.pdf", password: str | None = None) -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("file", io.BytesIO(data), filename=name, content_type="application/pdf")
    if password is not None:
        body.add_field("password", password)
    return body


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The test Redis: the shared one on 6379 (db 9) when it answers, else one of our own."""
    if answers(SHARED_PORT):
        yield f"redis://{HOST}:{SHARED_PORT}/{TEST_DB}"
        return
    with redis_server() as server:
        yield server.url(TEST_DB)


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"csse-test:{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_prefix(redis_url, prefix)


WritePdf = Callable[..., Path]


@pytest.fixture
def write_pdf(pdf: Pdf, tmp_path: Path) -> WritePdf:
    """Write a PDF (by name, as ``pdf`` takes it) into ``tmp_path`` and return its path."""

    def write(prefix: str, name: str = "doc.pdf") -> Path:
        path = tmp_path / name
        path.write_bytes(pdf(prefix))
        return path

    return write


@pytest.fixture
def client_transports_collected() -> Iterator[None]:
    """Collect this test's leftovers before the next test starts.

    For tests whose service runs in another process: a client-side socket that the server (or a
    gateway) closes mid-stream can still be "closing" when the test's loop ends, and its finaliser then
    warns in whichever later test the collector happens to run. Collecting here keeps that warning in
    the test that caused it, where its module may say it is expected.
    """
    yield
    gc.collect()
