"""``make load``: the service with the local Groq stand-in on loopback, under locust, for a bounded time.

    python loadtest/run.py [--users 20] [--spawn-rate 5] [--time 60s] [--model-delay 2] [--write-docs]

Starts bench/fakegroq_server.py (chat completions answering after ``--model-delay`` s) and
``compliance-sse serve`` with the groq analyzer pointed at it, both on 127.0.0.1 and free ports, runs
``locust --headless`` with loadtest/locustfile.py, and stops both. Locust prints its table and the
locustfile the lost/repeated event count; the exit status is locust's (1 if an event was lost).
``--write-docs`` (what ``make load`` passes) also puts the run's table in docs/BENCHMARKS.md ("Load test") and
its plot in docs/img/load.png, from locust's CSV files (bench/out/load_*.csv).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from common import IMG, OUT, PY, free_port, spawn, stop, wait_http  # noqa: E402 - bench/ is put on the path above

CSV = OUT / "load"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- load:start -->", "<!-- load:end -->"
SHOWN = {"/jobs": "upload (POST /jobs)", "first event": "first event", "done": "whole job (done)"}
"""The series the plot shows: the upload, its first event, and the whole job."""


async def main_async(args: argparse.Namespace) -> int:
    groq_port, port = free_port(), free_port()
    groq = spawn(
        [PY, str(ROOT / "bench" / "fakegroq_server.py"), "--port", str(groq_port), "--delay", str(args.model_delay)]
    )
    env = {
        "CSSE_PORT": str(port),
        "CSSE_ANALYZER": "groq",
        "GROQ_API_KEY": "loadtest",
        "GROQ_BASE_URL": f"http://127.0.0.1:{groq_port}",
    }
    server = spawn([PY, "-m", "compliance_sse", "serve"], env)
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz", server)
        cmd = [
            PY,
            "-m",
            "locust",
            "-f",
            str(ROOT / "loadtest" / "locustfile.py"),
            "--headless",
            "-u",
            str(args.users),
            "-r",
            str(args.spawn_rate),
            "-t",
            args.time,
            "--host",
            f"http://127.0.0.1:{port}",
            "--only-summary",
            "--stop-timeout",
            "30",
            "--csv",
            str(CSV),
            "--csv-full-history",
        ]
        CSV.parent.mkdir(parents=True, exist_ok=True)
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        load = os.getloadavg()[0]
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
        summary = ""
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode(errors="replace")
            sys.stdout.write(line)
            if "lost events" in line:
                summary = line.strip()
        code = await proc.wait()
    finally:
        stop(server)
        stop(groq)
    if args.write_docs:
        write_docs(args, started, load, summary)
    return code


def _ms(value: str) -> str:
    return "n/a" if value in ("", "N/A") else f"{float(value):,.0f}"


def table(args: argparse.Namespace, started: str, load: float, summary: str) -> str:
    """The block for docs/BENCHMARKS.md: the run's settings, locust's figures per request name, the loss count."""
    with open(f"{CSV}_stats.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    out = [
        f"Run {started}, load average {load:.1f} at its start: {args.users} users spawned at {args.spawn_rate:g}/s for "
        f"{args.time}, Groq stand-in answering in {args.model_delay:g} s, memory broker, one `serve` process.",
        "",
        "| type | name | requests | failures | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['Type'] or ''} | {r['Name']} | {int(r['Request Count']):,} | {int(r['Failure Count']):,} | "
            f"{_ms(r['50%'])} | {_ms(r['95%'])} | {_ms(r['99%'])} | {_ms(r['Max Response Time'])} |"
        )
    found = re.search(r"(\d+) jobs checked, (\d+) resumed.*lost events (\d+), repeated events (\d+)", summary)
    if found:
        jobs, resumed, lost, repeated = found.groups()
        out += [
            "",
            f"{jobs} jobs checked, {resumed} of them resumed with `Last-Event-ID`: {lost} events lost, "
            f"{repeated} repeated.",
        ]
    out += [
        "",
        "Percentiles are locust's (rounded to two significant figures), so a p99 may show above the max.",
        "",
        "![load test](img/load.png)",
    ]
    return "\n".join(out)


def plot() -> None:
    """p50 of the upload, the first event and the whole job, and the requests per second, over the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(f"{CSV}_stats_history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    t0 = int(rows[0]["Timestamp"])
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, label in SHOWN.items():
        points = [
            (int(r["Timestamp"]) - t0, float(r["50%"]))
            for r in rows
            if r["Name"] == name and r["50%"] not in ("N/A", "") and float(r["50%"]) > 0
        ]
        if points:
            ax.plot(*zip(*points, strict=True), label=f"{label} p50 (ms)")
    ax.set_yscale("log")
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("ms (log)")
    rate = ax.twinx()
    agg = [(int(r["Timestamp"]) - t0, float(r["Requests/s"])) for r in rows if r["Name"] == "Aggregated"]
    if agg:
        rate.plot(*zip(*agg, strict=True), color="grey", linestyle=":", label="requests/s (all)")
    rate.set_ylabel("requests/s")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "load.png", dpi=100)
    plt.close(fig)


def write_docs(args: argparse.Namespace, started: str, load: float, summary: str) -> None:
    text = DOCS.read_text()
    if START not in text:
        text = text.rstrip() + f"\n\n## Load test (`make load`)\n\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    _old, after = rest.split(END, 1)
    DOCS.write_text(f"{before}{START}\n{table(args, started, load, summary)}\n{END}{after}")
    plot()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--time", default="60s", help="locust's run time, e.g. 60s or 5m")
    parser.add_argument("--model-delay", type=float, default=2.0, help="seconds the Groq stand-in takes to answer")
    parser.add_argument("--write-docs", action="store_true", help="the table and plot into docs/BENCHMARKS.md")
    args = parser.parse_args()
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
