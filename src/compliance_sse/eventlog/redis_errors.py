"""The one place where Redis errors become service errors (httpx's ``map_httpcore_exceptions``).

Every call into redis-py that can meet an outage runs inside :func:`map_redis_errors`, so the
rest of the service only ever sees :class:`RedisUnavailable` (a ``BrokerUnavailable``: ``503``
with ``Retry-After`` before a stream starts, an ``error`` event with ``retryable: true`` after).
Errors that mean a bug on our side (a malformed command, a script error) are not mapped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

from redis import exceptions as redis_errors

from ..errors import BrokerUnavailable

__all__ = [
    "CHECK_LIMIT_S",
    "COMMAND_LIMIT_S",
    "DEFAULT_RETRY_AFTER_S",
    "RedisUnavailable",
    "answer_within",
    "command",
    "is_outage",
    "map_redis_errors",
]

DEFAULT_RETRY_AFTER_S = 5
"""The ``Retry-After`` (s) sent with a ``503 broker_unavailable``."""

# A ResponseError is a bug of ours, except for these states of a server that will pass.
_TRANSIENT_REPLIES: tuple[type[redis_errors.RedisError], ...] = (
    redis_errors.OutOfMemoryError,
    redis_errors.ReadOnlyError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
)
_OUTAGES: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,  # also BusyLoadingError, AuthenticationError, MaxConnectionsError
    redis_errors.TimeoutError,
    redis_errors.InvalidResponse,
    *_TRANSIENT_REPLIES,
    ConnectionResetError,
    ConnectionRefusedError,
    BrokenPipeError,
)


class RedisUnavailable(BrokerUnavailable):
    """Redis cannot be reached, or refuses writes for a while; clients retry after ``retry_after`` s."""

    def __init__(self, detail: str | None = None, *, retry_after: int = DEFAULT_RETRY_AFTER_S) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (from redis-py) means Redis is unreachable rather than that we sent nonsense."""
    return isinstance(exc, _OUTAGES)


@contextlib.contextmanager
def map_redis_errors() -> Iterator[None]:
    """Raise :class:`RedisUnavailable` (chained ``from`` the original) for an outage; let the rest through."""
    try:
        yield
    except _OUTAGES as exc:
        raise RedisUnavailable() from exc


CHECK_LIMIT_S = 2.0
"""How long a check (a PING, an EXISTS) may wait for Redis, which answers in microseconds, before it counts as down."""


@contextlib.asynccontextmanager
async def answer_within(limit_s: float = CHECK_LIMIT_S) -> AsyncIterator[None]:
    """Raise :class:`RedisUnavailable` if the commands inside take longer than ``limit_s``.

    A paused Redis (SIGSTOP, a stalled host) takes commands and answers none: without a bound
    only the socket timeout, twice over with redis-py's retry, would end the wait.
    """
    try:
        async with asyncio.timeout(limit_s):
            yield
    except TimeoutError:
        raise RedisUnavailable() from None


COMMAND_LIMIT_S = 5.0
"""How long one command that does not block (a lookup, an append, a pipeline) may wait for its answer.

Redis answers these in microseconds, and in milliseconds under load; a paused Redis never does,
and without this bound the socket timeout, twice over with redis-py's retry, ends the wait (30 s).
"""


@contextlib.asynccontextmanager
async def command(limit_s: float = COMMAND_LIMIT_S) -> AsyncIterator[None]:
    """:func:`map_redis_errors` and :func:`answer_within` ``limit_s``: how every non-blocking call runs."""
    with map_redis_errors():
        async with answer_within(limit_s):
            yield
