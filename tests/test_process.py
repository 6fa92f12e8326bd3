"""The installed service as a process: `python -m compliance_sse serve`, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable

import aiohttp
import pytest

from .conftest import form
from .polling import until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _started(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as session:

        async def answers() -> bool:
            assert proc.poll() is None, "the service exited at start-up"
            try:
                async with session.get(base + "/healthz") as resp:
                    return resp.status == 200
            except aiohttp.ClientConnectionError:
                return False

        await until(answers, limit_s=30, every_s=0.05, what="/healthz 200")


@pytest.mark.slow
@pytest.mark.parametrize("isolation", ["thread", "process"])
async def test_sigterm_closes_open_streams_with_a_comment_and_exits(
    pdf: Callable[[str], bytes], isolation: str
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "CSSE_PORT": str(port),
        "CSSE_EXTRACT_ISOLATION": isolation,
        "CSSE_EXTRACT_TIMEOUT_S": "5",
        "CSSE_HEARTBEAT_S": "0.5",
        "CSSE_DRAIN_S": "0",  # no drain: the streams close at once (tests/test_drain.py covers the drain)
    }
    proc = subprocess.Popen(  # noqa: ASYNC220 - a fork+exec, not a wait
        [sys.executable, "-m", "compliance_sse", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await _started(base, proc)
        # One slow page keeps pypdf busy for seconds: the job is mid-extraction when the signal comes.
        async with (
            aiohttp.ClientSession() as session,
            session.post(base + "/analyze_sse", data=form(pdf("slow-1-page"))) as resp,
        ):
            assert resp.status == 200
            seen = b""
            while b"event: heartbeat" not in seen:
                seen += await asyncio.wait_for(resp.content.readany(), 30)
            proc.send_signal(signal.SIGTERM)
            rest = await asyncio.wait_for(resp.content.read(), 30)
        assert b": server shutting down; reconnect with Last-Event-ID" in rest
        assert b"event: done" not in seen + rest
        assert await asyncio.to_thread(proc.wait, 30) == 0
        _out, err = proc.communicate(timeout=5)
        assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
