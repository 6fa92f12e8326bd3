"""Hostile PDFs through the real HTTP app: each ends with ``done`` or a coded error within its limit,
the server stays healthy, and the process's memory stays under a cap (docs/RELIABILITY.md).

The default run is short: a few fuzz seeds and scaled-down bombs. The ``soak`` variant (``make soak``)
runs many more seeds and the full-size bombs (70 MB per page).
"""

from __future__ import annotations

import asyncio
import os
import random
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from compliance_sse.app import create_app
from compliance_sse.settings import Settings
from tests.conftest import form, read_events
from tests.pdfs import CATALOG, HELVETICA, ONE_KID, make_pdf, one_page_pdf, page, stream

Client = TestClient[web.Request, web.Application]

CORPUS = sorted(p for p in (Path(__file__).parents[1] / "corpus" / "pdfs").glob("*.pdf") if p.stat().st_size)
TIMEOUT_S = 2.0
"""CSSE_EXTRACT_TIMEOUT_S for these runs; a case must end within it plus ``MARGIN_S``."""
MARGIN_S = 30.0
"""Slack for the rules analysis and a loaded machine; a hang still fails."""
RSS_CAP_MB = 1500
"""The documented cap on the test process's RSS (the app included) through any case."""
CODES = {"done", "invalid_pdf", "no_text", "extract_timeout", "too_many_pages", "password_required", "not_a_pdf"}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


# --- the mutation fuzzer ----------------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One seeded mutation of a PDF: its name and the mutated bytes."""
    kind = rng.choice(["flip", "truncate", "duplicate", "delete", "xref", "length"])
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 64)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        return kind, bytes(out)
    if kind == "truncate":
        return kind, data[: rng.randint(8, max(9, len(data) - 1))]
    starts = [i for i in range(len(data)) if data.startswith(b" obj", i)]
    if kind in ("duplicate", "delete") and starts:
        start = data.rfind(b"\n", 0, rng.choice(starts)) + 1
        end = data.find(b"endobj", start)
        end = len(data) if end < 0 else end + len(b"endobj")
        if kind == "duplicate":
            at = rng.randint(0, len(data))
            return kind, data[:at] + data[start:end] + b"\n" + data[at:]
        return kind, data[:start] + data[end:]
    if kind == "xref":
        at = data.rfind(b"startxref")
        if at >= 0:
            return kind, data[: at + 10] + str(rng.randrange(10**9)).encode() + b"\n%%EOF\n"
    at = data.find(b"/Length ")
    if at >= 0:
        end = at + len(b"/Length ")
        while end < len(data) and data[end : end + 1].isdigit():
            end += 1
        return "length", data[:at] + b"/Length 99999999999" + data[end:]
    return "flip", data[:-1] + bytes([data[-1] ^ 0xFF])


def fuzz_case(seed: int) -> tuple[str, bytes]:
    """Seed ``seed``'s mutation of a corpus file: a name for it and the bytes."""
    rng = random.Random(seed)
    source = rng.choice(CORPUS)
    kind, data = mutate(source.read_bytes()[: 2 * 1024 * 1024], rng)
    return f"seed {seed} {kind} {source.stem}", data


# --- bombs, nesting and cycles ----------------------------------------------------------------------


def inflated_page(mb: int, filters: int = 1) -> bytes:
    """One page whose content stream inflates to ``mb`` MB, behind ``filters`` nested Flate filters."""
    content = b"BT /F1 12 Tf 72 720 Td (Bomb) Tj ET\n" + b" " * (mb * 10**6)
    for _ in range(filters):
        content = zlib.compress(content, 9)
    names = b"[" + b" ".join([b"/FlateDecode"] * filters) + b"]"
    return make_pdf([CATALOG, ONE_KID, page(), stream(content, names), HELVETICA])


def inflated_pages(count: int, mb: int) -> bytes:
    """``count`` pages sharing one font, each with its own content stream inflating to ``mb`` MB."""
    content = zlib.compress(b"BT /F1 12 Tf 72 720 Td (Bomb) Tj ET\n" + b" " * (mb * 10**6), 9)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [CATALOG, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count), HELVETICA]
    for i in range(count):
        objects += [page(b"%d 0 R" % (5 + 2 * i), b"3 0 R"), stream(content, b"/FlateDecode")]
    return make_pdf(objects)


def over_the_limit() -> bytes:
    """A Flate stream of 200 MB of zeros: pypdf stops at its 75 MB output limit."""
    return make_pdf(
        [CATALOG, ONE_KID, page(), stream(zlib.compress(bytes(200 * 10**6), 9), b"/FlateDecode"), HELVETICA]
    )


def nested(depth: int, open_: bytes, close: bytes) -> bytes:
    """A page whose /Resources carries a value nested ``depth`` deep."""
    deep = open_ * depth + close * depth
    body = page().replace(b"/Resources <<", b"/Resources << /Deep " + deep, 1)
    return make_pdf([CATALOG, ONE_KID, body, stream(b"BT /F1 12 Tf 72 720 Td (Deep) Tj ET"), HELVETICA])


def kids_chain(depth: int) -> bytes:
    """A page tree that is a chain of ``depth`` /Pages nodes, one kid each."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        number = 2 + level
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (number + 1))
    leaf = 2 + depth
    objects.append(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >>"
        b" /Contents %d 0 R >>" % (leaf - 1, leaf + 2, leaf + 1)
    )
    objects += [stream(b"BT /F1 12 Tf 72 720 Td (Leaf) Tj ET"), HELVETICA]
    return make_pdf(objects)


def cyclic_tree() -> bytes:
    """A /Pages node whose kids are itself and a node whose kid is the first."""
    return make_pdf(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
        ]
    )


def slow_page() -> bytes:
    """A 3 KB page whose 600,000 text operators keep pypdf busy past the limit."""
    return one_page_pdf(b"BT /F1 12 Tf 9 9 Td " + b"(a) Tj " * 600_000 + b"ET")


def hostile_cases(full: bool) -> dict[str, Callable[[], bytes]]:
    mb = 70 if full else 4
    return {
        "flate-page": lambda: inflated_page(mb),
        "nested-filters": lambda: inflated_page(mb, filters=3),
        "many-inflated-pages": lambda: inflated_pages(8 if full else 4, mb),
        "over-pypdf-limit": over_the_limit,
        "arrays-1e5-deep": lambda: nested(100_000, b"[", b"]"),
        "dicts-1e5-deep": lambda: nested(100_000, b"<< /A ", b">>"),
        "kids-chain": lambda: kids_chain(100_000 if full else 20_000),
        "cyclic-tree": cyclic_tree,
        "slow-page": slow_page,
    }


# --- the runs ---------------------------------------------------------------------------------------


@pytest.fixture(params=["thread", "process"])
async def client(request: pytest.FixtureRequest, aiohttp_client: AiohttpClient) -> AsyncIterator[Client]:
    settings = Settings(heartbeat_s=30, extract_isolation=request.param, extract_timeout_s=TIMEOUT_S, max_active_jobs=4)
    yield await aiohttp_client(create_app(settings), server_kwargs={"handler_cancellation": True})


async def outcome(client: Client, data: bytes) -> str:
    """Upload ``data``; the stream's last event (``done`` or the error's code), the server healthy after."""
    async with asyncio.timeout(TIMEOUT_S + MARGIN_S):
        resp = await client.post("/analyze_sse", data=form(data))
        if resp.status != 200:
            code: str = (await resp.json())["code"]
            return code
        events = await read_events(resp)
    assert (await client.get("/healthz")).status == 200
    last = events[-1]
    return last.event if last.event == "done" else str(orjson.loads(last.data)["code"])


def note(name: str, code: str) -> None:
    """Append the outcome to ``$CSSE_HOSTILE_OUTCOMES`` if set (the figures in docs/RELIABILITY.md)."""
    if path := os.environ.get("CSSE_HOSTILE_OUTCOMES"):
        with open(path, "a") as out:
            out.write(f"{name}\t{code}\t{rss_mb():.0f}\n")


async def run(client: Client, name: str, data: bytes) -> None:
    code = await outcome(client, data)
    note(name, code)
    assert code in CODES, f"{name}: {code}"
    assert rss_mb() < RSS_CAP_MB


@pytest.mark.parametrize("seed", range(5))
async def test_a_mutated_corpus_pdf_gets_done_or_a_coded_error(client: Client, seed: int) -> None:
    await run(client, *fuzz_case(seed))


@pytest.mark.parametrize("name", hostile_cases(full=False))
async def test_a_hostile_pdf_gets_done_or_a_coded_error(client: Client, name: str) -> None:
    await run(client, name, hostile_cases(full=False)[name]())


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(5, 400))
async def test_soak_a_mutated_corpus_pdf_gets_done_or_a_coded_error(client: Client, seed: int) -> None:
    await run(client, *fuzz_case(seed))


@pytest.mark.soak
@pytest.mark.parametrize("name", hostile_cases(full=True))
async def test_soak_a_full_size_hostile_pdf_gets_done_or_a_coded_error(client: Client, name: str) -> None:
    await run(client, name + " (full size)", hostile_cases(full=True)[name]())
