"""How many idle SSE listeners can one process hold on Redis, and what does each cost?

Compares the two live tails of :class:`~compliance_sse.eventlog.redis.RedisEventLog`:
``shared`` (one ``XREAD BLOCK`` connection per process fans out to every listener) and
``per_listener`` (each listener blocks in ``XREAD`` on a connection of its own). For each
design and each count it runs a fresh child process against a ``redis-server`` of its own
(loopback, started and stopped here), which:

1. creates N jobs (one listener per job, the realistic case: every client follows its own job),
2. starts N readers on ``read(job_id)``, 500 at a time, until every one has replayed and waits live,
3. measures the process's RSS growth, the Redis connections it holds, Redis's memory for
   client buffers, and the commands Redis serves per second while everyone idles (5 s),
4. appends one event to every job and measures how long until every listener has it,
5. ends every job and checks every listener got exactly its events.

    .venv/bin/python bench/listeners.py [--counts 1000 10000] [--designs shared per_listener] [--write]

``--write`` replaces the "## Idle listeners" section of docs/BENCHMARKS.md with the table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "docs" / "BENCHMARKS.md"
HEADING = "## Idle listeners"
IDLE_S = 5.0
CHILD_LIMIT_S = 300.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _until(predicate: Any, limit_s: float) -> None:
    async with asyncio.timeout(limit_s):
        while not await predicate():  # noqa: ASYNC110 - polling Redis's counters and our own
            await asyncio.sleep(0.05)


def _job_ids(count: int) -> list[str]:
    return [f"{n:032x}" for n in range(count)]


async def populate(url: str, prefix: str, count: int) -> None:
    """Create the jobs, each with its ``job`` event, from another process than the one measured."""
    from compliance_sse.eventlog.base import JobRecord
    from compliance_sse.eventlog.redis import RedisEventLog
    from compliance_sse.eventlog.redis_connection import connect

    writer = RedisEventLog(connect(url), owns_client=True, prefix=prefix)
    job_ids = _job_ids(count)
    for start in range(0, count, 500):
        batch = job_ids[start : start + 500]
        await asyncio.gather(*(writer.create_job(JobRecord(job_id=j, tenant="t", doc_name="d.pdf")) for j in batch))
        await asyncio.gather(*(writer.append(j, "job", b"{}") for j in batch))
    await writer.close()


async def child(design: str, count: int, url: str, prefix: str) -> dict[str, Any]:
    """One measurement, in a process of its own so RSS growth is this run's listeners' alone."""
    from compliance_sse.eventlog.redis import RedisEventLog, Tail
    from compliance_sse.eventlog.redis_connection import connect

    _raise_fd_limit()
    writer = RedisEventLog(connect(url), owns_client=True, prefix=prefix)
    pool = None if design == "per_listener" else 32
    tail: Tail = "per_listener" if design == "per_listener" else "shared"
    reader = RedisEventLog(
        connect(url, client_name="bench-reader", max_connections=pool), owns_client=True, prefix=prefix, tail=tail
    )
    admin = writer.client
    job_ids = _job_ids(count)
    got: dict[str, list[str]] = {j: [] for j in job_ids}
    await admin.ping()

    async def info(section: str) -> dict[str, Any]:
        return dict(await admin.info(section))

    base_client_mem = (await info("memory")).get("mem_clients_normal", 0)
    gc.collect()
    base_rss = _rss()
    joined = 0

    async def listen(job_id: str) -> None:
        nonlocal joined
        await reader.get_job(job_id)  # as the view does first
        async for event in reader.read(job_id):
            got[job_id].append(event.event)
            if len(got[job_id]) == 1:
                joined += 1

    started = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []

    async def wave_joined() -> bool:
        return joined >= len(tasks)

    for start in range(0, count, 500):  # in waves: 10,000 connects at once overflow the accept queue
        tasks += [asyncio.create_task(listen(j)) for j in job_ids[start : start + 500]]
        await _until(wave_joined, 60)

    async def all_waiting() -> bool:
        if joined < count:
            return False
        if design == "shared":
            return reader.tail_stats["waiters"] == count
        return int((await info("clients"))["blocked_clients"]) >= count

    await _until(all_waiting, 120)
    subscribe_s = time.perf_counter() - started
    gc.collect()
    rss = _rss() - base_rss
    clients = sum(1 for c in await admin.client_list() if c.get("name") == "bench-reader")
    blocked = int((await info("clients"))["blocked_clients"])
    client_mem = (await info("memory")).get("mem_clients_normal", 0) - base_client_mem
    commands_before = (await info("stats"))["total_commands_processed"]
    idle_started = time.perf_counter()
    await asyncio.sleep(IDLE_S)  # the measurement window: everyone idles
    idle_cmds = max(0, (await info("stats"))["total_commands_processed"] - commands_before - 1) / (
        time.perf_counter() - idle_started
    )

    started = time.perf_counter()
    for start in range(0, count, 500):
        await asyncio.gather(*(writer.append(j, "progress", b"{}") for j in job_ids[start : start + 500]))
    appended_s = time.perf_counter() - started

    async def all_delivered() -> bool:
        return all(len(v) >= 2 for v in got.values())

    await _until(all_delivered, 120)
    fanout_s = time.perf_counter() - started
    for start in range(0, count, 500):
        await asyncio.gather(*(writer.append(j, "done", b"{}") for j in job_ids[start : start + 500]))
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    assert all(v == ["job", "progress", "done"] for v in got.values()), "every listener got exactly its events"
    result = {
        "design": design,
        "listeners": count,
        "redis_connections": clients,
        "blocked_in_xread": blocked,
        "rss_mib": round(rss / 2**20, 1),
        "rss_per_listener_kib": round(rss / count / 1024, 2),
        "redis_client_mem_per_listener_kib": round(client_mem / count / 1024, 2),
        "idle_redis_cmds_per_s": round(idle_cmds, 1),
        "subscribe_all_s": round(subscribe_s, 2),
        "append_one_each_s": round(appended_s, 2),
        "deliver_one_each_s": round(fanout_s, 2),
    }
    await reader.close()
    await writer.close()
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed")
    port = _free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--dir", directory, "--maxclients", "20000", "--tcp-backlog", "4096"]
    _raise_fd_limit()  # redis-server inherits it: 10,000 clients need as many descriptors
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit("redis-server did not start")
        time.sleep(0.02)


def _table(results: list[dict[str, Any]]) -> str:
    cols = [
        ("design", "design"),
        ("listeners", "listeners"),
        ("redis_connections", "Redis connections"),
        ("blocked_in_xread", "of which blocked in XREAD"),
        ("rss_mib", "process RSS growth (MiB)"),
        ("rss_per_listener_kib", "per listener (KiB)"),
        ("redis_client_mem_per_listener_kib", "Redis client memory per listener (KiB)"),
        ("idle_redis_cmds_per_s", "Redis commands/s while idle"),
        ("subscribe_all_s", "all joined (s)"),
        ("deliver_one_each_s", "one event to each (s)"),
    ]
    lines = ["| " + " | ".join(title for _, title in cols) + " |", "|" + "---|" * len(cols)]
    for r in results:
        lines.append("| " + " | ".join(f"`{r[k]}`" if k == "design" else str(r[k]) for k, _ in cols) + " |")
    return "\n".join(lines)


def _section(results: list[dict[str, Any]]) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    return f"""{HEADING}

`bench/listeners.py` ({time.strftime("%Y-%m-%d")}, {machine}, redis-server on loopback). One
listener per job, each waiting live on `RedisEventLog.read()` in one process; a fresh process and
a fresh `redis-server` per row. "Redis connections" are the ones the listening process holds once
every listener waits (the jobs are created by another process); "RSS growth" is that process's
from before the first listener (`get_job` + `read()`, as the view does) to all of them waiting,
divided by the listeners for "per listener"; "Redis client memory" is Redis's `mem_clients_normal`
growth; "commands/s while idle" is what Redis serves over {IDLE_S:g} s in which nothing happens
(a blocked `XREAD` times out every 5 s and is sent again); the last column is the time from
appending one event to each job until every listener has it.

{_table(results)}

Reading: the shared tail blocks on one connection per 1,000 live jobs (`streams_per_read`: 1 for
1,000 listeners, 10 for 10,000), plus the command pool (32 at most) that listeners use to replay;
the per-listener design holds a connection per listener: as many file descriptors in the process
and in Redis, Redis's per-client buffers, an idle `XREAD` re-sent every 5 s by each (about 2,000
commands/s for 10,000 idle listeners), and a connect per new listener (joining is several times
slower). A shared `XREAD` names every stream of its shard, so under a stream of events it is sent at
most every 20 ms (`min_interval_s`), gathering them. The shared reader is the default
(`tail="shared"`); `per_listener` stays for comparison.
"""


def write_section(section: str) -> None:
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    start = text.find(HEADING)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    BENCHMARKS.parent.mkdir(parents=True, exist_ok=True)
    BENCHMARKS.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--designs", nargs="+", default=["shared", "per_listener"])
    parser.add_argument("--write", action="store_true", help="update docs/BENCHMARKS.md")
    parser.add_argument("--child", nargs=4, metavar=("DESIGN", "COUNT", "URL", "PREFIX"), help=argparse.SUPPRESS)
    parser.add_argument("--populate", nargs=3, metavar=("URL", "PREFIX", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.populate:
        url, prefix, count = args.populate
        asyncio.run(populate(url, prefix, int(count)))
        return
    if args.child:
        design, count, url, prefix = args.child
        print(json.dumps(asyncio.run(child(design, int(count), url, prefix))))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="csse-bench-") as directory:
        for count in args.counts:
            for design in args.designs:
                proc, url = _start_redis(directory)
                try:
                    prefix = f"csse-bench:{uuid.uuid4().hex[:8]}"
                    subprocess.run(
                        [sys.executable, __file__, "--populate", url, prefix, str(count)],
                        check=True,
                        timeout=CHILD_LIMIT_S,
                    )
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", design, str(count), url, prefix],
                        capture_output=True,
                        timeout=CHILD_LIMIT_S,
                    )
                    if out.returncode:
                        sys.exit(f"{design} x {count} failed:\n{out.stderr.decode()[-3000:]}")
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
                result = json.loads(out.stdout.decode().strip().splitlines()[-1])
                print(json.dumps(result), flush=True)
                results.append(result)
    print(_table(results))
    if args.write:
        write_section(_section(results))
        print(f"wrote the '{HEADING}' section of {BENCHMARKS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
