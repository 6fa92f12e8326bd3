"""The real service under extraction load: /healthz latency and time to the first event.

Starts `python -m compliance_sse serve` as a subprocess for each extraction mode, then, from this
(separate) process:

1. time to first event: POST /analyze_sse with a 1-page and a 300-page PDF, measuring the time from
   sending the request to receiving the `job` event and to the first `extract` page event;
2. /healthz under load: two 300-page PDFs are submitted through POST /jobs and followed to `done`
   while one connection sends /healthz back to back; p50/p99/max of those requests.

Each configuration runs --runs times; the table gives the median and the spread (min-max). Writes
bench/out/service_latency.json and, with matplotlib installed, docs/img/healthz_latency.png.

    .venv/bin/python bench/service_latency.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, make_document
from extract_latency import CORPUS, OUT

from compliance_sse.sse.parser import EventParser

ROOT = Path(__file__).resolve().parents[1]
MODES = {
    "thread": {"CSSE_EXTRACT_ISOLATION": "thread"},
    "process": {"CSSE_EXTRACT_ISOLATION": "process"},
}


async def start_server(env_extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "CSSE_PORT": str(port),
        "CSSE_EXTRACT_TIMEOUT_S": "300",
        "CSSE_MAX_ANALYZE_CHARS": "5000000",
        **env_extra,
    }
    cmd = [sys.executable, "-m", "compliance_sse", "serve"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)  # noqa: ASYNC220 - a fork+exec, not a wait
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(base + "/healthz") as resp:
                    if resp.status == 200:
                        return proc, base
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    proc.kill()
    raise RuntimeError("the service did not start")


def upload(pdf: bytes, name: str) -> aiohttp.FormData:
    import io

    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(pdf), filename=name, content_type="application/pdf")
    return form


async def first_events(session: aiohttp.ClientSession, base: str, pdf: bytes) -> tuple[float, float]:
    """Seconds from sending the upload to the `job` event and to the first extracted page."""
    parser = EventParser()
    start = time.perf_counter()
    first_job = first_page = 0.0
    async with session.post(base + "/analyze_sse", data=upload(pdf, "doc.pdf")) as resp:
        async for chunk in resp.content.iter_any():
            for event in parser.feed(chunk):
                now = time.perf_counter() - start
                if event.event == "job" and not first_job:
                    first_job = now
                if event.event == "progress" and '"page":1,' in event.data and not first_page:
                    first_page = now
            if first_page:
                break
    return first_job, first_page


async def follow(session: aiohttp.ClientSession, base: str, url: str) -> None:
    parser = EventParser()
    async with session.get(base + url) as resp:
        async for chunk in resp.content.iter_any():
            if any(e.event in ("done", "error") for e in parser.feed(chunk)):
                return


async def healthz_under_load(base: str, pdf: bytes) -> dict[str, float]:
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session, aiohttp.ClientSession() as probe:
        for _ in range(20):
            async with probe.get(base + "/healthz") as resp:
                await resp.read()
        jobs = []
        for i in range(2):
            async with session.post(base + "/jobs", data=upload(pdf, f"big{i}.pdf")) as resp:
                jobs.append((await resp.json())["events_url"])
        started = time.perf_counter()
        followers = asyncio.gather(*(follow(session, base, url) for url in jobs))
        while not followers.done():
            t0 = time.perf_counter()
            async with probe.get(base + "/healthz") as resp:
                await resp.read()
            latencies.append((time.perf_counter() - t0) * 1000)
        await followers
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max": latencies[-1],
        "n": len(latencies),
        "wall_s": wall,
    }


async def run(runs: int) -> dict[str, Any]:
    big = make_document(300)
    small = (CORPUS / "pdfs" / "s01_minimal-document.pdf").read_bytes()
    results: dict[str, Any] = {}
    for mode, env in MODES.items():
        rows: list[dict[str, float]] = []
        for _ in range(runs):
            proc, base = await start_server(env)
            try:
                async with aiohttp.ClientSession() as session:
                    small_job, small_page = await first_events(session, base, small)
                    big_job, big_page = await first_events(session, base, big)
                load = await healthz_under_load(base, big)
                rows.append(
                    {
                        **load,
                        "first_event_1p_ms": small_job * 1000,
                        "first_page_1p_ms": small_page * 1000,
                        "first_event_300p_ms": big_job * 1000,
                        "first_page_300p_ms": big_page * 1000,
                    }
                )
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        results[mode] = rows
    return results


def summarise(results: dict[str, Any]) -> str:
    keys = [
        "p50",
        "p99",
        "max",
        "wall_s",
        "first_event_1p_ms",
        "first_page_1p_ms",
        "first_event_300p_ms",
        "first_page_300p_ms",
    ]
    lines = ["| mode | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for mode, rows in results.items():
        cells = []
        for key in keys:
            values = [r[key] for r in rows]
            cells.append(f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})")
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(6, 3.2))
    modes = list(results)
    for i, stat in enumerate(("p50", "p99", "max")):
        meds = [statistics.median(r[stat] for r in results[m]) for m in modes]
        lows = [meds[j] - min(r[stat] for r in results[m]) for j, m in enumerate(modes)]
        highs = [max(r[stat] for r in results[m]) - meds[j] for j, m in enumerate(modes)]
        xs = [j + (i - 1) * 0.25 for j in range(len(modes))]
        ax.bar(xs, meds, width=0.25, yerr=[lows, highs], capsize=3, label=stat)
    ax.set_xticks(range(len(modes)), [f"{m} isolation" for m in modes])
    ax.set_ylabel("/healthz latency (ms)")
    ax.set_title("/healthz while two 300-page PDFs are analysed")
    ax.axhline(50, color="grey", lw=0.8, ls="--")
    ax.axhline(10, color="grey", lw=0.8, ls=":")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(run(args.runs))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "service_latency.json").write_text(json.dumps(results, indent=1))
    print(summarise(results))
    plot(results, ROOT / "docs" / "img" / "healthz_latency.png")


if __name__ == "__main__":
    main()
