"""Hold N idle event streams open against one server and time the heartbeats they receive.

    python bench/idle_client.py --port P --path /jobs/idle/events --n 10000 --marker ': ping' \
        --heartbeat 15 --beats 3

A bare asyncio protocol per connection (no HTTP client objects), so this process stays light and the
figures are the server's. Prints ``connected <n>`` once every stream has its first bytes, then one JSON
line: ``gaps_ms`` (each gap between two heartbeats of a stream, minus the interval), ``failed``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import raise_fd_limit


class _Stream(asyncio.Protocol):
    def __init__(self, request: bytes, marker: bytes, beats: int, done: asyncio.Event) -> None:
        self.request, self.marker, self.beats, self.done = request, marker, beats, done
        self.first = asyncio.get_running_loop().create_future()
        self.times: list[float] = []
        self.tail = b""
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.first.done():
            self.first.set_result(None)
        buf = self.tail + data
        hits = buf.count(self.marker)
        self.tail = buf[-len(self.marker) + 1 :]
        self.times.extend([now] * hits)
        if len(self.times) >= self.beats:
            self.done.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.first.done():
            self.first.set_result(None)


async def run(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    request = f"GET {args.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
    marker = args.marker.encode()
    streams: list[_Stream] = []
    transports: list[asyncio.BaseTransport] = []
    started = time.monotonic()
    for i in range(0, args.n, args.batch):
        batch = [_Stream(request, marker, args.beats, asyncio.Event()) for _ in range(min(args.batch, args.n - i))]
        made = await asyncio.gather(
            *(loop.create_connection(lambda s=s: s, "127.0.0.1", args.port) for s in batch), return_exceptions=True
        )
        for s, result in zip(batch, made, strict=True):
            if isinstance(result, tuple):
                streams.append(s)
                transports.append(result[0])
        await asyncio.gather(*(s.first for s in batch if s in streams))
    connect_s = time.monotonic() - started
    alive = [s for s in streams if not s.closed]
    print(f"connected {len(alive)} {connect_s:.2f}", flush=True)
    deadline = time.monotonic() + (args.beats + 1) * args.heartbeat + 15
    for s in alive:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            await asyncio.wait_for(s.done.wait(), remaining)
        except TimeoutError:
            break
    gaps = [(b - a - args.heartbeat) * 1000 for s in alive for a, b in zip(s.times, s.times[1:], strict=False)]
    complete = sum(1 for s in alive if len(s.times) >= args.beats)
    print(json.dumps({"connected": len(alive), "connect_s": connect_s, "complete": complete, "gaps_ms": gaps}))
    for t in transports:
        t.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--marker", required=True)
    parser.add_argument("--heartbeat", type=float, required=True)
    parser.add_argument("--beats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=250)
    args = parser.parse_args()
    raise_fd_limit()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
