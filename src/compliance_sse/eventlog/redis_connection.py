"""Build the Redis client the event log and the broker share, with timeouts fit for an outage."""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

__all__ = ["BLOCK_S", "DEFAULT_MAX_CONNECTIONS", "SOCKET_TIMEOUT_S", "connect"]

SOCKET_TIMEOUT_S = 15.0
"""A reply that takes longer than this (s) means the connection is dead."""
BLOCK_S = 5.0
"""The longest ``XREAD``/``XREADGROUP`` ``BLOCK`` (s); it must stay well below :data:`SOCKET_TIMEOUT_S`."""
DEFAULT_MAX_CONNECTIONS = 32
"""Connections per process; a burst of commands waits for a free one rather than opening more."""
_POOL_WAIT_S = 5.0


def connect(
    url: str, *, client_name: str | None = None, max_connections: int | None = DEFAULT_MAX_CONNECTIONS
) -> Redis:
    """A client for ``url`` (``redis://``, ``rediss://`` or ``unix://``); connects lazily, never raises for an outage.

    At most ``max_connections`` connections (``None``: no limit, one per concurrent command).
    redis-py's default retries a failed command ten times with back-off (~tens of seconds);
    we retry once, for a pooled connection the server closed, and handle outages ourselves.
    """
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": 2.0,
        "socket_keepalive": True,
        "health_check_interval": 30,
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), 1),
        "client_name": client_name,
        "protocol": 2,
    }
    if max_connections is None:
        return Redis.from_url(url, max_connections=2**31 - 1, **options)  # redis-py's default cap is 100
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=_POOL_WAIT_S, **options)
    return Redis.from_pool(pool)
