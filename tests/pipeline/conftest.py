"""Fixtures for the extraction tests: the shared PDF corpus, extractors that clean up, an executor that records."""

from __future__ import annotations

import concurrent.futures
import io
import json
import os
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from compliance_sse.pipeline.extract import Extractor

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def find_corpus() -> Path:
    """shared/corpus beside the project (``$CSSE_CORPUS`` wins); fails loudly when missing."""
    corpus = Path(os.environ.get("CSSE_CORPUS") or PROJECT_ROOT / ".." / "shared" / "corpus").resolve()
    if not (corpus / "manifest.json").is_file():
        raise FileNotFoundError(f"PDF corpus not found at {corpus}: put shared/ beside the project or set CSSE_CORPUS")
    return corpus


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
    """Parametrise ``<category>_entry`` arguments over the manifest, with the file name as id."""
    wanted = [name for name in metafunc.fixturenames if name.endswith("_entry")]
    if not wanted:
        return
    manifest = json.loads((find_corpus() / "manifest.json").read_text())
    for name in wanted:
        category = name.removesuffix("_entry")
        entries = [e for e in manifest if corpus_category(e) == category]
        metafunc.parametrize(name, entries, ids=[e["file"] for e in entries])


@pytest.fixture(scope="session")
def corpus() -> Path:
    return find_corpus()


@pytest.fixture
def pdf(corpus: Path) -> Callable[[str], bytes]:
    """The bytes of a corpus file, by name prefix (``pdf("s01")``)."""

    def read(prefix: str) -> bytes:
        (path,) = (corpus / "pdfs").glob(f"{prefix}_*.pdf")
        return path.read_bytes()

    return read


def make_pdf(objects: list[bytes]) -> bytes:
    """A PDF of the given objects (numbered from 1; 1 is the catalog) with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def one_page_pdf(content: bytes, font: bytes = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>") -> bytes:
    """One page showing ``content`` (a content stream, deflated here) with ``font`` as /F1."""
    stream = zlib.compress(content)
    return make_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
            font,
        ]
    )


@pytest.fixture(scope="session")
def slow_pdf() -> bytes:
    """A 3 KB PDF that opens at once but whose one page keeps pypdf busy for several seconds
    (300 000 text operators, ~12 us each); unlike s39, whose slowness is mostly page counting."""
    return one_page_pdf(b"BT /F1 12 Tf 9 9 Td " + b"(a) Tj " * 300_000 + b"ET")


class RecordingExecutor(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that keeps every future it hands out and the thread each job ran on."""

    def __init__(self, workers: int = 2) -> None:
        super().__init__(workers, thread_name_prefix="test-extract")
        self.futures: list[concurrent.futures.Future[Any]] = []
        self.thread_ids: list[int] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        def run() -> Any:
            self.thread_ids.append(threading.get_ident())
            return fn(*args, **kwargs)

        future = super().submit(run)
        self.futures.append(future)
        return future


@pytest.fixture
def recording_executor() -> Iterator[RecordingExecutor]:
    executor = RecordingExecutor()
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


MakeExtractor = Callable[..., Awaitable[Extractor]]


@pytest_asyncio.fixture
async def make_extractor() -> AsyncIterator[MakeExtractor]:
    """Build and start an :class:`Extractor`; every one made is closed after the test."""
    made: list[Extractor] = []

    async def make(**kwargs: Any) -> Extractor:
        extractor = Extractor(**kwargs)
        made.append(extractor)
        await extractor.start()
        return extractor

    yield make
    for extractor in made:
        await extractor.close()


@pytest.fixture(params=["thread", "process"])
def isolation(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value
