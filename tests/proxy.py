"""A loopback TCP proxy that cuts connections at seeded-random points.

It forwards bytes both ways between a client and an upstream server on
127.0.0.1. Once a connection carries a ``GET`` (so an upload on the same
keep-alive connection is never cut), the proxy plans where to cut the server's
answer, drawing from its own ``random.Random(seed)``:

``bytes``
    after a random number of bytes: mostly mid-line, sometimes in the headers or
    the chunked framing;
``newline``
    just after the k-th bare LF of the body (the event stream's line ends; the
    headers and the chunked framing end lines with CRLF): between two lines of
    an event, or between events;
``reads``
    after the k-th piece read from the server, which aiohttp writes one frame
    at a time: mostly between events.

At the cut it forwards the bytes before it, then closes the client side (a FIN,
or with ``reset_ratio`` a RST) and the upstream connection. After ``max_cuts``
cuts it only forwards, so a test always ends. The same seed gives the same
plan; where a plan lands in the stream can still vary with how TCP splits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Cut", "CuttingProxy", "cut_position"]

Mode = Literal["bytes", "newline", "reads"]
Position = Literal["headers", "mid_line", "mid_event", "between_events"]


@dataclass(slots=True)
class Cut:
    """One connection the proxy cut: its plan, and every byte it let through after the ``GET``."""

    connection: int
    request: bytes
    mode: Mode
    limit: int
    reset: bool
    forwarded: bytearray = field(default_factory=bytearray)

    @property
    def on_event_stream(self) -> bool:
        """Whether the cut request asked for a job's events (rather than, say, its status)."""
        path = self.request.split(b" ")[1] if self.request.count(b" ") >= 2 else b""
        return path.split(b"?")[0].endswith(b"/events")

    @property
    def position(self) -> Position:
        return cut_position(bytes(self.forwarded))


def cut_position(forwarded: bytes) -> Position:
    """Where, in the event stream, an HTTP/1.1 answer cut after ``forwarded`` stopped."""
    head, sep, rest = forwarded.partition(b"\r\n\r\n")
    if not sep:
        return "headers"
    body = _dechunk(rest) if b"chunked" in head.lower() else rest
    if body.endswith((b"\n\n", b"\r\r", b"\r\n\r\n")) or not body:
        return "between_events"
    if body.endswith((b"\n", b"\r")):
        return "mid_event"
    return "mid_line"


def _dechunk(data: bytes) -> bytes:
    """The payload of a chunked body, as far as it arrived."""
    body = bytearray()
    pos = 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            return bytes(body)
        size = int(data[pos:end].split(b";")[0] or b"0", 16)
        if size == 0:
            return bytes(body)
        start = end + 2
        body += data[start : start + size]
        if start + size > len(data):
            return bytes(body)
        pos = start + size + 2


class CuttingProxy:
    """``127.0.0.1:<port>`` -> ``upstream``; see the module docstring.

    ``byte_range`` bounds the ``bytes`` plans, ``newline_range`` the ``newline``
    plans and ``read_range`` the ``reads`` plans (inclusive). Use as ``async
    with``; :meth:`close` aborts every open connection and may be called twice.
    """

    def __init__(
        self,
        upstream_port: int,
        *,
        seed: int,
        max_cuts: int,
        upstream_host: str = "127.0.0.1",
        byte_range: tuple[int, int] = (1, 2000),
        newline_range: tuple[int, int] = (1, 60),
        read_range: tuple[int, int] = (1, 8),
        reset_ratio: float = 0.25,
    ) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._rng = random.Random(seed)
        self._cuts_left = max_cuts
        self._byte_range = byte_range
        self._newline_range = newline_range
        self._read_range = read_range
        self._reset_ratio = reset_ratio
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._connections = 0
        self._cut_event = asyncio.Event()
        self.cuts: list[Cut] = []

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not started: use 'async with CuttingProxy(...)'")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        return self._connections

    async def __aenter__(self) -> CuttingProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        # Aborting the transports ends every connection's task; cancelling them instead makes
        # Python 3.11's start_server log each CancelledError as an error.
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def wait_cuts(self, n: int) -> None:
        """Return once ``n`` connections have been cut."""
        while len(self.cuts) < n:
            await self._cut_event.wait()
            self._cut_event.clear()

    def _plan(self, connection: int, request: bytes) -> Cut | None:
        if self._cuts_left <= 0:
            return None
        self._cuts_left -= 1
        mode: Mode = self._rng.choice(("bytes", "newline", "reads"))
        lo, hi = {"bytes": self._byte_range, "newline": self._newline_range, "reads": self._read_range}[mode]
        limit = self._rng.randint(lo, hi)
        reset = self._rng.random() < self._reset_ratio
        return Cut(connection=connection, request=request, mode=mode, limit=limit, reset=reset)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(client_writer)
        self._connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_writer.transport.abort()
            self._writers.discard(client_writer)
            self._tasks.discard(task)
            return
        self._writers.add(upstream_writer)
        armed: list[Cut | None] = []  # set once, at the first GET
        up = asyncio.create_task(self._pump_up(client_reader, upstream_writer, armed, self._connections))
        try:
            await self._pump_down(upstream_reader, client_writer, armed)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            up.cancel()
            await asyncio.gather(up, return_exceptions=True)
            for writer in (client_writer, upstream_writer):
                if not writer.transport.is_closing():
                    writer.close()
                self._writers.discard(writer)
            self._tasks.discard(task)

    async def _pump_up(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        armed: list[Cut | None],
        connection: int,
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if not armed and data.startswith(b"GET "):
                    armed.append(self._plan(connection, data.split(b"\r\n", 1)[0]))
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

    async def _pump_down(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, armed: list[Cut | None]
    ) -> None:
        newlines = reads = 0
        while data := await reader.read(65536):
            cut = armed[0] if armed else None
            if cut is None:
                writer.write(data)
                await writer.drain()
                continue
            reads += 1
            stop: int | None = None
            if cut.mode == "bytes" and len(cut.forwarded) + len(data) >= cut.limit:
                stop = cut.limit - len(cut.forwarded)
            elif cut.mode == "newline":
                seen = bytes(cut.forwarded) + data
                body = seen.find(b"\r\n\r\n")
                pos = max(len(cut.forwarded), body + 4) - 1 if body >= 0 else len(seen)
                while newlines < cut.limit and (pos := seen.find(b"\n", pos + 1)) >= 0:
                    if seen[pos - 1 : pos] != b"\r":
                        newlines += 1
                if newlines >= cut.limit:
                    stop = pos + 1 - len(cut.forwarded)
            elif cut.mode == "reads" and reads >= cut.limit:
                stop = len(data)
            piece = data if stop is None else data[:stop]
            cut.forwarded += piece
            writer.write(piece)
            await writer.drain()
            if stop is not None:
                self._cut(writer, cut)
                return

    def _cut(self, writer: asyncio.StreamWriter, cut: Cut) -> None:
        if cut.reset:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER with a zero timeout: close() sends RST rather than FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
        self.cuts.append(cut)
        self._cut_event.set()
