"""One ``event_log`` fixture, parametrised over every implementation, and a real Redis for the Redis one.

The Redis tests use the server on 127.0.0.1:6379 when it answers (database 9, a key prefix of
their own per test, deleted afterwards), or else a ``redis-server`` started on a free port for
the session. No Redis at all is a failure, never a skip. Tests that stop and start Redis use
:func:`start_redis_server` for a server of their own: the shared one is never stopped.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis

from compliance_sse.eventlog.base import EventLog
from compliance_sse.eventlog.memory import InMemoryEventLog
from compliance_sse.eventlog.redis import RedisEventLog

Clock = list[float]

HOST = "127.0.0.1"
SHARED_PORT = 6379
TEST_DB = 9
_START_LIMIT_S = 10.0


def answers(port: int, host: str = HOST, timeout_s: float = 0.5) -> bool:
    """Whether a Redis answers ``PING`` on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A ``redis-server`` of our own on a free port, that a test may stop and start again.

    ``persist=True`` keeps its data across :meth:`stop`/:meth:`start` (an RDB written at shutdown).
    """

    def __init__(self, directory: Path, *, port: int | None = None, persist: bool = False, args: tuple[str, ...] = ()):
        self.directory = directory
        self.port = port or free_port()
        self.persist = persist
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server); .ci/run installs it")
        argv = [binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(self.directory), "--daemonize", "no", *self.args]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + _START_LIMIT_S
        while not answers(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.01)  # polling a process we do not control, under a deadline

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        if self.persist:
            with contextlib.suppress(redis.RedisError), redis.Redis(host=HOST, port=self.port) as client:
                client.save()  # restored by the next start() from the same directory
        proc.terminate()
        try:
            proc.wait(timeout=_START_LIMIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def redis_server(*, persist: bool = False, args: tuple[str, ...] = ()) -> Iterator[RedisServer]:
    """A started :class:`RedisServer` in a temporary directory, stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="csse-redis-") as directory:
        server = RedisServer(Path(directory), persist=persist, args=args)
        server.start()
        try:
            yield server
        finally:
            server.stop()


def delete_prefix(url: str, prefix: str) -> None:
    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"csse-test:{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture
def clock() -> Clock:
    return [1_000_000.0]


def _memory(request: pytest.FixtureRequest, clock: Clock, ttl_s: float) -> EventLog:
    return InMemoryEventLog(ttl_s=ttl_s, clock=lambda: clock[0])


def _redis(request: pytest.FixtureRequest, clock: Clock, ttl_s: float) -> EventLog:
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    return RedisEventLog.from_url(url, prefix=prefix, ttl_s=ttl_s, clock=lambda: clock[0])


FACTORIES: dict[str, Callable[[pytest.FixtureRequest, Clock, float], EventLog]] = {
    "memory": _memory,
    "redis": _redis,
}


@pytest.fixture(params=sorted(FACTORIES))
async def event_log(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[EventLog]:
    log = FACTORIES[request.param](request, clock, 60.0)
    yield log
    await log.close()
