"""Graceful drain on SIGTERM, on the real process and both brokers (issue 12).

During CSSE_DRAIN_S the port still answers, /readyz is 503 and no job is taken; then open
streams get a final comment and end; a client resumes on another replica (Redis); the process
exits within the drain plus 10 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator

import aiohttp
import pytest

from compliance_sse.sse.parser import EventParser

from .conftest import event_ids, form
from .redis_server import delete_prefix, free_port
from .test_process import _started

DRAIN_S = 2.0
pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("client_transports_collected"),
    # The service under test runs in another process; its own leaks are measured elsewhere. A client-side
    # transport of a stream the server ended is finalised after the test's loop has closed.
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <function _SelectorTransport.__del__:pytest.PytestUnraisableExceptionWarning"
    ),
    # Likewise the client's socket of an upload the gateway refused (413) while the body was still going out.
    pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture
def spawn() -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], str]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        full = {**os.environ, "CSSE_PORT": str(port), "CSSE_DRAIN_S": str(DRAIN_S), "CSSE_HEARTBEAT_S": "0.5", **env}
        proc = subprocess.Popen(
            [sys.executable, "-m", "compliance_sse", "serve"], env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        procs.append(proc)
        return proc, f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):  # a replica the test never read from still holds its pipes
            if pipe is not None:
                pipe.close()


async def _drain_and_check(
    session: aiohttp.ClientSession, base: str, proc: subprocess.Popen[bytes], pdf: bytes
) -> None:
    """SIGTERM while the port still answers: readyz 503, uploads refused, the port open."""
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(DRAIN_S + 5):
        while True:
            async with session.get(base + "/readyz") as ready:
                if ready.status == 503:
                    assert (await ready.json())["draining"] is True
                    break
            await asyncio.sleep(0.02)  # polling another process
    async with session.post(base + "/jobs", data=form(pdf)) as refused:
        assert refused.status == 503 and refused.headers["Retry-After"]
    async with session.get(base + "/healthz") as alive:
        assert alive.status == 200


async def _read_until_heartbeat(resp: aiohttp.ClientResponse, parser: EventParser) -> list[str]:
    ids: list[str] = []
    while True:
        events = parser.feed(await asyncio.wait_for(resp.content.readany(), 30))
        ids += event_ids(events)
        if any(e.event == "heartbeat" for e in events):
            return ids


async def _exits_in_time(proc: subprocess.Popen[bytes]) -> None:
    try:
        code = await asyncio.to_thread(proc.wait, DRAIN_S + 10 + 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(
            "no exit within the drain + 10 s: " + proc.communicate(timeout=5)[1].decode(errors="replace")[-3000:]
        )
    assert code == 0
    _out, err = proc.communicate(timeout=5)
    assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]


async def test_memory_drain_keeps_the_port_then_ends_streams_cleanly(
    spawn: Callable[..., tuple[subprocess.Popen[bytes], str]], pdf: Callable[[str], bytes]
) -> None:
    # In a process the slow page never holds this loop's GIL, so shutdown is not held up by it.
    proc, base = spawn(CSSE_EXTRACT_TIMEOUT_S="30", CSSE_EXTRACT_ISOLATION="process")
    await _started(base, proc)
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + "/analyze_sse", data=form(pdf("slow-1-page"))) as resp,
    ):
        assert resp.status == 200
        await _read_until_heartbeat(resp, EventParser())
        await _drain_and_check(session, base, proc, pdf("s01"))
        rest = await asyncio.wait_for(resp.content.read(), DRAIN_S + 15)
    assert b": server shutting down; reconnect with Last-Event-ID" in rest
    await _exits_in_time(proc)


async def test_redis_drain_moves_the_stream_to_another_replica(
    spawn: Callable[..., tuple[subprocess.Popen[bytes], str]], pdf: Callable[[str], bytes], redis_url: str
) -> None:
    prefix = f"csse-test:{uuid.uuid4().hex[:12]}"
    env = {
        "CSSE_BROKER": redis_url,
        "CSSE_REDIS_PREFIX": prefix,
        "CSSE_CLAIM_IDLE_S": "1",
        "CSSE_EXTRACT_ISOLATION": "process",
        "CSSE_EXTRACT_TIMEOUT_S": "30",
    }
    try:
        (a, base_a), (b, base_b) = spawn(**env), spawn(**env)
        await _started(base_a, a)
        await _started(base_b, b)
        async with aiohttp.ClientSession() as session:
            async with session.post(base_a + "/analyze_sse", data=form(pdf("slow-1-page"))) as resp:
                assert resp.status == 200
                job_id = resp.headers["X-Job-Id"]
                parser = EventParser()
                seen = await _read_until_heartbeat(resp, parser)
                await _drain_and_check(session, base_a, a, pdf("s01"))
                async with session.get(base_b + "/readyz") as other:
                    assert other.status == 200, "the other replica still takes traffic"
                rest = await asyncio.wait_for(resp.content.read(), DRAIN_S + 15)
            assert b": server shutting down; reconnect with Last-Event-ID" in rest
            seen += event_ids(parser.feed(rest) + parser.flush())
            await _exits_in_time(a)
            # The client resumes on the other replica: no event lost or repeated, and the job ends there.
            headers = {"Last-Event-ID": seen[-1]}
            async with session.get(f"{base_b}/jobs/{job_id}/events", headers=headers) as resumed:
                assert resumed.status == 200
                tail = EventParser().feed(await asyncio.wait_for(resumed.content.read(), 90))
            async with session.get(f"{base_b}/jobs/{job_id}/events") as full:
                everything = EventParser().feed(await asyncio.wait_for(full.content.read(), 30))
        assert tail[-1].event in ("done", "error")
        assert seen + event_ids(tail) == event_ids(everything)
    finally:
        delete_prefix(redis_url, prefix)
