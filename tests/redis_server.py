"""A real Redis for the tests: the shared one on 127.0.0.1:6379 (database 9), or a ``redis-server`` of our own.

Tests that stop and start Redis use :func:`redis_server` for a server of their own: the shared
one is never stopped. No Redis at all is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.polling import until

__all__ = [
    "HOST",
    "SHARED_PORT",
    "TEST_DB",
    "RedisServer",
    "answers",
    "blocked_in_xread",
    "delete_prefix",
    "free_port",
    "redis_server",
]

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


async def blocked_in_xread(client: Any, name: str | None = None, limit_s: float = 20.0) -> None:
    """Wait until a connection (named ``name``, if given) is blocked in ``XREAD`` on the server of ``client``.

    A test that restarts Redis waits for this first, so the reader meets the restart mid-read.
    """

    def reading(clients: list[dict[str, Any]]) -> bool:
        return any(c.get("cmd") == "xread" and (name is None or c.get("name") == name) for c in clients)

    async def blocked() -> bool:
        return reading(await client.client_list())

    await until(blocked, limit_s=limit_s, every_s=0.01, what="a client blocked in XREAD")
