"""Serve the tests' Groq stand-in (chat completions with a fixed delay) on 127.0.0.1, for benchmarks.

    python bench/fakegroq_server.py --port 8100 --delay 2

The service and the seed's design both reach it through the
real groq SDK with ``GROQ_BASE_URL=http://127.0.0.1:<n>``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakegroq import FakeGroq


async def serve(port: int, delay_s: float) -> None:
    runner = web.AppRunner(FakeGroq(delay_s=delay_s).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds the model takes per request")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.delay))


if __name__ == "__main__":
    main()
