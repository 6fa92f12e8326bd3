"""Scale-out for real: two ``serve`` replicas and two ``worker`` processes on one Redis.

Each test starts the processes (``python -m compliance_sse``) on free ports with a key prefix
of its own, and stops them afterwards. The 10,000-page PDF keeps a job running long
enough (~10 s) to resume it elsewhere or to kill its worker; the tests poll the job's status,
under a deadline, rather than sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import redis

from compliance_sse.sse.models import ServerSentEvent
from compliance_sse.sse.parser import EventParser

from .conftest import event_ids, form, read_events
from .polling import until
from .redis_server import HOST, delete_prefix, free_port

pytestmark = pytest.mark.slow

HUGE = "huge-10000-pages"  # ~7 s in pypdf
_START_LIMIT_S = 30.0
_JOB_LIMIT_S = 120.0


class Cluster:
    """``serve`` replicas and ``worker`` processes sharing one Redis and one key prefix."""

    def __init__(self, redis_url: str, logs: Path) -> None:
        self.redis_url = redis_url
        self.prefix = f"csse-test:{uuid.uuid4().hex[:12]}"
        self.logs = logs
        self.servers: list[tuple[subprocess.Popen[bytes], str]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.redis = redis.Redis.from_url(redis_url)

    def _env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CSSE_", "GROQ_"))}
        env.update(
            CSSE_BROKER=self.redis_url,
            CSSE_REDIS_PREFIX=self.prefix,
            CSSE_ANALYZER="rules",
            CSSE_CLAIM_IDLE_S="1",
            CSSE_MAX_PAGES="10000",
            CSSE_EXTRACT_TIMEOUT_S="120",
            # pypdf holds the GIL for seconds opening a 10,000-page file; out of process, the loop
            # keeps the 1 s claims fresh (in thread mode, claim_idle_s must outlast such stalls).
            CSSE_EXTRACT_ISOLATION="process",
            CSSE_MAX_ACTIVE_JOBS="2",
            CSSE_SERVER_WORKER="0",  # only the workers run jobs, so the test knows where a job runs
            PYTHONUNBUFFERED="1",
            **extra,
        )
        return env

    def _spawn(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "compliance_sse", *args]
        with (self.logs / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            return subprocess.Popen(cmd, env=self._env(**env), stdout=log, stderr=subprocess.STDOUT)

    def start(self, servers: int = 2, workers: int = 2) -> None:
        for n in range(servers):
            port = free_port()
            self.servers.append((self._spawn(f"serve{n}", "serve", CSSE_PORT=str(port)), f"http://{HOST}:{port}"))
        for n in range(workers):
            self.workers.append(self._spawn(f"worker{n}", "worker", CSSE_WORKER_PORT=str(free_port())))

    async def wait_ready(self, session: aiohttp.ClientSession) -> None:
        for proc, url in self.servers:

            async def ready(proc: subprocess.Popen[bytes] = proc, url: str = url) -> bool:
                assert proc.poll() is None, self.log_tail()
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{url}/readyz") as resp:
                        return resp.status == 200
                return False

            await until(ready, limit_s=_START_LIMIT_S, every_s=0.05, what=f"{url}/readyz 200")
        for n, worker in enumerate(self.workers):

            def started(n: int = n, worker: subprocess.Popen[bytes] = worker) -> bool:
                assert worker.poll() is None, self.log_tail()
                return b"worker started" in (self.logs / f"worker{n}.log").read_bytes()

            await until(started, limit_s=_START_LIMIT_S, every_s=0.05, what=f"worker{n} started")

    def owner(self, job_id: str) -> int | None:
        """The pid of the worker holding the job's queue entry (consumer names are ``<host>-<pid>-<random>``)."""
        queue = f"{self.prefix}:queue"
        entries: Any = self.redis.xrange(queue)
        for entry_id, fields in entries:
            if fields[b"job"].decode() == job_id:
                pending: Any = self.redis.xpending_range(queue, "workers", entry_id, entry_id, 1)
                if pending:
                    return int(pending[0]["consumer"].decode().rsplit("-", 2)[1])
        return None

    def log_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(self.logs.glob("*.log")))

    def stop(self) -> None:
        procs = [p for p, _ in self.servers] + self.workers
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        delete_prefix(self.redis_url, self.prefix)
        self.redis.close()


@pytest.fixture
async def cluster(redis_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(redis_url, tmp_path)
    cluster.start()
    try:
        async with aiohttp.ClientSession() as session:
            await cluster.wait_ready(session)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_JOB_LIMIT_S)) as session:
        yield session


async def _submit(session: aiohttp.ClientSession, base: str, body: bytes) -> str:
    async with session.post(f"{base}/jobs", data=form(body)) as resp:
        assert resp.status == 202, await resp.text()
        return str((await resp.json())["job_id"])


async def _status(session: aiohttp.ClientSession, base: str, job_id: str) -> dict[str, Any]:
    async with session.get(f"{base}/jobs/{job_id}") as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def _until_status(
    session: aiohttp.ClientSession, base: str, job_id: str, ok: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        status = await _status(session, base, job_id)
        if ok(status):
            return status
        assert status["status"] not in ("done", "failed"), status
        return None

    # Another process's job: polled every 50 ms.
    status: dict[str, Any] = await until(reached, limit_s=_JOB_LIMIT_S, every_s=0.05, what=f"job {job_id}'s status")
    return status


async def _events(session: aiohttp.ClientSession, url: str, last_id: str | None = None) -> list[ServerSentEvent]:
    headers = {"Last-Event-ID": last_id} if last_id else {}
    async with session.get(url, headers=headers) as resp:
        assert resp.status == 200
        return await read_events(resp)


def _check_complete(events: list[ServerSentEvent], pages: int) -> None:
    """No gap, no duplicate: ids strictly increase, each page was extracted once, percent never fell."""
    ids = [tuple(int(p) for p in i.split("-")) for i in event_ids(events)]
    assert ids == sorted(set(ids)), "ids strictly increase"
    assert [e.event for e in events[:2]] == ["job", "progress"] and events[-1].event == "done"
    progress = [orjson.loads(e.data) for e in events if e.event == "progress"]
    extracted = [p["page"] for p in progress if p["stage"] == "extract" and p["page"]]
    assert extracted == list(range(1, pages + 1)), "every page once, in order"
    percents = [p["percent"] for p in progress]
    assert percents == sorted(percents)
    assert orjson.loads(events[-1].data)["page_count"] == pages


async def test_a_stream_read_on_replica_a_resumes_on_replica_b_without_gap_or_duplicate(
    cluster: Cluster, session: aiohttp.ClientSession, pdf: Callable[[str], bytes]
) -> None:
    (_, a), (_, b) = cluster.servers
    job_id = await _submit(session, a, pdf(HUGE))
    parser, head = EventParser(), []
    async with session.get(f"{a}/jobs/{job_id}/events") as resp:
        async for chunk in resp.content.iter_any():
            head += parser.feed(chunk)  # keep all parsed: the parser's last id is the last one's
            if sum(e.event == "progress" and b'"extract"' in e.data.encode() for e in head) >= 50:
                break
    assert head[-1].event != "done", "the job is still running when the client moves"
    rest = await _events(session, f"{b}/jobs/{job_id}/events", parser.last_event_id)
    full = await _events(session, f"{a}/jobs/{job_id}/events")
    assert [(e.id, e.event, e.data) for e in head + rest] == [(e.id, e.event, e.data) for e in full]
    _check_complete(full, 10_000)


async def test_a_worker_killed_mid_job_leaves_the_job_finished_by_the_other(
    cluster: Cluster, session: aiohttp.ClientSession, pdf: Callable[[str], bytes]
) -> None:
    (_, a), (_, b) = cluster.servers
    job_id = await _submit(session, a, pdf(HUGE))
    live = asyncio.create_task(_events(session, f"{b}/jobs/{job_id}/events"))  # follows across the crash
    await _until_status(session, b, job_id, lambda s: s["status"] == "running" and s["percent"] >= 20)
    victim = cluster.owner(job_id)
    assert victim in {w.pid for w in cluster.workers}, "the job runs on one of our workers"
    os.kill(victim, signal.SIGKILL)
    (dead,) = [w for w in cluster.workers if w.pid == victim]
    dead.wait(timeout=10)
    events = await asyncio.wait_for(live, _JOB_LIMIT_S)
    _check_complete(events, 10_000)
    status = await _status(session, a, job_id)
    assert status["status"] == "done" and status["percent"] == 100.0
    survivor = next(w.pid for w in cluster.workers if w.pid != victim)
    assert cluster.redis.xlen(f"{cluster.prefix}:queue") == 0, "acknowledged by the survivor"
    assert next(w for w in cluster.workers if w.pid == survivor).poll() is None
    replay = await _events(session, f"{a}/jobs/{job_id}/events")
    assert [(e.id, e.data) for e in replay] == [(e.id, e.data) for e in events]


async def test_a_worker_stopped_with_sigterm_finishes_or_hands_over_its_job(
    cluster: Cluster, session: aiohttp.ClientSession, pdf: Callable[[str], bytes]
) -> None:
    (_, a), _ = cluster.servers
    job_id = await _submit(session, a, pdf(HUGE))
    live = asyncio.create_task(_events(session, f"{a}/jobs/{job_id}/events"))
    await _until_status(session, a, job_id, lambda s: s["status"] == "running" and s["percent"] >= 20)
    owner = cluster.owner(job_id)
    (stopping,) = [w for w in cluster.workers if w.pid == owner]
    stopping.send_signal(signal.SIGTERM)
    events = await asyncio.wait_for(live, _JOB_LIMIT_S)
    _check_complete(events, 10_000)
    assert "error" not in [e.event for e in events]
    assert await asyncio.to_thread(stopping.wait, 30) == 0


async def test_a_repeated_upload_is_served_from_the_cache(
    cluster: Cluster, session: aiohttp.ClientSession, pdf: Callable[[str], bytes]
) -> None:
    (_, a), (_, b) = cluster.servers
    first = await _events(session, f"{a}/jobs/{await _submit(session, a, pdf('s03'))}/events")
    assert first[-1].event == "done"
    job_id = await _submit(session, b, pdf("s03"))
    again = await _events(session, f"{b}/jobs/{job_id}/events")
    stages = [orjson.loads(e.data)["stage"] for e in again if e.event == "progress"]
    assert stages == ["report"], "no worker ran it"
    report, cached = orjson.loads(first[-1].data), orjson.loads(again[-1].data)
    assert cached["cached"] is True and cached["job_id"] == job_id
    assert {k: v for k, v in cached.items() if k not in ("job_id", "cached")} == {
        k: v for k, v in report.items() if k != "job_id"
    }
    assert [orjson.loads(e.data)["id"] for e in again if e.event == "flag"] == [f["id"] for f in report["flags"]]
