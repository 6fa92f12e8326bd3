"""Connect/disconnect cycles against a real ``serve`` process leave nothing behind.

Each cycle opens an event stream and drops it at a varying point (after the request, after the
head, after the first event, mid-frame; closed or reset), on a job still running (its Groq request
hangs) or on a finished one, resuming from an id for some; every 20th cycle uploads a tiny PDF
and reads its stream to ``done``. After a warm-up the process's file descriptors, asyncio tasks,
Redis connections and RSS are the baseline; after the cycles (and once the server has closed what
the clients dropped) each must be back within the tolerances below, on both brokers.
The default run does 1,000 cycles per broker; the ``soak`` run 10,000.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from pytest_aiohttp import AiohttpServer

from compliance_sse.eventlog.redis_connection import DEFAULT_MAX_CONNECTIONS
from compliance_sse.sse.models import ServerSentEvent
from compliance_sse.sse.parser import EventParser
from tests.fakegroq import FakeGroq, start_fake_groq
from tests.pdfs import text_pdf
from tests.polling import until
from tests.redis_server import HOST, RedisServer, redis_server

from .service import Figures, Service, drop_stream, multipart, request, upload

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

FDS_TOLERANCE = 2
"""Descriptors other than Redis connections: back to the baseline, give or take a socket still closing."""
TASKS_TOLERANCE = 2
REDIS_CONNS_CAP = DEFAULT_MAX_CONNECTIONS + 2
"""The pool keeps idle connections for reuse, up to its cap; beyond it, the tail reader's and one spare."""
RSS_TOLERANCE_MB = 25.0
"""RSS may grow this much over the cycles (allocator arenas, the capped set of retained jobs), never with them."""
UPLOAD_EVERY = 20
CONCURRENCY = 16
CYCLE_LIMIT_S = 30.0


@pytest.fixture(params=["memory", "redis"])
def broker(request: pytest.FixtureRequest) -> Iterator[RedisServer | None]:
    """The broker of the service under test: memory, or a ``redis-server`` of the test's own (its clients are ours)."""
    if request.param == "memory":
        yield None
        return
    with redis_server() as server:
        yield server


def service_env(fake: FakeGroq) -> dict[str, str]:
    return {
        "CSSE_ANALYZER": "groq",
        "GROQ_API_KEY": "gsk_soak",
        "GROQ_BASE_URL": fake.base_url,
        "CSSE_GROQ_MODEL": "fake-model",
        "CSSE_GROQ_TIMEOUT_S": "3600",  # the held job's request hangs for the whole run
        "CSSE_CACHE_TTL_S": "0",  # every upload runs the whole pipeline
        "CSSE_MAX_RETAINED_JOBS": "50",  # memory broker: finished jobs kept are capped, so RSS must level off
        "CSSE_HEARTBEAT_S": "1",
        "CSSE_DRAIN_S": "0",
    }


async def stream_to_end(port: int, path: str, *, method: str = "GET", pdf: bytes = b"") -> list[ServerSentEvent]:
    """The events of a whole stream (``POST /analyze_sse`` with ``pdf``, or a finished job's events)."""
    body, headers = multipart(pdf) if pdf else (b"", {})
    status, raw = await request(port, method, path, body=body, headers=headers)
    assert status == 200, raw[:300]
    parser = EventParser()
    return parser.feed(raw) + parser.flush()


async def first_event_id(port: int, path: str) -> str:
    """The id of a stream's first event (its ``job`` event), read off the start of the stream."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        await reader.readuntil(b"\nid: ")
        return (await reader.readuntil(b"\n")).decode().strip()
    finally:
        writer.transport.abort()


async def run_cycles(
    service: Service, cycles: int, *, live: tuple[str, str], finished: tuple[str, str], pdf: bytes
) -> Counter[str]:
    """``cycles`` stream drops (and every ``UPLOAD_EVERY``-th an upload read to its end), ``CONCURRENCY`` at once."""
    counts: Counter[str] = Counter()
    numbers = iter(range(cycles))

    async def cycle(n: int) -> None:
        nonlocal finished
        if n % UPLOAD_EVERY == 0:
            events = await stream_to_end(service.port, "/analyze_sse", method="POST", pdf=pdf)
            counts["uploads"] += 1
            counts["uploads done"] += events[-1].event == "done"
            # The newest finished job: older ones may have gone (CSSE_MAX_RETAINED_JOBS).
            finished = (orjson.loads(events[0].data)["events_url"], str(events[0].id))
            return
        path, first_id = live if n % 2 else finished
        await drop_stream(service.port, path, stage=n % 4, last_event_id=first_id if n % 3 == 0 else None)
        counts["drops"] += 1

    async def client() -> None:
        for n in numbers:
            async with asyncio.timeout(CYCLE_LIMIT_S):
                await cycle(n)

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return counts


async def quiet(service: Service, active_jobs: int) -> Figures:
    """The figures once no stream is open and only the held job runs."""

    async def idle() -> Figures | None:
        now = await service.figures()
        return now if now.streams == 0 and now.active_jobs <= active_jobs else None

    figures: Figures = await until(idle, limit_s=60, every_s=0.2, what="no open stream and no job but the held one")
    return figures


async def leak_run(
    tmp_path: Path, aiohttp_server: AiohttpServer, broker: RedisServer | None, cycles: int
) -> tuple[Figures, Figures, Counter[str]]:
    """Start the service, hold one job, warm up, take the baseline, cycle, and the figures after."""
    fake = await start_fake_groq(aiohttp_server)
    service = Service(tmp_path, redis_url=broker.url(0) if broker else None, **service_env(fake))
    await service.start()
    try:
        fake.script = ["hang"]
        held = await upload(service.port, text_pdf("This job is held: its model request never answers."))
        await asyncio.wait_for(fake.request_seen().wait(), 60)
        pdf = text_pdf("Payment in cash through an offshore account.", "Nothing else here.")
        done = await upload(service.port, pdf)
        events = await stream_to_end(service.port, done["events_url"])
        assert events[-1].event == "done", events
        live = (held["events_url"], await first_event_id(service.port, held["events_url"]))
        finished = (done["events_url"], str(events[0].id))
        await run_cycles(service, 200, live=live, finished=finished, pdf=pdf)  # pools, caches, lazy imports
        baseline = await quiet(service, active_jobs=1)
        counts = await run_cycles(service, cycles, live=live, finished=finished, pdf=pdf)
        await quiet(service, active_jobs=1)
        after = await service.settled(baseline, fds=FDS_TOLERANCE, tasks=TASKS_TOLERANCE, conns=REDIS_CONNS_CAP)
        status, body = await request(service.port, "GET", f"/jobs/{held['job_id']}")
        assert status == 200 and orjson.loads(body)["status"] == "running", body  # live for every cycle
    finally:
        fake.release()
        assert await service.stop() == 0
    return baseline, after, counts


def check(baseline: Figures, after: Figures, counts: Counter[str], cycles: int) -> None:
    assert counts["drops"] + counts["uploads"] == cycles
    assert counts["uploads done"] == counts["uploads"]
    assert after.other_fds <= baseline.other_fds + FDS_TOLERANCE
    assert after.tasks <= baseline.tasks + TASKS_TOLERANCE
    assert after.redis_conns <= REDIS_CONNS_CAP
    assert after.redis_fds <= REDIS_CONNS_CAP
    assert after.rss_mb - baseline.rss_mb < RSS_TOLERANCE_MB


@pytest.mark.parametrize("cycles", [1000, pytest.param(10_000, marks=pytest.mark.soak)])
async def test_stream_drops_and_uploads_leave_fds_tasks_redis_connections_and_rss_at_baseline(
    tmp_path: Path, aiohttp_server: AiohttpServer, broker: RedisServer | None, cycles: int
) -> None:
    baseline, after, counts = await leak_run(tmp_path, aiohttp_server, broker, cycles)
    print(
        f"\n{'redis' if broker else 'memory'} broker, {cycles} cycles ({dict(counts)}):\n"
        f"  baseline {baseline.line()}\n  after    {after.line()}"
    )
    check(baseline, after, counts, cycles)
