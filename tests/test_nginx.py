"""A real nginx, configured from deploy/nginx.conf, in front of the real service (issue 12).

The config is deploy/nginx.conf with only its ports, log path, read timeout and upload cap
changed (free ports, files under tmp_path, a read timeout of 1 s, a 4 MB cap matching the
service's), and nginx runs in the foreground with its own prefix and pid file.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from compliance_sse.sse.models import ServerSentEvent
from compliance_sse.sse.parser import EventParser

from .conftest import ROOT, form
from .polling import until
from .redis_server import free_port
from .test_process import _started

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("client_transports_collected"),
    # The service under test runs in another process; its own leaks are measured elsewhere. A client-side
    # transport of a stream the server ended is finalised after the test's loop has closed.
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <function _SelectorTransport.__del__:pytest.PytestUnraisableExceptionWarning"
    ),
    # Likewise the client's socket of an upload the gateway refused (413) while the body was still going out.
    pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"),
]
READ_TIMEOUT_S = 1
HEARTBEAT_S = 0.3


def nginx_config(service_port: int, nginx_port: int, tmp: Path) -> str:
    """deploy/nginx.conf, pointed at the test's ports and files; each replaced line must exist."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    edits = {
        r"server 127\.0\.0\.1:8000;": f"server 127.0.0.1:{service_port};",
        r"listen 8080;": f"listen 127.0.0.1:{nginx_port};",
        r"access_log /var/log/nginx/compliance-sse\.access\.log csse;": f"access_log {tmp}/access.log csse;",
        r"proxy_read_timeout 3600s;": f"proxy_read_timeout {READ_TIMEOUT_S}s;",
        r"client_max_body_size 10m;": "client_max_body_size 4m;",
        r"http \{": "http {\n"
        + "".join(
            f"    {kind}_temp_path {tmp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
    }
    for pattern, replacement in edits.items():
        text, count = re.subn(pattern, replacement, text, count=1)
        assert count == 1, f"deploy/nginx.conf no longer has {pattern!r}"
    return text


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, str, Path, subprocess.Popen[bytes]]]:
    """(nginx URL, service URL, nginx access log, service process)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is not installed (.ci/run installs it)"
    service_port, nginx_port = free_port(), free_port()
    env = {
        **os.environ,
        "CSSE_PORT": str(service_port),
        "CSSE_HEARTBEAT_S": str(HEARTBEAT_S),
        "CSSE_MAX_UPLOAD_MB": "4",
        "CSSE_EXTRACT_TIMEOUT_S": "60",
        "CSSE_CACHE_TTL_S": "0",
        # pypdf holds the GIL on a slow page: in a process the loop stays free to send heartbeats.
        "CSSE_EXTRACT_ISOLATION": "process",
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "compliance_sse", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    (tmp_path / "nginx.conf").write_text(nginx_config(service_port, nginx_port, tmp_path))
    globals_ = f"daemon off; pid {tmp_path}/nginx.pid;" + (" user root;" if os.geteuid() == 0 else "")
    proxy = subprocess.Popen(
        [
            nginx,
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "error.log"),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-g",
            globals_,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield f"http://127.0.0.1:{nginx_port}", f"http://127.0.0.1:{service_port}", tmp_path / "access.log", service
    finally:
        for proc in (proxy, service):
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()


def _ids(events: list[ServerSentEvent]) -> list[str]:
    return [e.id for e in events if e.id and e.event != "heartbeat"]


async def test_events_stream_through_nginx_one_by_one_heartbeats_keep_it_open_and_resume_works(
    gateway: tuple[str, str, Path, subprocess.Popen[bytes]], pdf: Callable[[str], bytes]
) -> None:
    via, direct, _log, service = gateway
    await _started(direct, service)
    await _started(via, service)
    async with aiohttp.ClientSession() as session:
        async with session.post(via + "/analyze_sse", data=form(pdf("slow-1-page"))) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
            job_id = resp.headers["X-Job-Id"]
            parser = EventParser()
            events: list[ServerSentEvent] = []
            while not any(e.event == "progress" for e in events):
                events += parser.feed(await asyncio.wait_for(resp.content.readany(), 30))
            # The first events came through while the job still runs: nginx does not hold them back.
            async with session.get(f"{direct}/jobs/{job_id}") as status:
                assert (await status.json())["status"] in ("queued", "running")
            async for chunk in resp.content.iter_any():
                events += parser.feed(chunk)
            events += parser.flush()
        heartbeats = [e for e in events if e.event == "heartbeat"]
        assert events[-1].event == "done", "the stream was cut before the job ended"
        # The page held the stream without an event for longer than nginx's read timeout.
        assert len(heartbeats) * HEARTBEAT_S > READ_TIMEOUT_S * 2
        ids = _ids(events)
        async with session.get(f"{via}/jobs/{job_id}/events", headers={"Last-Event-ID": ids[2]}) as resumed:
            assert resumed.status == 200
            tail = EventParser().feed(await resumed.content.read())
        assert _ids(tail) == ids[3:]


async def test_a_413_from_nginx_and_from_the_service_look_the_same(
    gateway: tuple[str, str, Path, subprocess.Popen[bytes]],
) -> None:
    via, direct, _log, service = gateway
    await _started(direct, service)
    await _started(via, service)
    body = b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024)
    answers = []
    async with aiohttp.ClientSession() as session:
        for base in (via, direct):
            async with session.post(base + "/jobs", data=form(body)) as resp:
                answers.append((resp.status, resp.content_type, await resp.json(), resp.headers["X-Request-Id"]))
    (s1, t1, b1, r1), (s2, t2, b2, r2) = answers
    assert s1 == s2 == 413 and t1 == t2 == "application/json"
    assert b1["code"] == b2["code"] == "upload_too_large"
    assert set(b1) == set(b2) == {"detail", "code", "request_id"}
    assert b1["request_id"] == r1 and b2["request_id"] == r2


async def test_the_request_id_is_the_same_in_nginx_s_log_ours_and_the_answer(
    gateway: tuple[str, str, Path, subprocess.Popen[bytes]],
) -> None:
    via, direct, log, service = gateway
    await _started(direct, service)
    await _started(via, service)
    async with aiohttp.ClientSession() as session:
        async with session.get(via + "/jobs/0123456789abcdef0123456789abcdef") as made:
            assert made.status == 404
            made_id = made.headers["X-Request-Id"]
            assert (await made.json())["request_id"] == made_id  # the id nginx made reached the service
        async with session.get(via + "/healthz", headers={"X-Request-Id": "client-chosen-1"}) as given:
            assert given.headers["X-Request-Id"] == "client-chosen-1"

    def logged() -> bool:  # nginx writes a request's line after the answer has gone out
        lines = log.read_text().splitlines()
        return any(f"rid={made_id} " in line and " 404 " in line for line in lines) and any(
            "rid=client-chosen-1 " in line for line in lines
        )

    await until(logged, limit_s=10, every_s=0.05, what="both requests in nginx's access log")
    service.terminate()  # our access log: the service's stderr, complete once it has exited
    _out, ours = await asyncio.to_thread(service.communicate, timeout=30)
    ours_lines = ours.decode(errors="replace").splitlines()
    assert any(made_id in line and "404" in line for line in ours_lines), ours_lines[-20:]
    assert any("client-chosen-1" in line for line in ours_lines), ours_lines[-20:]
