"""The service as a real process for the leak and soak runs, its resource figures, and cheap raw clients.

:class:`Service` runs ``python -m compliance_sse serve`` on a free port and reads what the process
holds: file descriptors (``/proc/<pid>/fd``), RSS (``/proc/<pid>/status``), asyncio tasks and open
streams (its ``/metrics`` gauges), and, with the Redis broker, its connections to Redis twice: as the
server sees them (``CLIENT LIST`` on a server the test owns, so every other client there is the
service's) and as the process holds them (its sockets to the Redis port, ``/proc/<pid>/net/tcp``). The
two differ after a Redis restart: a pooled socket whose server went away stays open until the pool
next hands it out. The clients speak
HTTP/1.1 over raw asyncio sockets: thousands of cycles cost little in the test process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio

from tests.polling import until
from tests.redis_server import HOST, free_port

__all__ = ["Figures", "Service", "drop_stream", "request", "upload"]

_START_LIMIT_S = 60.0
_PROBE_NAME = "csse-soak-probe"
_METRIC = re.compile(rb"^(csse_asyncio_tasks|csse_open_streams|csse_active_jobs) (\S+)$", re.M)


@dataclass(frozen=True)
class Figures:
    """What the service process holds at one moment."""

    fds: int
    rss_mb: float
    tasks: int
    streams: int
    active_jobs: int
    redis_conns: int
    redis_fds: int = 0

    @property
    def other_fds(self) -> int:
        """Descriptors other than the sockets to Redis (which a pool keeps, up to its cap, for reuse)."""
        return self.fds - self.redis_fds

    def line(self) -> str:
        return (
            f"fds {self.fds}, tasks {self.tasks}, Redis connections {self.redis_conns} (sockets {self.redis_fds}),"
            f" RSS {self.rss_mb:.1f} MB"
            f" (open streams {self.streams}, active jobs {self.active_jobs})"
        )


class Service:
    """``compliance-sse serve`` on a free port with ``env`` on top of a clean environment; its log in ``logs``."""

    def __init__(self, logs: Path, *, redis_url: str | None = None, **env: str) -> None:
        self.port = free_port()
        self.log_path = logs / f"serve-{self.port}.log"
        self.redis_url = redis_url
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CSSE_", "GROQ_"))}
        self.env.update(CSSE_PORT=str(self.port), PYTHONUNBUFFERED="1", **env)
        if redis_url:
            self.env["CSSE_BROKER"] = redis_url
        self.proc: subprocess.Popen[bytes] | None = None
        self._probe: Any = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - a fork+exec, not a wait
                [sys.executable, "-m", "compliance_sse", "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        if self.redis_url:
            self._probe = redis.asyncio.Redis.from_url(self.redis_url, client_name=_PROBE_NAME)

        async def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log_tail()
            with contextlib.suppress(OSError):
                return (await request(self.port, "GET", "/readyz"))[0] == 200
            return False

        await until(ready, limit_s=_START_LIMIT_S, every_s=0.05, what="/readyz 200")

    def rss_mb(self) -> float:
        """The process's resident memory, read off ``/proc/<pid>/status``."""
        status = Path(f"/proc/{self.pid}/status").read_bytes()
        return int(re.search(rb"VmRSS:\s+(\d+)", status)[1]) / 1024  # type: ignore[index]

    async def figures(self) -> Figures:
        fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        status, body = await request(self.port, "GET", "/metrics")
        assert status == 200, body[:200]
        gauges = {name.decode(): int(float(value)) for name, value in _METRIC.findall(body)}
        conns = sockets = 0
        if self._probe is not None:
            conns = sum(1 for c in await self._probe.client_list() if c.get("name") != _PROBE_NAME)
            sockets = _sockets_to(self.pid, self._probe.connection_pool.connection_kwargs["port"])
        return Figures(
            fds,
            self.rss_mb(),
            gauges["csse_asyncio_tasks"],
            gauges["csse_open_streams"],
            gauges["csse_active_jobs"],
            conns,
            sockets,
        )

    async def settled(self, baseline: Figures, *, fds: int, tasks: int, conns: int, limit_s: float = 30.0) -> Figures:
        """The figures once no stream is open, the descriptors other than Redis sockets and the tasks are
        within ``fds`` and ``tasks`` of ``baseline``, and the Redis connections and sockets at most ``conns``.

        Polled: a socket the client closed is closed by the server a moment later.
        """
        seen: list[Figures] = []

        async def back() -> bool:
            now = await self.figures()
            seen.append(now)
            return (
                now.streams == 0
                and now.other_fds <= baseline.other_fds + fds
                and now.tasks <= baseline.tasks + tasks
                and now.redis_conns <= conns
                and now.redis_fds <= conns
            )

        try:
            await until(
                back,
                limit_s=limit_s,
                every_s=0.2,
                what="descriptors, tasks and Redis connections back within their tolerances",
            )
        except BaseException:
            print(f"baseline: {baseline.line()}\nlast:     {seen[-1].line() if seen else '-'}")
            raise
        return seen[-1]

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    async def stop(self) -> int:
        """SIGTERM, wait, and the exit code; the log must hold no traceback."""
        if self._probe is not None:
            await self._probe.aclose()
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, 60)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        log = self.log_path.read_text(errors="replace")
        at = log.find("Traceback")
        assert at < 0, log[max(0, at - 1000) : at + 4000]
        return proc.returncode


def _sockets_to(pid: int, port: int) -> int:
    """How many of ``pid``'s descriptors are TCP sockets whose far end is ``port``, in any state."""
    inodes: set[bytes] = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for row in Path(f"/proc/{pid}/net/{table}").read_bytes().splitlines()[1:]:
                fields = row.split()
                if int(fields[2].rsplit(b":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    held = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):  # closed since the listing
            link = os.readlink(f"/proc/{pid}/fd/{fd}").encode()
            held += link.startswith(b"socket:[") and link[8:-1] in inodes
    return held


async def request(
    port: int, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One request on its own connection (``Connection: close``): the status and the whole body."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        head = {"Host": f"{HOST}:{port}", "Connection": "close", "Content-Length": str(len(body)), **(headers or {})}
        lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
        writer.write(f"{method} {path} HTTP/1.1\r\n{lines}\r\n".encode() + body)
        raw = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    header, _, rest = raw.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1]) if header else 0
    if b"transfer-encoding: chunked" in header.lower():
        rest = _unchunk(rest)
    return status, rest


def _unchunk(data: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[end + 2 : end + 2 + size]
        pos = end + 4 + size


async def drop_stream(port: int, path: str, *, stage: int, last_event_id: str | None = None) -> bytes:
    """Open an event stream and drop it: ``stage`` 0 right after the request, 1 after the response head,
    2 after the first event, 3 in the middle of the second frame. Odd drops reset the connection (abort).
    Returns the body bytes read."""
    reader, writer = await asyncio.open_connection(HOST, port)
    read = b""
    try:
        resume = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id else ""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n{resume}\r\n".encode())
        await writer.drain()
        if stage >= 1 and not (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200"):
            return read
        if stage >= 2:
            read += await reader.readuntil(b"\n\n")
        if stage >= 3:
            read += await reader.read(8)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # a finished job's short replay may end first
    finally:
        if stage % 2:
            writer.transport.abort()
        else:
            writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return read


def multipart(pdf: bytes, boundary: str = "csse-soak-boundary") -> tuple[bytes, dict[str, str]]:
    """A one-file multipart body and its headers."""
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="doc.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + pdf
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def upload(port: int, pdf: bytes) -> dict[str, Any]:
    """``POST /jobs`` with ``pdf``: the 202's JSON (``job_id``, ``events_url``, ...)."""
    body, headers = multipart(pdf)
    status, answer = await request(port, "POST", "/jobs", body=body, headers=headers)
    assert status == 202, answer[:300]
    result: dict[str, Any] = orjson.loads(answer)
    return result
