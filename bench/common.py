"""Helpers shared by the comparison benchmarks: processes, ports, statistics, the event sequence."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = BENCH / "out"
IMG = ROOT / "docs" / "img"
PY = sys.executable


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit (10,000 idle sockets need it); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """Poll ``url`` until it answers 2xx; raise if the process died or the time is up."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
            try:
                async with session.get(url) as resp:
                    if resp.status < 300:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


def spawn(args: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a benchmark process (its stderr goes to bench/out/<name>.log)."""
    OUT.mkdir(parents=True, exist_ok=True)
    log = open(OUT / f"{Path(args[1]).stem if len(args) > 1 else 'proc'}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(list(args), env={**os.environ, **(env or {})}, stdout=log, stderr=log)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; ``nan`` for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def med(values: Sequence[float]) -> str:
    """Median with the spread (min-max) in brackets."""
    if not values:
        return "n/a"
    fmt = _fmt(statistics.median(values))
    return f"{fmt} ({_fmt(min(values))}-{_fmt(max(values))})" if len(values) > 1 else fmt


def _fmt(x: float) -> str:
    if x != x:  # nan
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def event_sequence(n: int) -> list[tuple[str, str, bytes]]:
    """``n`` events shaped like a job's: ``job``, ``progress`` per page, a ``flag`` every 50, ``done``."""
    events: list[tuple[str, str, bytes]] = [("job", "1", orjson.dumps({"job_id": "bench", "events_url": "/x"}))]
    for i in range(2, n):
        if i % 50 == 0:
            body = {"id": f"f{i}", "category": "aml", "title": "Cash payment", "severity": 4, "evidence": []}
            events.append(("flag", str(i), orjson.dumps(body)))
        else:
            body = {
                "stage": "extract",
                "message": f"Extracted page {i} of {n}",
                "percent": round(100 * i / n, 1),
                "eta_s": 1.5,
                "page": i,
                "pages": n,
            }
            events.append(("progress", str(i), orjson.dumps(body)))
    events.append(("done", str(n), orjson.dumps({"summary": "done", "overall_risk": 0.4, "flags": []})))
    return events


def corpus_dir() -> Path:
    """The PDF corpus: ``CSSE_CORPUS``, else the vendored tests/corpus, else ../shared/corpus."""
    for candidate in (os.environ.get("CSSE_CORPUS"), ROOT / "tests" / "corpus", ROOT.parent / "shared" / "corpus"):
        if candidate and (Path(candidate) / "manifest.json").exists():
            return Path(candidate)
    raise RuntimeError("no PDF corpus: set CSSE_CORPUS")


_WORDS = (  # noqa: SIM905 - a word list reads better as prose
    "agreement party supplier customer services payment invoice delivery term termination notice liability "
    "confidential information schedule clause obligation warranty indemnity audit records jurisdiction law "
    "dispute arbitration fee currency transfer account period renewal data processing security incident cash"
).split()


def make_document(pages: int, seed: int = 7) -> bytes:
    """A ``pages``-page contract-like PDF, each page with its own ~2,500 characters (cached in bench/out)."""
    path = OUT / f"unique-{pages}-pages-{seed}.pdf"
    if not path.exists():
        import random

        from fpdf import FPDF

        rng = random.Random(seed)
        pdf = FPDF()
        pdf.set_font("Helvetica", size=10)
        for number in range(1, pages + 1):
            pdf.add_page()
            pdf.multi_cell(0, 5, f"Section {number}", new_x="LMARGIN", new_y="NEXT")
            for _ in range(14):
                sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(12, 30)))
                pdf.multi_cell(0, 5, f"{number}.{rng.randint(1, 99)} The {sentence}.", new_x="LMARGIN", new_y="NEXT")
        OUT.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(pdf.output()))
    return path.read_bytes()
