"""The locustfile runs for a few seconds against a real server, so it cannot rot."""

from __future__ import annotations

import asyncio
import sys

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
