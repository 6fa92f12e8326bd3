"""The one module that touches the transport: an SSE response with heartbeats.

Built on aiohttp-sse's ``EventSourceResponse`` for its headers, its refusal of
compression and its stalled-peer handling (``TCP_USER_TIMEOUT``, a send
timeout that aborts the transport). What differs: frames come from
:mod:`compliance_sse.sse.serializer`, the first frame is ``retry:``, and the
heartbeat is a typed ``heartbeat`` event (no ``id``, so it never moves a
client's ``Last-Event-ID``) sent only when nothing else went out for a whole
interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp.abc import AbstractStreamWriter
from aiohttp.web import BaseRequest
from aiohttp_sse import EventSourceResponse

from .models import ServerSentEvent
from .serializer import comment, json_event, retry_frame, serialize

__all__ = ["DEFAULT_HEARTBEAT_S", "DEFAULT_SEND_TIMEOUT_S", "EventStreamResponse"]

DEFAULT_HEARTBEAT_S = 15.0
DEFAULT_SEND_TIMEOUT_S = 10.0


class EventStreamResponse(EventSourceResponse):
    """A ``text/event-stream`` response.

    ``heartbeat_s`` is the idle time after which a ``heartbeat`` event with
    ``heartbeat_data()`` is sent; ``send_timeout_s`` bounds every write: a client
    that takes no frame for that long is dropped (the transport is aborted and
    :meth:`send_event` raises ``TimeoutError``). A write to a closed connection
    raises ``ConnectionResetError``. Either way the stream stops, and
    :meth:`wait` returns.
    """

    def __init__(
        self,
        *,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        send_timeout_s: float | None = DEFAULT_SEND_TIMEOUT_S,
        retry_ms: int | None = None,
        heartbeat_data: Callable[[], Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            headers=headers,
            ping_interval=heartbeat_s,
            send_timeout=send_timeout_s,
            allow_all_methods=True,
        )
        self.headers["Content-Type"] = "text/event-stream; charset=utf-8"
        self._retry_ms = retry_ms
        self._heartbeat_data = heartbeat_data or dict
        self._clock = clock
        self._sleep = sleep
        self._last_sent = clock()
        self.heartbeats_sent = 0

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        """Send the headers, then ``retry:``; may be called twice."""
        first = not self.prepared
        writer = await super().prepare(request)
        if first and self._retry_ms is not None:
            await self._send_frame(retry_frame(self._retry_ms))
        return writer

    async def send_event(self, event: ServerSentEvent) -> None:
        """Write one event; raises ``RuntimeError`` before ``prepare()`` or after EOF."""
        await self._send_frame(serialize(event))

    async def send_comment(self, text: str = "") -> None:
        """Write a comment frame, which clients ignore."""
        await self._send_frame(comment(text))

    async def _send_frame(self, frame: bytes) -> None:
        try:
            async with asyncio.timeout(self._send_timeout):
                await self.write(frame)
        except ConnectionResetError:
            self._stop()
            raise
        except TimeoutError:
            self._stop()
            self._abort_transport()
            raise
        self._last_sent = self._clock()

    def _stop(self) -> None:
        if self._ping_task is not None and self._ping_task is not asyncio.current_task():
            self._ping_task.cancel()

    async def _ping(self) -> None:
        interval = self._ping_interval
        while True:
            idle = self._clock() - self._last_sent
            if idle < interval:
                await self._sleep(interval - idle)
                continue
            event = json_event("heartbeat", dict(self._heartbeat_data()))
            try:
                await self._send_frame(serialize(event))
            except (TimeoutError, ConnectionResetError, RuntimeError):
                # RuntimeError: the response has already sent EOF.
                return
            self.heartbeats_sent += 1
