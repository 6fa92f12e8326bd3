"""EventStreamResponse on a real socket: heartbeats, stalled and vanished clients."""

from __future__ import annotations

import asyncio
import gc
import socket
import weakref
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer

from compliance_sse.sse.models import ServerSentEvent
from compliance_sse.sse.response import EventStreamResponse, HeartbeatScheduler
from compliance_sse.sse.serializer import serialize
from tests.conftest import read_events

_STREAMS = web.AppKey("streams", list[Any])


def _app(handler: Any) -> web.Application:
    app = web.Application()
    app[_STREAMS] = []
    app.router.add_get("/", handler)
    return app


async def test_headers_retry_first_and_typed_heartbeat_without_id(aiohttp_client: AiohttpClient) -> None:
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = EventStreamResponse(heartbeat_s=0.01, retry_ms=1234, heartbeat_data=lambda: {"stage": "x"})
        await resp.prepare(request)
        assert len(resp.headers) == 0, "sent headers are not kept for the stream's lifetime"
        await resp.prepare(request)  # a second call is harmless
        await resp.send_event(ServerSentEvent(data="{}", event="job", id="1"))
        await release.wait()
        await resp.send_event(ServerSentEvent(data="{}", event="done", id="2"))
        return resp

    client = await aiohttp_client(_app(handler))
    resp = await client.get("/")
    assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert resp.headers["X-Accel-Buffering"] == "no"
    assert await resp.content.readuntil(b"\n\n") == b"retry: 1234\n\n"
    events = await read_events(resp, limit=3)
    assert [e.event for e in events] == ["job", "heartbeat", "heartbeat"]
    assert orjson.loads(events[1].data) == {"stage": "x"}
    raw_heartbeat = b"event: heartbeat\n"
    assert raw_heartbeat  # heartbeats never carry "id:": the parser keeps the last real id
    assert events[1].id == "1"
    release.set()


class _Transport:
    def __init__(self, buffered: int = 0) -> None:
        self.buffered = buffered

    def get_write_buffer_size(self) -> int:
        return self.buffered


class _Request:
    def __init__(self, transport: _Transport) -> None:
        self.transport = transport


async def _fake_stream(
    scheduler: HeartbeatScheduler,
    written: list[bytes],
    heartbeat_s: float,
    *,
    max_s: float | None = None,
    buffered: int = 0,
) -> EventStreamResponse:
    """A prepared-looking response whose writes land in ``written``; ``buffered`` bytes wait in its socket."""
    resp = EventStreamResponse(heartbeat_s=heartbeat_s, scheduler=scheduler)

    async def write(data: bytes | bytearray | memoryview) -> None:
        written.append(bytes(data))

    resp.write = write  # type: ignore[method-assign]
    resp._req = _Request(_Transport(buffered))  # type: ignore[assignment]
    resp._stopped = False  # as prepare() leaves it
    resp.last_sent = scheduler.clock()
    if max_s is not None:
        resp.deadline = resp.last_sent + max_s
    resp._entry = scheduler.add(resp)
    return resp


async def test_heartbeat_only_when_idle() -> None:
    """With a fake clock: an event sent within the interval postpones the heartbeat."""
    now = [0.0]
    scheduler = HeartbeatScheduler(clock=lambda: now[0])
    written: list[bytes] = []
    resp = await _fake_stream(scheduler, written, heartbeat_s=10)
    await scheduler.close()  # the test drives tick() itself
    assert await scheduler.tick(9.9) == 10
    now[0] = 5.0  # an event went out at t=5 ...
    await resp.send_event(ServerSentEvent(data="x", event="progress", id="1"))
    assert await scheduler.tick(10.0) == 15, "... so the next heartbeat waits until t=15"
    assert len(written) == 1
    now[0] = 15.0
    assert await scheduler.tick(15.0) == 25
    assert written[-1].startswith(b"event: heartbeat\ndata: {")
    assert b"id:" not in written[-1]
    assert resp.heartbeats_sent == 1


async def test_one_scheduler_serves_many_streams_and_forgets_stopped_ones() -> None:
    now = [0.0]
    scheduler = HeartbeatScheduler(clock=lambda: now[0])
    written: list[bytes] = []
    streams = [await _fake_stream(scheduler, written, heartbeat_s=1 + i % 3) for i in range(30)]
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "csse-heartbeats"]
    assert len(tasks) == 1, "one task for every stream"
    await scheduler.close()
    streams[0].stop_streaming()
    ref = weakref.ref(streams.pop(0))
    gc.collect()
    assert ref() is None, "a stopped stream is not held by the heap"
    for t in (1.0, 2.0, 3.0):
        now[0] = t
        await scheduler.tick(t)
    # Over 3 s: 1 s streams beat 3 times, 2 s ones once, 3 s ones once (the stopped one never).
    assert sum(s.heartbeats_sent for s in streams) == 9 * 3 + 10 + 10 == len(written)
    assert len(scheduler) == 29


async def test_the_scheduler_ends_a_stream_at_its_deadline() -> None:
    """The stream's time limit is its entry in the heartbeat heap, not a timer of its own."""
    now = [0.0]
    scheduler = HeartbeatScheduler(clock=lambda: now[0])
    written: list[bytes] = []
    resp = await _fake_stream(scheduler, written, heartbeat_s=10, max_s=25)
    other = await _fake_stream(scheduler, written, heartbeat_s=10)
    await scheduler.close()  # the test drives tick() itself
    assert await scheduler.tick(10.0) == 20
    assert await scheduler.tick(20.0) == 25, "the deadline comes before the next heartbeat"
    assert (resp.expired, resp.stopped()) == (False, False)
    assert await scheduler.tick(25.0) == 30
    assert (resp.expired, resp.stopped()) == (True, True)
    assert not other.stopped()
    assert len(scheduler) == 1
    assert resp.heartbeats_sent == 2 == other.heartbeats_sent
    await resp.wait()  # returns at once: the stream has stopped


async def test_a_stalled_client_does_not_delay_the_others_heartbeats() -> None:
    now = [0.0]
    scheduler = HeartbeatScheduler(clock=lambda: now[0])
    written: list[bytes] = []
    stalled = await _fake_stream(scheduler, [], heartbeat_s=1, buffered=1 << 20)
    never = asyncio.Event()

    async def blocked(data: bytes | bytearray | memoryview) -> None:
        await never.wait()  # the client takes nothing

    stalled.write = blocked  # type: ignore[method-assign]
    others = [await _fake_stream(scheduler, written, heartbeat_s=1) for _ in range(3)]
    await scheduler.close()  # the test drives tick() itself
    now[0] = 1.0
    # A guard against a hang only: tick() itself never waits for a client.
    assert await asyncio.wait_for(scheduler.tick(1.0), 30) == 2.0
    assert [o.heartbeats_sent for o in others] == [1, 1, 1]
    assert len(written) == 3
    assert stalled.heartbeats_sent == 0, "its heartbeat waits in a task of its own"
    await scheduler.close()  # cancels that write


@pytest.mark.parametrize("stop", ["stop_streaming", "time_limit"])
async def test_the_relay_ends_when_the_stream_stops_with_no_task_or_timer_of_its_own(
    aiohttp_client: AiohttpClient, stop: str
) -> None:
    started, ended = asyncio.Event(), asyncio.Event()
    timers: list[int] = []

    async def never() -> Any:
        started.set()
        await asyncio.Event().wait()
        yield [ServerSentEvent(data="never")]

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = EventStreamResponse(heartbeat_s=60, max_s=0.2 if stop == "time_limit" else None)
        request.app[_STREAMS].append(resp)
        loop = asyncio.get_running_loop()
        before = len(loop._scheduled)  # type: ignore[attr-defined]
        await resp.prepare(request)
        timers.append(len(loop._scheduled) - before)  # type: ignore[attr-defined]
        await resp.relay(never(), lambda batch: b"".join(serialize(e) for e in batch))  # returns, no CancelledError
        await resp.send_comment("expired" if resp.expired else "bye")
        ended.set()
        return resp

    client = await aiohttp_client(_app(handler))
    resp = await client.get("/")
    await asyncio.wait_for(started.wait(), 10)
    if stop == "stop_streaming":
        client.app[_STREAMS][0].stop_streaming()
    await asyncio.wait_for(ended.wait(), 30)
    assert (await resp.content.read()).endswith(b": expired\n\n" if stop == "time_limit" else b": bye\n\n")
    assert timers == [0], "the time limit is the scheduler's, not a timer per stream"


async def test_compression_is_refused() -> None:
    with pytest.raises(NotImplementedError):
        EventStreamResponse().enable_compression()


async def test_write_before_prepare_raises() -> None:
    resp = EventStreamResponse()
    with pytest.raises(RuntimeError):
        await resp.send_event(ServerSentEvent(data="x"))


async def test_a_client_that_stops_reading_is_dropped(aiohttp_server: AiohttpServer) -> None:
    dropped = asyncio.Event()
    sent = 0
    refs: list[weakref.ref[Any]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = EventStreamResponse(heartbeat_s=60, send_timeout_s=0.3)
        refs.append(weakref.ref(resp))
        await resp.prepare(request)
        payload = "x" * 65536
        try:
            while True:
                await resp.send_event(ServerSentEvent(data=payload, event="flag", id=str(sent)))
                sent += 1
        except (TimeoutError, ConnectionResetError):
            dropped.set()
        return resp

    server: TestServer = await aiohttp_server(_app(handler))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        await asyncio.wait_for(dropped.wait(), 30)  # the socket is never read
    finally:
        sock.close()
    assert sent < 2000, "the server stopped writing instead of buffering without bound"
    await asyncio.sleep(0)
    gc.collect()
    assert all(r() is None for r in refs), "the dropped stream's response (and its buffers) were freed"


async def test_a_vanished_client_stops_its_stream_and_only_its_tasks(aiohttp_client: AiohttpClient) -> None:
    finished = asyncio.Event()
    bystander = asyncio.create_task(asyncio.Event().wait())

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = EventStreamResponse(heartbeat_s=0.01)
        await resp.prepare(request)
        try:
            await resp.wait()  # returns when a heartbeat cannot be written
        finally:
            finished.set()
        return resp

    client = await aiohttp_client(_app(handler))
    resp = await client.get("/")
    await resp.content.readuntil(b"\n\n")
    resp.close()
    await asyncio.wait_for(finished.wait(), 10)
    assert not bystander.done()
    bystander.cancel()
    tasks = [t for t in asyncio.all_tasks() if "ping" in repr(t.get_coro())]
    assert tasks == []
    assert not [t for t in asyncio.all_tasks() if "send_heartbeat" in repr(t.get_coro())]


def _count_sends(request: web.Request) -> list[int]:
    """The size of every write handed to the request's transport from now on."""
    transport: Any = request.transport
    sizes: list[int] = []
    write = transport.write

    def counting(data: Any) -> None:
        sizes.append(len(data))
        write(data)

    transport.write = counting
    return sizes


async def test_headers_retry_and_a_ready_first_event_leave_in_one_send(aiohttp_client: AiohttpClient) -> None:
    sizes: list[int] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        sends = _count_sends(request)
        resp = EventStreamResponse(heartbeat_s=60, retry_ms=1000)
        await resp.prepare(request)
        await resp.send_event(ServerSentEvent(data="{}", event="job", id="1"))
        sizes.extend(sends)
        return resp

    client = await aiohttp_client(_app(handler))
    resp = await client.get("/")
    body = await resp.read()
    assert body.startswith(b"retry: 1000\n\n"), body[:80]
    assert b"event: job\n" in body
    assert len(sizes) == 1, f"headers, retry: and the first event went out in {len(sizes)} sends: {sizes}"


async def test_an_idle_stream_gets_its_headers_and_retry_without_waiting_for_an_event(
    aiohttp_client: AiohttpClient,
) -> None:
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = EventStreamResponse(heartbeat_s=60, retry_ms=1000)
        await resp.prepare(request)
        await release.wait()  # no event for a long time
        return resp

    client = await aiohttp_client(_app(handler))
    resp = await asyncio.wait_for(client.get("/"), 5)
    assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5) == b"retry: 1000\n\n"
    release.set()
