"""How responsive is the event loop while pypdf extracts text? /healthz latency under load.

Builds a ~300-page text PDF (the 4 pages of tests/corpus s03 repeated) in bench/out/, serves a
tiny aiohttp app in this process (GET /healthz, POST /extract), extracts two such PDFs at once
through the :class:`Extractor` while one client sends /healthz requests back to back over
loopback, and prints /healthz p50/p99/max (ms) for each configuration: median of the runs and
their spread (min-max). The client shares the server's loop, so its numbers are the loop's lag.

    PYTHONPATH=src .venv/bin/python bench/extract_latency.py [--runs 3] [--switch 0.0005 0.002]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pypdf import PdfReader, PdfWriter

from compliance_sse.keys import EXTRACTOR
from compliance_sse.pipeline.extract import DEFAULT_SWITCH_INTERVAL_S, Extractor, switch_interval

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
OUT = ROOT / "bench" / "out"


def make_pdf(pages: int = 300) -> bytes:
    """The 4 pages of s03 repeated up to ``pages`` pages, cached in bench/out/."""
    path = OUT / f"text-{pages}-pages.pdf"
    if not path.exists():
        source = PdfReader(CORPUS / "pdfs" / "s03_pdflatex-4-pages.pdf")
        writer = PdfWriter()
        for i in range(pages):
            writer.add_page(source.pages[i % len(source.pages)])
        OUT.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            writer.write(f)
    return path.read_bytes()


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def extract(request: web.Request) -> web.Response:
    pages = 0
    async with request.app[EXTRACTOR].open(await request.read()) as ex:
        async for _ in ex:
            pages += 1
    return web.json_response({"pages": pages})


async def run_once(config: dict[str, Any], pdf: bytes) -> dict[str, float]:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/extract", extract)
    config = dict(config)
    interval = config.pop("switch_interval", DEFAULT_SWITCH_INTERVAL_S if config["isolation"] == "thread" else None)
    stack = contextlib.ExitStack()
    stack.enter_context(switch_interval(interval))  # what the app does for its whole life
    extractor = Extractor(timeout_s=300, **config)
    app[EXTRACTOR] = extractor
    await extractor.start()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    latencies: list[float] = []
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as client:
            for _ in range(20):  # warm up the connection pool and the handlers
                async with client.get("/healthz") as resp:
                    await resp.read()
            done = asyncio.Event()

            async def hammer() -> None:
                while not done.is_set():
                    start = time.perf_counter()
                    async with client.get("/healthz") as resp:
                        await resp.read()
                    latencies.append((time.perf_counter() - start) * 1000)

            async def post() -> None:
                async with client.post("/extract", data=pdf) as resp:
                    assert (await resp.json())["pages"] == 300, await resp.text()

            task = asyncio.create_task(hammer())
            start = time.perf_counter()
            await asyncio.gather(post(), post())
            wall = time.perf_counter() - start
            done.set()
            await task
    finally:
        await runner.cleanup()
        await extractor.close()
        stack.close()
    q = statistics.quantiles(latencies, n=100)
    return {"p50": q[49], "p99": q[98], "max": max(latencies), "n": len(latencies), "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--switch", type=float, nargs="*", default=[], help="extra switch intervals (s) to try")
    args = parser.parse_args()
    pdf = make_pdf()
    configs: dict[str, dict[str, Any]] = {
        "thread, switch interval untouched (5 ms)": {"isolation": "thread", "switch_interval": None},
        f"thread, switch interval {DEFAULT_SWITCH_INTERVAL_S * 1000:g} ms (default)": {"isolation": "thread"},
        **{
            f"thread, switch interval {s * 1000:g} ms": {"isolation": "thread", "switch_interval": s}
            for s in args.switch
        },
        "process (2 workers)": {"isolation": "process"},
    }
    print(f"two {len(pdf) // 1024} KiB 300-page PDFs at once, {args.runs} runs each, {os.cpu_count()} cores")
    print(f"{'configuration':40} {'p50 ms':>17} {'p99 ms':>19} {'max ms':>19} {'requests':>19} {'wall s':>16}")
    for name, config in configs.items():
        runs = [asyncio.run(run_once(config, pdf)) for _ in range(args.runs)]
        cells = []
        for key in ("p50", "p99", "max", "n", "wall"):
            values = sorted(r[key] for r in runs)
            fmt = ".0f" if key == "n" else ".1f"
            cells.append(f"{statistics.median(values):{fmt}} ({values[0]:{fmt}}-{values[-1]:{fmt}})")
        print(f"{name:40} {cells[0]:>17} {cells[1]:>19} {cells[2]:>19} {cells[3]:>19} {cells[4]:>16}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
