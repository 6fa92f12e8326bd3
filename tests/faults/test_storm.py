"""A reconnect storm: every client of a live job loses its connection at once, then comes back.

Each client is a raw asyncio socket that behaves as a browser's ``EventSource``: it waits the
``retry:`` the server sent, then reconnects with ``Last-Event-ID``. The server's ``retry:`` is
drawn per stream, so the clients do not all come back in the same instant. The default run has
1,000 clients; the ``soak`` variant 5,000.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from compliance_sse.app import create_app
from compliance_sse.settings import Settings
from compliance_sse.sse.parser import EventParser
from tests.conftest import GatedExecutor

from .conftest import HOST, Service, StartService, file_part, multipart_post, parse_head

RETRY_MS = 1000
LIMIT_S = 60.0


@dataclass
class StormClient:
    """One ``EventSource``-like client over HTTP/1.0 (the body ends at the close: no chunk framing)."""

    service: Service
    path: str
    parser: EventParser = field(default_factory=EventParser)
    ids: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    retries: list[int] = field(default_factory=list)
    back_at: float = 0.0

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(HOST, self.service.port)
        last = f"Last-Event-ID: {self.parser.last_event_id}\r\n" if self.parser.last_event_id else ""
        writer.write(f"GET {self.path} HTTP/1.0\r\nHost: t\r\n{last}\r\n".encode())
        status, _ = parse_head(await reader.readuntil(b"\r\n\r\n"))
        assert status == 200
        return reader, writer

    async def read_until(self, reader: asyncio.StreamReader, done: Callable[[], bool]) -> None:
        while not done():
            chunk = await reader.read(65536)
            if not chunk:
                return
            for event in self.parser.feed(chunk):
                self.ids.append(event.id or "")
                self.events.append(event.event)
            if self.parser.retry is not None and (not self.retries or self.retries[-1] != self.parser.retry):
                self.retries.append(self.parser.retry)

    async def first_leg(self) -> asyncio.StreamWriter:
        """Connect and read up to the first event (the ``job`` event); the connection stays open."""
        reader, writer = await self.connect()
        await self.read_until(reader, lambda: bool(self.ids))
        return writer

    async def second_leg(self, t0: float, clock: Callable[[], float]) -> None:
        """Wait the ``retry:`` as a browser does, reconnect with ``Last-Event-ID``, read to the end."""
        await asyncio.sleep(self.retries[-1] / 1000)
        reader, writer = await self.connect()
        self.back_at = clock() - t0
        try:
            await self.read_until(reader, lambda: False)
        finally:
            writer.close()


def _spread(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    buckets: dict[int, int] = {}
    for t in ordered:
        buckets[int(t * 10)] = buckets.get(int(t * 10), 0) + 1
    return {
        "first_s": ordered[0],
        "median_s": statistics.median(ordered),
        "last_s": ordered[-1],
        "peak_per_100ms": max(buckets.values()),
    }


async def _storm(start_service: StartService, n: int, pdf: bytes) -> dict[str, float]:
    executor = GatedExecutor()
    try:
        settings = Settings(heartbeat_s=30, retry_ms=RETRY_MS, max_uploads=4)
        service = await start_service(app=create_app(settings, extract_executor=executor))
        status, _, body = await service.request(_upload(pdf))
        assert status == 202, body
        job_id = body.split(b'"job_id":"')[1].split(b'"')[0].decode()
        clients = [StormClient(service, f"/jobs/{job_id}/events") for _ in range(n)]
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(LIMIT_S):
            opening = asyncio.Semaphore(200)  # the first connections are not the storm: open them steadily

            async def first(client: StormClient) -> asyncio.StreamWriter:
                async with opening:
                    return await client.first_leg()

            writers = await asyncio.gather(*(first(c) for c in clients))
            for writer in writers:  # every connection dies in the same instant, as in a network blip
                writer.transport.abort()
            t0 = loop.time()
            legs = [asyncio.ensure_future(c.second_leg(t0, loop.time)) for c in clients]
            await _all_back(clients, n)
            executor.gate.set()
            await asyncio.gather(*legs)
        full = clients[0].ids
        assert clients[0].events[-1] == "done"
        for client in clients:
            assert client.ids == full, "every event exactly once, in order, on every client"
        figures = _spread([c.back_at for c in clients])
        figures["retry_min_ms"] = min(c.retries[0] for c in clients)
        figures["retry_max_ms"] = max(c.retries[0] for c in clients)
        print(f"\nreconnect storm of {n}: {figures}", file=sys.stderr)
        return figures
    finally:
        executor.gate.set()
        executor.shutdown(wait=True)


async def _all_back(clients: list[StormClient], n: int) -> None:
    while sum(1 for c in clients if c.back_at) < n:  # noqa: ASYNC110 - the clients' own progress, no event
        await asyncio.sleep(0.05)


def _upload(pdf: bytes) -> bytes:
    return multipart_post("/jobs", file_part(pdf) + b"--B--\r\n")


def _check(figures: dict[str, float]) -> None:
    assert figures["retry_min_ms"] >= RETRY_MS, "never sooner than CSSE_RETRY_MS"
    assert figures["retry_max_ms"] - figures["retry_min_ms"] >= RETRY_MS / 2, "the retry: values are spread"


async def test_a_reconnect_storm_of_1000_clients_is_spread_and_loses_nothing(
    start_service: StartService, pdf: Callable[[str], bytes]
) -> None:
    _check(await _storm(start_service, 1000, pdf("s01")))


@pytest.mark.soak
async def test_a_reconnect_storm_of_5000_clients_is_spread_and_loses_nothing(
    start_service: StartService, pdf: Callable[[str], bytes]
) -> None:
    _check(await _storm(start_service, 5000, pdf("s01")))
