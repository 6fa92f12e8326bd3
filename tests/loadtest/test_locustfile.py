"""The locustfile runs for a few seconds against a real server, so it cannot rot."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpServer

from compliance_sse.app import create_app
from compliance_sse.settings import Settings
from tests.conftest import ROOT

# locust is never imported here: it monkey-patches the standard library (gevent) when imported.


@pytest.mark.slow
async def test_locustfile_uploads_follows_resumes_and_loses_nothing(aiohttp_server: AiohttpServer) -> None:
    server = await aiohttp_server(create_app(Settings(analyzer="rules", heartbeat_s=30)))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "loadtest" / "locustfile.py"),
        "--headless",
        "-u",
        "4",
        "-r",
        "4",
        "-t",
        "4s",
        "--stop-timeout",
        "10",
        "--only-summary",
        "--host",
        f"http://127.0.0.1:{server.port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"LOADTEST_DROP_SHARE": "1", "PATH": "/usr/bin:/bin"},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, text
    summary = next(line for line in text.splitlines() if line.startswith("compliance-sse load test:"))
    words = summary.split(": ", 1)[1].split()
    jobs, resumed = int(words[0]), int(words[3])
    assert jobs > 0 and resumed > 0, text
    assert "lost events 0, repeated events 0" in summary
    for name in ("first event", "done", "events", "reconnect", "POST     /jobs"):
        assert name in text, f"{name!r} missing from locust's table"


def test_the_load_run_renders_locusts_figures_and_the_loss_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make load --write-docs``: locust's stats CSV and the locustfile's summary line become the docs' block."""
    spec = importlib.util.spec_from_file_location("load_run", ROOT / "loadtest" / "run.py")
    assert spec is not None and spec.loader is not None
    load_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load_run)
    header = "Type,Name,Request Count,Failure Count,Max Response Time,50%,95%,99%"
    (tmp_path / "load_stats.csv").write_text(
        f"{header}\nPOST,/jobs,368,0,45.5,3,8,26\n,Aggregated,368,0,45.5,3,8,N/A\n"
    )
    monkeypatch.setattr(load_run, "CSV", tmp_path / "load")
    args = load_run.argparse.Namespace(users=20, spawn_rate=5.0, time="60s", model_delay=2.0)
    summary = (
        "compliance-sse load test: 368 jobs checked, 114 resumed with Last-Event-ID, lost events 0, repeated events 2"
    )
    block = load_run.table(args, "2026-12-06 01:55 UTC", 1.3, summary)
    assert "| POST | /jobs | 368 | 0 | 3 | 8 | 26 | 46 |" in block
    assert "|  | Aggregated | 368 | 0 | 3 | 8 | n/a | 46 |" in block
    assert "368 jobs checked, 114 of them resumed with `Last-Event-ID`: 0 events lost, 2 repeated." in block
