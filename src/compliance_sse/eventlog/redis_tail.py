"""The shared ``XREAD`` reader: one blocking connection per process follows every live job's stream.

A dict stream -> (last id delivered, set of waiters). A new stream joins the next ``XREAD``;
to cut the current one short, the new reader ``XADD``s to the process's own wake stream,
which every ``XREAD`` includes from its last seen id, so a wake sent before the ``XREAD``
reaches the server is not lost (a self-pipe made of a stream). An ``XREAD`` names every
stream it follows, so past ``streams_per_read`` live jobs the process opens another such
connection (a shard), and under a stream of events a shard sends its ``XREAD`` at most
every ``min_interval_s``, gathering them.

A waiter whose backlog passes :data:`MAX_BACKLOG` is marked ``lagged`` and re-reads from its
own last id; the reader (``RedisEventLog``) owns the replay with ``XRANGE``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..tasks import stop
from .base import LogEvent
from .redis_errors import RedisUnavailable, answer_within, is_outage

__all__ = ["BATCH", "MAX_BACKLOG", "SharedTail", "Waiter", "decode_entries", "stream_id", "stream_reply", "text"]

log = logging.getLogger(__name__)

_REPLY_MARGIN_S = 2.0
"""How late after its ``BLOCK`` ends an ``XREAD``'s reply may come before Redis counts as down."""
BATCH = 200
"""Entries per ``XRANGE``/``XREAD`` round trip."""
MAX_BACKLOG = 1024
"""Entries queued for one live reader before it falls back to ``XRANGE``."""


def stream_id(entry_id: str | bytes) -> tuple[int, int]:
    ms, _, seq = (entry_id.decode() if isinstance(entry_id, bytes) else entry_id).partition("-")
    return int(ms), int(seq or 0)


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entry(entry_id: bytes | str, fields_: Mapping[bytes | str, bytes | str] | None) -> LogEvent | None:
    if not fields_:
        return None  # an entry deleted under us
    event = fields_.get(b"e", fields_.get("e", b""))
    data = fields_.get(b"d", fields_.get("d", b""))
    return LogEvent(id=text(entry_id), event=text(event), data=data if isinstance(data, bytes) else data.encode())


def decode_entries(raw: Iterable[Any]) -> list[LogEvent]:
    return [e for e in (_entry(i, f) for i, f in raw) if e is not None]


def stream_reply(reply: Any) -> list[tuple[str, list[LogEvent]]]:
    """``XREAD``'s reply as (key, events), whether the connection speaks RESP2 (a list) or RESP3 (a map)."""
    if not reply:
        return []
    items = reply.items() if isinstance(reply, dict) else reply
    return [(text(key), decode_entries(entries)) for key, entries in items]


class Waiter:
    """One live reader of the shared tail: its backlog of events and how to wake it."""

    __slots__ = ("backlog", "closed", "error", "lagged", "recheck", "wakeup")

    def __init__(self) -> None:
        self.backlog: collections.deque[LogEvent] = collections.deque()
        self.lagged = False
        self.recheck = False  # Redis came back: it may have lost the job (restarted without its data)
        self.closed = False
        self.error: BaseException | None = None
        self.wakeup = asyncio.Event()

    def push(self, events: list[LogEvent]) -> None:
        if self.lagged:
            return
        if len(self.backlog) + len(events) > MAX_BACKLOG:
            self.backlog.clear()
            self.lagged = True  # it re-reads from its own last id with XRANGE
        else:
            self.backlog.extend(events)
        self.wakeup.set()

    def fail(self, exc: BaseException) -> None:
        self.error = exc
        self.wakeup.set()

    def close(self) -> None:
        self.closed = True
        self.wakeup.set()


class _Watch:
    __slots__ = ("cursor", "waiters")

    def __init__(self, cursor: str) -> None:
        self.cursor = cursor
        self.waiters: set[Waiter] = set()


class _TailShard:
    """One ``XREAD BLOCK`` loop on a connection of its own, fanning entries out to the waiters of its streams."""

    def __init__(self, client: Redis, wake_key: str, *, block_ms: int, grace_s: float, min_interval_s: float) -> None:
        self._client = client
        self._conn: Redis | None = None
        self._wake_key = wake_key
        self._wake_last = "0-0"
        self._block_ms = block_ms
        self._grace_s = grace_s
        self._min_interval_s = min_interval_s
        self._watches: dict[str, _Watch] = {}
        self._has_watches = asyncio.Event()
        self._wake_requested = False
        self._wakes: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.reads = 0  # XREAD calls made, for tests and the benchmark

    @property
    def waiters(self) -> int:
        return sum(len(w.waiters) for w in self._watches.values())

    @property
    def streams(self) -> int:
        return len(self._watches)

    @property
    def connections(self) -> int:
        return 0 if self._conn is None else 1

    def follows(self, key: str) -> bool:
        return key in self._watches

    def subscribe(self, key: str, last: str) -> tuple[Waiter, str | None]:
        """Add a waiter for ``key`` after id ``last``; returns the id the tail has already delivered up to
        (``None`` for a stream it did not follow): entries in between are the caller's to read."""
        waiter = Waiter()
        watch = self._watches.get(key)
        delivered = None
        if watch is None:
            watch = self._watches[key] = _Watch(last)
            self._wake()
        else:
            delivered = watch.cursor
        watch.waiters.add(waiter)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="csse-redis-tail")
        return waiter, delivered

    def unsubscribe(self, key: str, waiter: Waiter) -> None:
        watch = self._watches.get(key)
        if watch is not None:
            watch.waiters.discard(waiter)
            if not watch.waiters:
                del self._watches[key]  # dropped from the next XREAD; no need to wake the current one

    def _wake(self) -> None:
        self._has_watches.set()
        if self._wake_requested or self._task is None:
            return
        self._wake_requested = True  # cleared when the loop next builds its XREAD
        task = asyncio.create_task(self._send_wake())
        self._wakes.add(task)
        task.add_done_callback(self._wakes.discard)

    async def _send_wake(self) -> None:
        with contextlib.suppress(Exception):
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.xadd(self._wake_key, {"w": "1"}, maxlen=16, approximate=True)
                pipe.pexpire(self._wake_key, 3_600_000)
                await pipe.execute()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        down_since: float | None = None
        backoff = 0.05
        while not self._closed:
            if not self._watches:
                # Cleared before the close awaits: a reader joining during it sets it again.
                self._has_watches.clear()
                await self._drop_connection()  # an idle shard holds no connection
                await self._has_watches.wait()
                continue
            streams: dict[Any, Any] = {key: watch.cursor for key, watch in self._watches.items()}
            streams[self._wake_key] = self._wake_last
            self._wake_requested = False
            if self._conn is None:
                self._conn = _dedicated(self._client)  # it blocks: not one of the pool's
            issued = loop.time()
            try:
                self.reads += 1
                # The reply is due when the block ends; a paused Redis would hold it until the socket timeout.
                async with answer_within(self._block_ms / 1000 + _REPLY_MARGIN_S):
                    reply = await self._conn.xread(streams, count=BATCH, block=self._block_ms)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not (is_outage(exc) or isinstance(exc, RedisUnavailable)):
                    log.exception("the shared Redis reader failed; retrying")
                now = loop.time()
                down_since = down_since if down_since is not None else now
                if now - down_since >= self._grace_s:
                    self._fail_all(exc)
                await self._drop_connection()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            if down_since is not None:
                log.info("Redis answers again; live readers resume")
                self._recheck_all()
            down_since, backoff = None, 0.05
            delivered = False
            for key, events in stream_reply(reply):
                if key == self._wake_key:
                    self._wake_last = events[-1].id if events else self._wake_last
                    continue
                watch = self._watches.get(key)
                if watch is None or not events:
                    continue
                delivered = True
                watch.cursor = events[-1].id
                for waiter in list(watch.waiters):
                    waiter.push(events)
            if delivered and (pause := issued + self._min_interval_s - loop.time()) > 0:
                # Under a stream of events, gather them for a moment: each XREAD names every stream
                # of the shard, so its cost is per call, not per event.
                await asyncio.sleep(pause)

    def _recheck_all(self) -> None:
        """Wake every reader to check its job still exists: Redis may have come back without its data."""
        for waiters in [w.waiters for w in self._watches.values()]:
            for waiter in waiters:
                waiter.recheck = True
                waiter.wakeup.set()

    def _fail_all(self, cause: BaseException) -> None:
        for watch in self._watches.values():
            for waiter in watch.waiters:
                unavailable = RedisUnavailable()
                unavailable.__cause__ = cause
                waiter.fail(unavailable)
        self._watches.clear()

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.aclose()

    async def close(self) -> None:
        self._closed = True
        for watch in self._watches.values():
            for waiter in watch.waiters:
                waiter.close()
        self._watches.clear()
        await stop(*[t for t in [self._task, *self._wakes] if t is not None])
        await self._drop_connection()


def _dedicated(client: Redis) -> Redis:
    """A client with one connection of its own, outside ``client``'s pool, to the same server."""
    pool = client.connection_pool
    # No silent reconnect-and-retry: the loop must see every outage, however short, because
    # Redis may come back without its data and its readers' jobs must then be checked.
    kwargs = {**pool.connection_kwargs, "retry": Retry(NoBackoff(), 0)}
    own = ConnectionPool(connection_class=pool.connection_class, max_connections=1, **kwargs)
    return Redis.from_pool(own)


class SharedTail:
    """The process's live readers, on shards of at most ``streams_per_read`` streams (one connection each)."""

    def __init__(
        self,
        client: Redis,
        wake_prefix: str,
        *,
        block_ms: int,
        grace_s: float,
        streams_per_read: int,
        min_interval_s: float,
    ) -> None:
        self._client = client
        self._wake_prefix = wake_prefix
        self._options = {"block_ms": block_ms, "grace_s": grace_s, "min_interval_s": min_interval_s}
        self._per_read = streams_per_read
        self._shards: list[_TailShard] = []
        self._where: dict[str, _TailShard] = {}

    @property
    def waiters(self) -> int:
        return sum(s.waiters for s in self._shards)

    @property
    def connections(self) -> int:
        return sum(s.connections for s in self._shards)

    @property
    def reads(self) -> int:
        return sum(s.reads for s in self._shards)

    def subscribe(self, key: str, last: str) -> tuple[Waiter, str | None]:
        shard = self._where.get(key)
        if shard is None:
            shard = min((s for s in self._shards if s.streams < self._per_read), key=lambda s: s.streams, default=None)
            if shard is None:
                wake_key = f"{self._wake_prefix}:{len(self._shards)}"
                shard = _TailShard(self._client, wake_key, **self._options)  # type: ignore[arg-type]
                self._shards.append(shard)
            self._where[key] = shard
        return shard.subscribe(key, last)

    def unsubscribe(self, key: str, waiter: Waiter) -> None:
        shard = self._where.get(key)
        if shard is not None:
            shard.unsubscribe(key, waiter)
            if not shard.follows(key):
                del self._where[key]

    async def close(self) -> None:
        self._where.clear()
        await asyncio.gather(*(s.close() for s in self._shards))
