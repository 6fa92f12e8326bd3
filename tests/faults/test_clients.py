"""Clients that read slowly, never read, or vanish at any point of a stream, then resume."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable

import orjson
import pytest

from compliance_sse.auth import DEFAULT_TENANT
from compliance_sse.eventlog.base import JobRecord
from compliance_sse.jobs import new_job_id
from compliance_sse.keys import EVENT_LOG, STREAMS
from compliance_sse.sse.models import ServerSentEvent
from compliance_sse.sse.parser import EventParser
from tests.polling import until

from .conftest import HOST, Service, StartService, file_part, multipart_post, open_stream, read_to_end

HIGH_WATER = 64 * 1024  # asyncio's default: a write waits once the transport holds this much


async def _job(service: Service) -> str:
    """A job of the test's own in the event log: the test appends its events."""
    job_id = new_job_id()
    await service.app[EVENT_LOG].create_job(JobRecord(job_id=job_id, tenant=DEFAULT_TENANT, doc_name="a.pdf"))
    return job_id


async def _append(service: Service, job_id: str, n: int, size: int = 100) -> None:
    log = service.app[EVENT_LOG]
    for i in range(n):
        await log.append(job_id, "flag", orjson.dumps({"n": i, "pad": "x" * size}))


async def test_a_reader_that_never_reads_is_dropped_with_a_bounded_buffer(start_service: StartService) -> None:
    service = await start_service(send_timeout_s=1)
    job_id = await _job(service)
    _reader, writer, status = await open_stream(service, f"/jobs/{job_id}/events", rcvbuf=4096)
    assert status == 200
    await until(lambda: service.app[STREAMS], what="the stream to open")
    (stream,) = service.app[STREAMS]
    assert stream._req is not None
    transport = stream._req.transport
    peak = sent = 0
    async with asyncio.timeout(30):
        while service.app[STREAMS] and sent < 4000:  # 4 MB of events, far more than both sockets' buffers hold
            await service.app[EVENT_LOG].append(job_id, "flag", orjson.dumps({"n": sent, "pad": "x" * 1000}))
            sent += 1
            await asyncio.sleep(0)
            if transport is not None:
                peak = max(peak, transport.get_write_buffer_size())
        await until(lambda: not service.app[STREAMS], limit_s=20, what="the stalled reader to be dropped")
    print(
        f"\nnever-reader: {sent} events of 1 KB appended, then dropped; server buffer peak {peak} bytes",
        file=sys.stderr,
    )
    assert peak <= HIGH_WATER + 256 * 1024, "a stalled reader holds at most the high-water mark and one batch"
    writer.close()
    health = await service.request(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert health[0] == 200


async def test_a_slow_reader_gets_every_event_once(start_service: StartService) -> None:
    service = await start_service(send_timeout_s=10)
    job_id = await _job(service)
    reader, writer, status = await open_stream(service, f"/jobs/{job_id}/events", rcvbuf=4096)
    assert status == 200
    producer = asyncio.ensure_future(_append(service, job_id, 300, size=2000))
    parser, events = EventParser(), list[ServerSentEvent]()
    async with asyncio.timeout(60):
        while len(events) < 300:
            chunk = await reader.read(4096)  # about 400 KB/s: slower than the server writes
            assert chunk, "the server closed a reader that was still reading"
            events += parser.feed(chunk)
            await asyncio.sleep(0.01)
        await producer
    assert [orjson.loads(e.data)["n"] for e in events] == list(range(300))
    assert service.app[STREAMS], "a slow reader is not dropped"
    writer.close()


def _cut_points(body: bytes) -> list[int]:
    """Offsets in an event stream's body: at, just after and inside every event, and at its end."""
    points = {0, 1, len(body)}
    start = 0
    while (end := body.find(b"\n\n", start)) >= 0:
        end += 2
        points |= {start + 1, (start + end) // 2, end - 1, end}
        start = end
    return sorted(p for p in points if 0 <= p <= len(body))


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
async def test_a_finished_job_cut_anywhere_then_resumed_gives_every_event_once(
    start_service: StartService, pdf: Callable[[str], bytes], reset: bool
) -> None:
    service = await start_service()
    status, _, answer = await service.request(multipart_post("/jobs", file_part(pdf("s03")) + b"--B--\r\n"))
    assert status == 202
    path = orjson.loads(answer)["events_url"]
    reader, writer, _ = await open_stream(service, path)
    body = await read_to_end(reader)
    writer.close()
    full = EventParser().feed(body)
    assert full[-1].event == "done"
    request = f"GET {path} HTTP/1.0\r\n\r\n".encode()
    cuts = [-len(request), -1, *_cut_points(body)]
    print(f"\n{len(cuts)} cuts of a {len(body)}-byte stream of {len(full)} events", file=sys.stderr)
    for cut in cuts:
        parser = EventParser()
        if cut < 0:  # before the answer's head: the request went out whole, or all but its last bytes
            reader, writer = await asyncio.open_connection(HOST, service.port)
            writer.write(request[: len(request) + cut + 1])
            await writer.drain()
            seen = []
        else:  # after the head, ``cut`` bytes into the body
            reader, writer, _ = await open_stream(service, path)
            seen = parser.feed(await reader.readexactly(cut))
        if reset:
            writer.transport.abort()
        else:
            writer.close()
        last = parser.last_event_id
        headers = [f"Last-Event-ID: {last}"] if last else []
        reader, writer, status = await open_stream(service, path, *headers)
        rest = EventParser().feed(await read_to_end(reader)) if status == 200 else []
        writer.close()
        assert status == (204 if last == full[-1].id else 200), cut
        assert [e.id for e in seen + rest] == [e.id for e in full], f"cut at byte {cut}"
    await until(lambda: not service.app[STREAMS], what="every stream to close")


async def test_a_live_job_cut_at_every_point_then_resumed_gives_every_event_once(start_service: StartService) -> None:
    service = await start_service()
    n = 6
    for k in range(n):  # cut after k whole events ...
        for partial in (0, 1, 30):  # ... and this many bytes of the next one
            job_id = await _job(service)
            path = f"/jobs/{job_id}/events"
            reader, writer, status = await open_stream(service, path)
            assert status == 200
            parser = EventParser()
            assert await reader.readuntil(b"\n\n")  # retry:
            seen: list[ServerSentEvent] = []
            await _append(service, job_id, k + 1)
            while len(seen) < k:
                seen += parser.feed(await reader.readuntil(b"\n\n"))
            if partial:
                seen += parser.feed(await reader.readexactly(partial))
            writer.transport.abort()
            rest_task = asyncio.ensure_future(_resume(service, path, parser.last_event_id))
            log = service.app[EVENT_LOG]
            for i in range(k + 1, n):
                await log.append(job_id, "flag", orjson.dumps({"n": i, "pad": "x" * 100}))
            await log.append(job_id, "done", b"{}")
            rest = await rest_task
            ids = [e.id for e in seen + rest]
            assert ids == [str(i) for i in range(1, n + 2)], (k, partial)
    await until(lambda: not service.app[STREAMS], what="every stream to close")


async def _resume(service: Service, path: str, last: str) -> list[ServerSentEvent]:
    headers = [f"Last-Event-ID: {last}"] if last else []
    reader, writer, status = await open_stream(service, path, *headers)
    assert status == 200
    try:
        return EventParser().feed(await read_to_end(reader))
    finally:
        with contextlib.suppress(OSError):
            writer.close()
