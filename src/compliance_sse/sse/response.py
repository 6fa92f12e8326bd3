"""The one module that touches the transport: an SSE response, and the heartbeats of all of them.

An open stream adds no task to aiohttp's own (the connection's and the handler's). aiohttp-sse's
``EventSourceResponse`` starts a ping task per stream in ``prepare()``, and waiting on it took
another; with the relay that made five tasks per stream, each holding frames the collector walks. Here a
:class:`HeartbeatScheduler` keeps every stream's next heartbeat in one heap and one task writes the
heartbeats that are due, and ends the streams whose ``max_s`` is up (no timer per stream);
:meth:`EventStreamResponse.stop_streaming` interrupts the handler itself (as ``asyncio.timeout``
does, by cancelling and uncancelling it), so no task, future or timer handle waits on a stream.

What aiohttp-sse does publicly is kept: the event-stream headers, no compression, ``TCP_USER_TIMEOUT``
so the kernel drops a peer that stops acknowledging, a send timeout that aborts the transport of a
stalled client, ``prepare()`` callable twice, ``wait()`` and ``stop_streaming()``. Frames come from
:mod:`compliance_sse.sse.serializer`, the first one is ``retry:``, and the heartbeat is a typed
``heartbeat`` event (no ``id``, so it never moves a client's ``Last-Event-ID``) sent only when
nothing else went out for a whole interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web import BaseRequest

from .models import ServerSentEvent
from .serializer import comment, json_event, retry_frame, serialize

__all__ = ["DEFAULT_HEARTBEAT_S", "DEFAULT_SEND_TIMEOUT_S", "EventStreamResponse", "HeartbeatScheduler"]

DEFAULT_HEARTBEAT_S = 15.0
DEFAULT_SEND_TIMEOUT_S = 10.0

_T = TypeVar("_T")
_TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", None)
# A failed write: the peer went away (ConnectionResetError), stalled (TimeoutError), or the
# response already sent EOF (RuntimeError).
_WRITE_FAILED = (ConnectionResetError, TimeoutError, RuntimeError)


class HeartbeatScheduler:
    """Sends the heartbeats of many streams from one task, and ends each at its deadline.

    Each stream has one entry ``[due, seq, stream]`` in a heap. When an entry comes due, a stream
    past its ``deadline`` is expired (:meth:`EventStreamResponse.expire`); otherwise it gets a
    heartbeat if nothing was sent to it for its interval, else the entry moves to
    ``last_sent + interval`` (never past the deadline); so sending an event costs no heap
    operation. A stopped stream's entry is blanked and dropped when it reaches the top. The task
    runs only while streams are registered. A heartbeat to a client whose socket buffer already
    holds data is written in a task of its own, so one stalled client never delays the others;
    any other heartbeat fits the empty buffer and is written without suspending.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._heap: list[list[Any]] = []
        self._seq = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._slow: set[asyncio.Task[None]] = set()
        self.sent = 0

    def __len__(self) -> int:
        return sum(1 for entry in self._heap if entry[2] is not None)

    def add(self, stream: EventStreamResponse) -> list[Any]:
        """Register ``stream``; its first heartbeat is due one interval after its last send."""
        # A stream whose ``retry:`` still waits is due at once: it goes out with the first event if the handler has
        # one ready in this turn of the loop, else alone (with the headers) when this task next runs.
        due = self.clock() if stream.pending else stream.last_sent + stream.heartbeat_s
        entry = [min(due, stream.deadline), next(self._seq), stream]
        first = not self._heap or entry[0] < self._heap[0][0]
        heapq.heappush(self._heap, entry)
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="csse-heartbeats")
        elif first and self._wake is not None:
            self._wake.set()
        return entry

    async def tick(self, now: float) -> float | None:
        """Send every heartbeat due at ``now``; return when the next one is due (``None``: no stream)."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            stream: EventStreamResponse | None = entry[2]
            if stream is None:
                continue
            if stream.deadline <= now:
                stream.expire()
                continue
            if stream.pending:
                with contextlib.suppress(*_WRITE_FAILED):
                    await stream._send_frame(b"")  # the buffer of a new stream is empty: no suspension
            idle_until = stream.last_sent + stream.heartbeat_s
            if idle_until <= now:
                idle_until = now + stream.heartbeat_s
                if stream.backlogged:
                    task = asyncio.create_task(stream.send_heartbeat())
                    self._slow.add(task)
                    task.add_done_callback(self._slow.discard)
                else:
                    # An empty socket buffer: the write completes without suspending.
                    await stream.send_heartbeat()
                self.sent += 1
            if entry[2] is not None:  # not stopped by a failed heartbeat
                entry[0] = min(idle_until, stream.deadline)
                heapq.heappush(heap, entry)
        return heap[0][0] if heap else None

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        while (due := await self.tick(self.clock())) is not None:
            wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(due - self.clock(), 0.0)):
                    await wake.wait()

    async def close(self) -> None:
        """Stop the task (streams stay open, without heartbeats); may be called twice."""
        tasks = [t for t in (self._task, *self._slow) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None


class EventStreamResponse(web.StreamResponse):
    """A ``text/event-stream`` response.

    ``heartbeat_s`` is the idle time after which a ``heartbeat`` event with ``heartbeat_data()``
    is sent by ``scheduler`` (pass the app's, shared by every stream; by default the response
    gets one of its own). After ``max_s`` (from ``prepare()``) the scheduler stops the stream and
    :attr:`expired` is true. ``send_timeout_s`` bounds every write that could wait for the
    client: one that takes no frame for that long is dropped (the transport is aborted and
    :meth:`send_event` raises ``TimeoutError``). A write to a closed connection raises
    ``ConnectionResetError``. Either way the stream stops: :meth:`wait` and :meth:`relay` return.
    """

    __slots__ = (
        "_entry",
        "_handler",
        "_heartbeat_data",
        "_max_s",
        "_retry_ms",
        "_scheduler",
        "_send_timeout_s",
        "_stopped",
        "_waiter",
        "deadline",
        "expired",
        "heartbeat_s",
        "heartbeats_sent",
        "last_sent",
        "pending",
    )

    _send_headers_immediately = False  # aiohttp's default for a StreamResponse: they go with the first write

    def __init__(
        self,
        *,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        send_timeout_s: float | None = DEFAULT_SEND_TIMEOUT_S,
        retry_ms: int | None = None,
        heartbeat_data: Callable[[], Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        scheduler: HeartbeatScheduler | None = None,
        max_s: float | None = None,
    ) -> None:
        if heartbeat_s <= 0:
            raise ValueError("heartbeat_s must be positive")
        if max_s is not None and not max_s > 0:
            raise ValueError("max_s must be positive")
        super().__init__(headers=headers)
        self.headers["Content-Type"] = "text/event-stream; charset=utf-8"
        self.headers["Cache-Control"] = "no-cache"
        self.headers["X-Accel-Buffering"] = "no"
        self.heartbeat_s = heartbeat_s
        self._send_timeout_s = send_timeout_s
        self._retry_ms = retry_ms
        self._heartbeat_data = heartbeat_data or dict
        self._scheduler = scheduler
        self._max_s = max_s
        self._entry: list[Any] | None = None
        self._stopped: bool | None = None  # None until prepare()
        self._waiter: asyncio.Future[None] | None = None  # only while someone is in wait()
        self._handler: asyncio.Task[Any] | None = None
        self.deadline = math.inf
        self.expired = False
        self.last_sent = 0.0
        self.heartbeats_sent = 0
        self.pending = b""
        """The ``retry:`` frame until the first write, which carries it (and the headers) in the same send."""

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        """Start the stream and its heartbeats; may be called twice.

        The headers and ``retry:`` go out with the first event when the handler writes one in the same turn of the
        loop (one send, not three), else on their own as soon as the handler waits.
        """
        if self.prepared:
            return self._payload_writer
        self._set_tcp_user_timeout(request)
        writer = await super().prepare(request)
        # The writer holds them serialized; the response's own copy (a dozen entries, 1.3 KiB)
        # would otherwise stay with every idle stream, read by nothing.
        self._headers.clear()
        scheduler = self._scheduler
        if scheduler is None:
            scheduler = self._scheduler = HeartbeatScheduler()
        if self._max_s is not None:
            self.deadline = scheduler.clock() + self._max_s
        self._stopped = False
        if self._retry_ms is not None:
            self.pending = retry_frame(self._retry_ms)
        elif writer is not None:
            writer.send_headers()  # nothing pending to carry them
        self.last_sent = scheduler.clock()
        self._entry = scheduler.add(self)
        return writer

    def enable_compression(self, *args: Any, **kwargs: Any) -> None:
        """Refused: a compressor buffers frames, and a proxy cannot stream what it must decompress."""
        raise NotImplementedError("an event stream is never compressed")

    @property
    def backlogged(self) -> bool:
        """Whether the socket's send buffer already holds data the client has not taken."""
        transport = self._req.transport if self._req is not None else None
        return transport is not None and transport.get_write_buffer_size() > 0

    def _may_wait(self, size: int) -> bool:
        """Whether writing ``size`` bytes could suspend: the buffer would pass its high-water mark.

        A write that fits is handed to the socket or buffered at once, so it needs no send timeout
        (whose timer handle would stay in the loop's heap until its time, one per frame).
        """
        transport = self._req.transport if self._req is not None else None
        if transport is None:
            return True
        limits = getattr(transport, "get_write_buffer_limits", None)
        high = limits()[1] if limits is not None else 0
        return bool(transport.get_write_buffer_size() + size > high)

    async def send_event(self, event: ServerSentEvent) -> None:
        """Write one event; raises ``RuntimeError`` before ``prepare()`` or after EOF."""
        await self._send_frame(serialize(event))

    async def send_comment(self, text: str = "") -> None:
        """Write a comment frame, which clients ignore."""
        await self._send_frame(comment(text))

    async def send_heartbeat(self) -> None:
        """Write a ``heartbeat`` event now; a failure stops the stream instead of raising."""
        event = json_event("heartbeat", dict(self._heartbeat_data()))
        with contextlib.suppress(*_WRITE_FAILED):
            await self._send_frame(serialize(event))
            self.heartbeats_sent += 1

    async def _send_frame(self, frame: bytes) -> None:
        if self.pending:
            frame, self.pending = self.pending + frame, b""
        try:
            if self._send_timeout_s is not None and self._may_wait(len(frame)):
                async with asyncio.timeout(self._send_timeout_s):
                    await self.write(frame)
            else:
                await self.write(frame)
        except (ConnectionResetError, RuntimeError):
            self.stop_streaming()
            raise
        except TimeoutError:
            self.stop_streaming()
            if self._req is not None and self._req.transport is not None:
                # A stalled peer never drains the buffer, so a graceful close would wait forever.
                self._req.transport.abort()
            raise
        self.last_sent = self._scheduler.clock() if self._scheduler is not None else time.monotonic()

    async def relay(self, batches: AsyncIterator[_T], encode: Callable[[_T], bytes]) -> None:
        """Write ``encode(batch)`` for each batch of ``batches`` until they end or the stream stops.

        A batch is whatever the source hands over at once (a list of events), written in one go.
        :meth:`stop_streaming`, called from elsewhere, interrupts the wait for the next batch: it
        cancels this task and the cancellation ends here, as ``asyncio.timeout`` does it; a
        cancellation from anywhere else propagates. A failed write raises, as in :meth:`send_event`.
        """
        if self._stopped is None:
            raise RuntimeError("Response is not started: call prepare() first")
        if self._stopped:
            return
        task = asyncio.current_task()
        self._handler = task
        try:
            async for batch in batches:
                frames = encode(batch)
                batch = None  # type: ignore[assignment]  # hold nothing of it while the stream idles
                await self._send_frame(frames)
                del frames
                # A write that fits the buffer does not suspend, so a long replay would hold the loop for all its
                # batches: let other requests in between, and notice a client that has gone.
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            if not (self.stopped() and task is not None and task.uncancel() == 0):
                raise
        finally:
            self._handler = None

    async def wait(self) -> None:
        """Return once the stream has stopped; raises ``RuntimeError`` before ``prepare()``."""
        if self._stopped is None:
            raise RuntimeError("Response is not started: call prepare() first")
        if self._stopped:
            return
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._waiter)

    def stopped(self) -> bool:
        """Whether the stream was stopped (by :meth:`stop_streaming`, a failed write or its deadline)."""
        return self._stopped is True

    def expire(self) -> None:
        """Stop the stream because its ``max_s`` is up (:attr:`expired` tells it from other stops)."""
        if not self._stopped:
            self.expired = True
        self.stop_streaming()

    def stop_streaming(self) -> None:
        """Stop heartbeats, end :meth:`wait` and :meth:`relay`; may be called twice."""
        if self._stopped is None:
            raise RuntimeError("Response is not started: call prepare() first")
        if self._entry is not None:
            self._entry[2] = None  # the scheduler drops it; the stream can be freed now
            self._entry = None
        if self._stopped:
            return
        self._stopped = True
        if self._waiter is not None:
            self._waiter.set_result(None)
            self._waiter = None
        if self._handler is not None and self._handler is not asyncio.current_task():
            self._handler.cancel()

    async def write_eof(self, data: bytes = b"") -> None:
        """End the response; may be called twice."""
        if self._stopped is False:
            self.stop_streaming()
        if self.pending:
            data, self.pending = self.pending + data, b""
        await super().write_eof(data)

    def _set_tcp_user_timeout(self, request: BaseRequest) -> None:
        """Ask the kernel to drop the connection when sent data stays unacknowledged for the send timeout.

        A slow stream would otherwise take days to fill the socket buffers before a write blocks.
        """
        if self._send_timeout_s is None or _TCP_USER_TIMEOUT is None or request.transport is None:
            return
        sock = request.transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, int(self._send_timeout_s * 1000))
