"""Redis killed, restarted with and without its data, and paused, under a live stream.

Each test runs a ``redis-server`` of its own on a free port (the shared one is never signalled),
holds a job mid-extraction with a gated executor, and checks what the stream, ``/readyz`` and new
uploads get during the fault and after it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from compliance_sse.app import create_app
from compliance_sse.settings import Settings
from compliance_sse.sse.models import ServerSentEvent
from compliance_sse.sse.parser import EventParser
from tests.conftest import GatedExecutor, event_ids
from tests.polling import until
from tests.redis_server import RedisServer, redis_server

from .conftest import Service, StartService, file_part, get, multipart_post, open_stream, read_to_end

Pdf = Callable[[str], bytes]
DURABLE = ("--appendonly", "yes", "--appendfsync", "always")  # every write on disk: a SIGKILL loses nothing


async def _start(start_service: StartService, server: RedisServer, executor: GatedExecutor) -> Service:
    settings = Settings(broker=server.url(), broker_grace_s=1, heartbeat_s=30, claim_idle_s=5)
    return await start_service(app=create_app(settings, extract_executor=executor))


async def _submit(service: Service, data: bytes) -> tuple[int, dict[str, Any]]:
    status, _, body = await service.request(multipart_post("/jobs", file_part(data) + b"--B--\r\n"), limit_s=30)
    return status, orjson.loads(body)


async def _live_stream(
    service: Service, data: bytes, executor: GatedExecutor
) -> tuple[Any, EventParser, list[ServerSentEvent], str]:
    """A job held in extraction, and its open stream after its first events."""
    status, job = await _submit(service, data)
    assert status == 202
    reader, writer, status = await open_stream(service, job["events_url"])
    assert status == 200
    parser, seen = EventParser(), list[ServerSentEvent]()
    while len(seen) < 2:
        seen += parser.feed(await reader.read(65536))
    await asyncio.to_thread(executor.entered.wait, 20)
    return (reader, writer), parser, seen, job["events_url"]


async def _ready(service: Service) -> bool:
    status, _, _ = await service.request(get("/readyz"), limit_s=10)
    return status == 200


async def _recovered_s(service: Service) -> float:
    started = time.monotonic()
    await until(lambda: _ready(service), limit_s=30, every_s=0.05, what="/readyz 200 again")
    return time.monotonic() - started


async def _new_job_runs(service: Service, data: bytes) -> None:
    async def accepted() -> dict[str, Any] | None:
        status, job = await _submit(service, data)
        return job if status == 202 else None

    job = await until(accepted, limit_s=30, every_s=0.2, what="a new job to be accepted")
    reader, writer, _ = await open_stream(service, job["events_url"])
    events = EventParser().feed(await read_to_end(reader))
    writer.close()
    assert events[-1].event == "done"


def _error(events: list[ServerSentEvent]) -> tuple[str, bool]:
    """The code of the stream's final ``error`` event, which carries no id of its own."""
    assert events[-1].event == "error" and events[-1].id == events[-2].id, "Last-Event-ID stays on a real event"
    body = orjson.loads(events[-1].data)
    return body["code"], body["retryable"]


@pytest.mark.parametrize("data", ["kept", "lost"])
async def test_redis_killed_mid_stream_then_restarted(
    start_service: StartService, pdf: Pdf, gated_executor: GatedExecutor, data: str, tmp_path: Any
) -> None:
    server = RedisServer(tmp_path, args=DURABLE if data == "kept" else ())
    server.start()
    try:
        service = await _start(start_service, server, gated_executor)
        (reader, writer), parser, seen, path = await _live_stream(service, pdf("s01"), gated_executor)
        assert server.proc is not None
        server.proc.kill()  # SIGKILL: no shutdown, no save
        server.proc.wait()
        rest = parser.feed(await read_to_end(reader))
        writer.close()
        code, retryable = _error(seen + rest)
        assert retryable and code == "broker_unavailable"
        assert not await _ready(service)
        status, refused = await _submit(service, pdf("s01"))
        assert status == 503 and refused["code"] == "broker_unavailable"

        server.start()
        recovery = await _recovered_s(service)
        gated_executor.gate.set()
        last = (seen + rest[:-1])[-1].id
        reader, writer, status = await open_stream(service, path, f"Last-Event-ID: {last}")
        tail = EventParser().feed(await read_to_end(reader)) if status == 200 else []
        writer.close()
        if data == "kept":
            assert status == 200 and tail[-1].event == "done", "the job finishes once Redis is back"
            ids = event_ids(seen + rest[:-1] + tail)
            assert len(ids) == len(set(ids)), "every event once"
        else:
            assert status == 404, "the job went with Redis's data"
        await _new_job_runs(service, pdf("s03"))
        print(
            f"\nredis SIGKILL, data {data}: stream got {code}; readyz 200 {recovery:.2f} s after restart",
            file=sys.stderr,
        )
    finally:
        server.stop()


async def test_redis_paused_mid_stream_then_resumed(
    start_service: StartService, pdf: Pdf, gated_executor: GatedExecutor
) -> None:
    with redis_server() as server:
        service = await _start(start_service, server, gated_executor)
        (reader, writer), parser, seen, path = await _live_stream(service, pdf("s01"), gated_executor)
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            ready = await _ready(service)
            readyz_s = time.monotonic() - started
            assert not ready, "a paused Redis is not ready"
            started = time.monotonic()
            status, refused = await _submit(service, pdf("s01"))
            submit_s = time.monotonic() - started
            assert status == 503 and refused["code"] == "broker_unavailable"
            job_path = path.removesuffix("/events")
            started = time.monotonic()
            for request in (get(job_path), get(job_path + "/report"), get(path, f"Last-Event-ID: {seen[-1].id}")):
                status, _, body = await service.request(request, limit_s=30)
                assert status == 503 and orjson.loads(body)["code"] == "broker_unavailable", (request, status, body)
            lookups_s = (time.monotonic() - started) / 3
            assert lookups_s < 10, "a lookup, a report and a resume each give up well before the socket timeout"
            started = time.monotonic()
            async with asyncio.timeout(90):
                rest = parser.feed(await reader.read())
            stream_s = time.monotonic() - started
            print(
                f"\npaused: readyz {readyz_s:.2f} s, submit {submit_s:.2f} s, lookups {lookups_s:.2f} s each, "
                f"stream {stream_s:.2f} s",
                file=sys.stderr,
            )
            writer.close()
            code, retryable = _error(seen + rest)
            assert retryable and code == "broker_unavailable"
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        recovery = await _recovered_s(service)
        gated_executor.gate.set()
        last = (seen + rest[:-1])[-1].id
        reader, writer, status = await open_stream(service, path, f"Last-Event-ID: {last}")
        tail = EventParser().feed(await read_to_end(reader))
        writer.close()
        assert status == 200 and tail[-1].event == "done"
        await _new_job_runs(service, pdf("s03"))
        print(
            f"\nredis SIGSTOP: readyz answered in {readyz_s:.2f} s, upload refused in {submit_s:.2f} s, stream got "
            f"{code} {stream_s:.2f} s later; readyz 200 {recovery:.2f} s after SIGCONT",
            file=sys.stderr,
        )
