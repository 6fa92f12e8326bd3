"""The service on a real socket (127.0.0.1, a free port), and raw-socket clients for fault tests.

Fault tests talk to the service as hostile or unlucky peers do: through ``asyncio`` sockets that
send exactly the bytes they choose and read only when they choose. Every test is bounded in count
and time; the bigger variants carry the ``soak`` marker.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from compliance_sse.app import create_app
from compliance_sse.server import LISTEN_BACKLOG, ServiceRunner
from compliance_sse.settings import Settings

HOST = "127.0.0.1"


@dataclass
class Service:
    """A started service: its app (for in-process checks) and the port it listens on."""

    app: web.Application
    port: int

    async def request(self, raw: bytes, *, limit_s: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        """Send ``raw`` as it is; the answer's status, headers and ``Content-Length`` body."""
        reader, writer = await asyncio.open_connection(HOST, self.port)
        try:
            writer.write(raw)
            await writer.drain()
            async with asyncio.timeout(limit_s):
                status, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
                return status, headers, await reader.readexactly(int(headers.get("content-length", "0")))
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    return int(lines[0].split()[1]), headers


def get(path: str, *headers: str) -> bytes:
    """A ``GET`` request that closes its connection after the answer."""
    lines = [f"GET {path} HTTP/1.1", "Host: t", "Connection: close", *headers, "", ""]
    return "\r\n".join(lines).encode()


def multipart_post(path: str, body: bytes, *, boundary: str = "B", length: int | None = None) -> bytes:
    """A multipart ``POST`` whose ``Content-Length`` is ``length`` (default: the truth)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    )
    return head.encode() + body


def file_part(data: bytes, *, name: str = "file", boundary: str = "B") -> bytes:
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="a.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )


StartService = Callable[..., Awaitable[Service]]


@pytest.fixture
async def start_service() -> AsyncIterator[StartService]:
    """``await start_service(**settings)``: the app behind :class:`ServiceRunner`, as ``serve`` runs it."""
    runners: list[web.AppRunner] = []

    async def start(*, app: web.Application | None = None, **settings: Any) -> Service:
        app = app or create_app(Settings(**{"heartbeat_s": 30, **settings}))
        runner = ServiceRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=5)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, HOST, 0, backlog=LISTEN_BACKLOG)
        await site.start()
        server = site._server
        assert server is not None
        port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        return Service(app, port)

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


def small_receive_buffer(sock: socket.socket, size: int = 4096) -> None:
    """Shrink a client's receive window, so a peer that does not read fills it quickly."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


async def open_stream(
    service: Service, path: str, *headers: str, rcvbuf: int | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int]:
    """Send a ``GET`` over HTTP/1.0 (the body ends at the close); read its head, answer its status."""
    sock = socket.socket()
    if rcvbuf is not None:
        small_receive_buffer(sock, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (HOST, service.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write("\r\n".join([f"GET {path} HTTP/1.0", "Host: t", *headers, "", ""]).encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status, _ = parse_head(head)
    return reader, writer, status


async def read_to_end(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(20):
        return await reader.read()
