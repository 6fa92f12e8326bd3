"""Redis event log: one Stream per job, whose entry ids (``<ms>-<seq>``) are the SSE ids.

Any replica serves any job: the ids come from Redis, so they are the same wherever a
client resumes. Keys (``P`` is the prefix; ``{id}`` is a hash tag, so one job's keys share
a cluster slot and one Lua script may touch them all)::

    P:job:{id}      hash    the JobRecord, one JSON value per field, plus _seq, _lease (the
                            worker allowed to write), _ended (the final event's id), _fin (when)
    P:ev:{id}       stream  the events, fields ``e`` (name) and ``d`` (JSON data)
    P:report:{id}   string  the report JSON
    P:gone:{id}     string  tombstone: the job expired (410 rather than 404), kept ``tombstone_s``
    P:tenant:<t>    zset    the tenant's job ids scored by creation order, for ``GET /jobs``
    P:seq           counter creation order
    P:wake:<uuid>   stream  one per process; an entry wakes its shared reader (below)

Every write is one Lua script that first checks that the job exists, has not ended and,
for a worker, that the worker still holds the job's lease. So nothing is appended after
``done``/``error``, not even by a worker whose job was reclaimed while it was stalled.
The final append sets a ``PEXPIRE`` of ``ttl_s`` on the job's keys; unfinished jobs expire
``stale_s`` after their last write. Expiry is also checked against the injected clock.

Live tailing (``tail=``):

``shared`` (default)
    One ``XREAD BLOCK`` connection per process serves every live reader: a dict
    stream -> (last id delivered, set of waiters). A new stream joins the next ``XREAD``;
    to cut the current one short, the new reader ``XADD``s to the process's own wake
    stream, which every ``XREAD`` includes from its last seen id, so a wake sent before
    the ``XREAD`` reaches the server is not lost (a self-pipe made of a stream). An
    ``XREAD`` names every stream it follows, so past ``streams_per_read`` live jobs the
    process opens another such connection (a shard), and under a stream of events a shard
    sends its ``XREAD`` at most every ``min_interval_s``, gathering them.
``per_listener``
    Each live reader blocks in ``XREAD`` on a pooled connection of its own. Simpler, but
    a process holds one Redis connection per idle listener (``bench/listeners.py``).

A reader replays with ``XRANGE`` and then follows live from the last id it replayed; the
stream id is the subscription point, so no event falls between replay and live. When it
joins a stream that the shared reader already follows at a later id, it first reads the
entries in between with ``XRANGE``; entries at or below its own last id are skipped. A
reader too slow for its bounded backlog falls back to ``XRANGE`` the same way.

``read()`` must check the job synchronously (the :class:`EventLog` contract), which Redis
cannot answer without blocking; it checks the record this process last saw instead, so
call :meth:`RedisEventLog.get_job` (or ``create_job``) first, as every view does to check
the tenant. An id this process has not seen raises ``NotFound``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import fields
from typing import Any, Literal, TypeVar

import orjson
from redis import exceptions as redis_errors
from redis.asyncio import ConnectionPool, Redis

from ..broker.connection import BLOCK_S, connect
from ..broker.errors import RedisUnavailable, is_outage, map_redis_errors
from ..errors import BadRequest, JobExpired, NotFound
from .base import FINAL_EVENTS, EventLog, JobRecord, LogEvent

__all__ = ["DEFAULT_GRACE_S", "DEFAULT_STREAMS_PER_READ", "LeaseLost", "RedisEventLog", "Tail"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Tail = Literal["shared", "per_listener"]

DEFAULT_GRACE_S = 5.0
"""How long (s) a live reader waits for Redis to come back before it ends with ``broker_unavailable``."""
DEFAULT_STREAMS_PER_READ = 1000
"""Streams one shared ``XREAD`` names at most; more live jobs open another connection (``bench/listeners.py``)."""

_BATCH = 200  # entries per XRANGE/XREAD round trip
_MAX_BACKLOG = 1024  # entries queued for one live reader before it falls back to XRANGE
_KNOWN_JOBS = 10_000  # job records remembered for read()'s synchronous check
_ID = re.compile(rb"^[0-9]{1,20}-[0-9]{1,20}\Z")
_RECORD_FIELDS = tuple(f.name for f in fields(JobRecord))

_ENDED, _NOJOB, _LEASE = "CSSE_ENDED", "CSSE_NOJOB", "CSSE_LEASE"

# KEYS: job, stream, report, tombstone. ARGV: event, data, final, now, ttl_ms, lease, stale_ms, tomb_ms.
_APPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('CSSE_NOJOB') end
if redis.call('HEXISTS', KEYS[1], '_ended') == 1 then return redis.error_reply('CSSE_ENDED') end
if ARGV[6] ~= '' and redis.call('HGET', KEYS[1], '_lease') ~= ARGV[6] then return redis.error_reply('CSSE_LEASE') end
local id = redis.call('XADD', KEYS[2], '*', 'e', ARGV[1], 'd', ARGV[2])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], '_ended', id, '_fin', ARGV[4])
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[8])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
end
return id
"""

# KEYS: job. ARGV: lease, then field/value pairs.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('CSSE_NOJOB') end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], '_lease') ~= ARGV[1] then return redis.error_reply('CSSE_LEASE') end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
"""

# KEYS: job, report. ARGV: report, lease, ttl_ms, stale_ms.
_SET_REPORT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('CSSE_NOJOB') end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], '_lease') ~= ARGV[2] then return redis.error_reply('CSSE_LEASE') end
local ttl = ARGV[4]
if redis.call('HEXISTS', KEYS[1], '_ended') == 1 then ttl = ARGV[3] end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
return 1
"""

# KEYS: job, seq, tenant zset. ARGV: job_id, stale_ms, then field/value pairs.
_CREATE = """
local seq = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '_seq', seq, unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], seq, ARGV[1])
return seq
"""

# KEYS: job, stream. ARGV: lease. Returns {exists, ended id or false, xlen}.
_TAKE_LEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, false, 0} end
local ended = redis.call('HGET', KEYS[1], '_ended')
if not ended then redis.call('HSET', KEYS[1], '_lease', ARGV[1]) end
return {1, ended, redis.call('XLEN', KEYS[2])}
"""


class LeaseLost(RuntimeError):
    """The job was reclaimed by another worker: this one must stop writing to it."""


def _sid(entry_id: str | bytes) -> tuple[int, int]:
    ms, _, seq = (entry_id.decode() if isinstance(entry_id, bytes) else entry_id).partition("-")
    return int(ms), int(seq or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entry(entry_id: bytes | str, fields_: Mapping[bytes | str, bytes | str] | None) -> LogEvent | None:
    if not fields_:
        return None  # an entry deleted under us
    event = fields_.get(b"e", fields_.get("e", b""))
    data = fields_.get(b"d", fields_.get("d", b""))
    return LogEvent(id=_text(entry_id), event=_text(event), data=data if isinstance(data, bytes) else data.encode())


def _entries(raw: Iterable[Any]) -> list[LogEvent]:
    return [e for e in (_entry(i, f) for i, f in raw) if e is not None]


def _stream_reply(reply: Any) -> list[tuple[str, list[LogEvent]]]:
    """``XREAD``'s reply as (key, events), whether the connection speaks RESP2 (a list) or RESP3 (a map)."""
    if not reply:
        return []
    items = reply.items() if isinstance(reply, dict) else reply
    return [(_text(key), _entries(entries)) for key, entries in items]


def _check_after(after: str | None) -> str:
    if after is None or after == "":
        return "0-0"
    raw = after.encode("ascii", "replace")
    if not _ID.match(raw):
        raise BadRequest("Last-Event-ID is not an id this service issued.", code="invalid_last_event_id")
    return after


class _Waiter:
    """One live reader of the shared tail: its backlog of events and how to wake it."""

    __slots__ = ("backlog", "closed", "error", "lagged", "wakeup")

    def __init__(self) -> None:
        self.backlog: collections.deque[LogEvent] = collections.deque()
        self.lagged = False
        self.closed = False
        self.error: BaseException | None = None
        self.wakeup = asyncio.Event()

    def push(self, events: list[LogEvent]) -> None:
        if self.lagged:
            return
        if len(self.backlog) + len(events) > _MAX_BACKLOG:
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
        self.waiters: set[_Waiter] = set()


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

    def subscribe(self, key: str, last: str) -> tuple[_Waiter, str | None]:
        """Add a waiter for ``key`` after id ``last``; returns the id the tail has already delivered up to
        (``None`` for a stream it did not follow): entries in between are the caller's to read."""
        waiter = _Waiter()
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

    def unsubscribe(self, key: str, waiter: _Waiter) -> None:
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
                await self._drop_connection()  # an idle shard holds no connection
                self._has_watches.clear()
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
                reply = await self._conn.xread(streams, count=_BATCH, block=self._block_ms)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_outage(exc):
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
            down_since, backoff = None, 0.05
            delivered = False
            for key, events in _stream_reply(reply):
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
        for task in [self._task, *self._wakes]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*[t for t in [self._task, *self._wakes] if t is not None], return_exceptions=True)
        await self._drop_connection()


def _dedicated(client: Redis) -> Redis:
    """A client with one connection of its own, outside ``client``'s pool, to the same server."""
    pool = client.connection_pool
    own = ConnectionPool(connection_class=pool.connection_class, max_connections=1, **pool.connection_kwargs)
    return Redis.from_pool(own)


class _SharedTail:
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

    def subscribe(self, key: str, last: str) -> tuple[_Waiter, str | None]:
        shard = self._where.get(key)
        if shard is None:
            shard = min((s for s in self._shards if s.streams < self._per_read), key=lambda s: s.streams, default=None)
            if shard is None:
                wake_key = f"{self._wake_prefix}:{len(self._shards)}"
                shard = _TailShard(self._client, wake_key, **self._options)  # type: ignore[arg-type]
                self._shards.append(shard)
            self._where[key] = shard
        return shard.subscribe(key, last)

    def unsubscribe(self, key: str, waiter: _Waiter) -> None:
        shard = self._where.get(key)
        if shard is not None:
            shard.unsubscribe(key, waiter)
            if not shard.follows(key):
                del self._where[key]

    async def close(self) -> None:
        self._where.clear()
        await asyncio.gather(*(s.close() for s in self._shards))


class RedisEventLog(EventLog):
    """The :class:`EventLog` on Redis (see the module docstring for the layout).

    ``client`` should come from :func:`compliance_sse.broker.connection.connect` (or have a
    ``socket_timeout`` above ``block_s``); it is closed by :meth:`close` only when ``owns_client``.
    Times are in seconds. Every Redis outage surfaces as ``RedisUnavailable``.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "csse",
        ttl_s: float = 3600,
        stale_s: float = 86400,
        tombstone_s: float = 86400,
        tail: Tail = "shared",
        grace_s: float = DEFAULT_GRACE_S,
        block_s: float = BLOCK_S,
        streams_per_read: int = DEFAULT_STREAMS_PER_READ,
        min_interval_s: float = 0.02,
        clock: Callable[[], float] = time.time,
        owns_client: bool = False,
    ) -> None:
        if tail not in ("shared", "per_listener"):
            raise ValueError("tail must be 'shared' or 'per_listener'")
        self.client = client
        self.prefix = prefix
        self._ttl_s = ttl_s
        self._stale_s = max(stale_s, ttl_s)
        self._tombstone_s = max(tombstone_s, ttl_s)
        self._tail_kind = tail
        self._grace_s = grace_s
        self._block_ms = max(1, int(block_s * 1000))
        self._clock = clock
        self._owns_client = owns_client
        self._known: collections.OrderedDict[str, float | None] = collections.OrderedDict()
        self._closed = False
        self._tail = _SharedTail(
            client,
            f"{prefix}:wake:{uuid.uuid4().hex}",
            block_ms=self._block_ms,
            grace_s=grace_s,
            streams_per_read=streams_per_read,
            min_interval_s=min_interval_s,
        )
        self._append_script = client.register_script(_APPEND)
        self._update_script = client.register_script(_UPDATE)
        self._report_script = client.register_script(_SET_REPORT)
        self._create_script = client.register_script(_CREATE)
        self._lease_script = client.register_script(_TAKE_LEASE)

    @classmethod
    def from_url(cls, url: str, **kw: Any) -> RedisEventLog:
        """A log with a client of its own for ``url``, closed with the log."""
        return cls(connect(url, client_name="csse-eventlog"), owns_client=True, **kw)

    # --- keys ---------------------------------------------------------------------------------------

    def key(self, kind: str, job_id: str) -> str:
        """The key of one of a job's values: ``job``, ``ev``, ``report``, ``gone``, or the queue's ``input``."""
        return f"{self.prefix}:{kind}:{{{job_id}}}"

    def _tenant_key(self, tenant: str) -> str:
        return f"{self.prefix}:tenant:{tenant}"

    # --- what read() checks synchronously ------------------------------------------------------------

    def _remember(self, job_id: str, finished_at: float | None) -> None:
        self._known[job_id] = finished_at
        self._known.move_to_end(job_id)
        while len(self._known) > _KNOWN_JOBS:
            self._known.popitem(last=False)

    def _expired(self, finished_at: float | None) -> bool:
        return finished_at is not None and self._clock() - finished_at > self._ttl_s

    async def _gone(self, job_id: str) -> Exception:
        with map_redis_errors():
            tombstone = await self.client.exists(self.key("gone", job_id))
        if tombstone:
            self._remember(job_id, -math.inf)  # read() answers 410 from now on
            return JobExpired()
        self._known.pop(job_id, None)
        return NotFound()

    # --- records -------------------------------------------------------------------------------------

    async def create_job(self, record: JobRecord) -> None:
        record.created = record.updated = self._clock()
        values = {name: orjson.dumps(getattr(record, name)) for name in _RECORD_FIELDS}
        args: list[Any] = [record.job_id, int(self._stale_s * 1000)]
        for name, value in values.items():
            args += [name, value]
        keys = [self.key("job", record.job_id), f"{self.prefix}:seq", self._tenant_key(record.tenant)]
        with map_redis_errors():
            await self._create_script(keys=keys, args=args)
        self._remember(record.job_id, None)

    async def get_job(self, job_id: str) -> JobRecord:
        with map_redis_errors():
            raw = await self.client.hgetall(self.key("job", job_id))
        if not raw:
            raise await self._gone(job_id)
        record, finished_at = _decode_record(raw)
        self._remember(job_id, finished_at)
        if self._expired(finished_at):
            raise JobExpired()
        return record

    async def update_job(self, job_id: str, **changes: Any) -> None:
        await self.update_job_leased(job_id, None, changes)

    async def update_job_leased(self, job_id: str, lease: str | None, changes: Mapping[str, Any]) -> None:
        """``update_job`` for a worker: raises :class:`LeaseLost` when ``lease`` is no longer the job's."""
        unknown = set(changes) - set(_RECORD_FIELDS)
        if unknown:
            raise TypeError(f"JobRecord has no field(s) {sorted(unknown)}")
        args: list[Any] = [lease or ""]
        for name, value in {**changes, "updated": self._clock()}.items():
            args += [name, orjson.dumps(value)]
        await self._script(job_id, self._update_script, [self.key("job", job_id)], args)

    async def list_jobs(self, tenant: str, *, limit: int, cursor: str | None) -> tuple[list[JobRecord], str | None]:
        top: str = "+inf" if not (cursor and cursor.isdigit()) else f"({int(cursor)}"
        zkey = self._tenant_key(tenant)
        with map_redis_errors():
            ids: list[Any] = await self.client.zrevrangebyscore(
                zkey, top, "-inf", start=0, num=limit + 1, withscores=True
            )
            async with self.client.pipeline(transaction=False) as pipe:
                for job_id, _score in ids[:limit]:
                    pipe.hgetall(self.key("job", _text(job_id)))
                raws = await pipe.execute()
        records, missing = [], []
        for (job_id, _score), raw in zip(ids, raws, strict=False):
            if not raw:
                missing.append(job_id)
                continue
            record, finished_at = _decode_record(raw)
            if not self._expired(finished_at):
                records.append(record)
        if missing:
            with contextlib.suppress(RedisUnavailable), map_redis_errors():
                await self.client.zrem(zkey, *missing)
        next_cursor = str(int(ids[limit - 1][1])) if len(ids) > limit else None
        return records, next_cursor

    async def set_report(self, job_id: str, report: bytes) -> None:
        await self.set_report_leased(job_id, None, report)

    async def set_report_leased(self, job_id: str, lease: str | None, report: bytes) -> None:
        """``set_report`` for a worker: raises :class:`LeaseLost` when ``lease`` is no longer the job's."""
        keys = [self.key("job", job_id), self.key("report", job_id)]
        args = [report, lease or "", int(self._ttl_s * 1000), int(self._stale_s * 1000)]
        await self._script(job_id, self._report_script, keys, args)

    async def get_report(self, job_id: str) -> bytes | None:
        with map_redis_errors():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hget(self.key("job", job_id), "_fin")
                pipe.exists(self.key("job", job_id))
                pipe.get(self.key("report", job_id))
                fin, exists, report = await pipe.execute()
        if not exists:
            raise await self._gone(job_id)
        if self._expired(float(fin) if fin else None):
            raise JobExpired()
        return bytes(report) if report is not None else None

    # --- events --------------------------------------------------------------------------------------

    async def append(self, job_id: str, event: str, data: bytes, *, lease: str | None = None) -> str:
        """Append an event; with ``lease``, only while that lease is the job's (else :class:`LeaseLost`).

        Raises ``RuntimeError`` once the job has ended, ``NotFound``/``JobExpired`` for no job.
        """
        final = event in FINAL_EVENTS
        now = self._clock()
        keys = [self.key(k, job_id) for k in ("job", "ev", "report", "gone")]
        args = [
            event,
            data,
            "1" if final else "0",
            repr(now),
            int(self._ttl_s * 1000),
            lease or "",
            int(self._stale_s * 1000),
            int(self._tombstone_s * 1000),
        ]
        entry_id = _text(await self._script(job_id, self._append_script, keys, args))
        if final:
            self._remember(job_id, now)
        return entry_id

    async def _script(self, job_id: str, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            with map_redis_errors():
                return await script(keys=keys, args=args)
        except redis_errors.ResponseError as exc:
            message = str(exc)
            if message.startswith(_ENDED):
                raise RuntimeError(f"job {job_id} has already ended; nothing can be appended") from None
            if message.startswith(_LEASE):
                raise LeaseLost(f"job {job_id} was reclaimed by another worker") from None
            if message.startswith(_NOJOB):
                raise await self._gone(job_id) from None
            raise

    async def take_lease(self, job_id: str, lease: str) -> tuple[bool, str | None, int]:
        """Make ``lease`` the only one allowed to write to the job: (job exists, final id if ended, entries)."""
        keys = [self.key("job", job_id), self.key("ev", job_id)]
        with map_redis_errors():
            exists, ended, length = await self._lease_script(keys=keys, args=[lease])
        return bool(exists), _text(ended) if ended else None, int(length)

    async def events(self, job_id: str) -> list[LogEvent]:
        """Every event of the job so far (one ``XRANGE``; a job has thousands at most)."""
        with map_redis_errors():
            raw: Any = await self.client.xrange(self.key("ev", job_id))
        return _entries(raw)

    def read(self, job_id: str, after: str | None = None) -> AsyncIterator[LogEvent]:
        last = _check_after(after)
        if job_id not in self._known:
            raise NotFound()
        if self._expired(self._known[job_id]):
            raise JobExpired()
        return self._follow(job_id, last)

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, retried while Redis is down for at most ``grace_s`` (then ``RedisUnavailable``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._grace_s
        backoff = 0.05
        while True:
            try:
                return await call()
            except RedisUnavailable:
                if self._closed or loop.time() + backoff > deadline:
                    raise
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    async def _replay_batch(self, job_id: str, last: str) -> tuple[list[LogEvent], str | None, bool, bool]:
        """Entries after ``last``, the final id if the job ended, whether it exists, and whether the batch is full."""
        with map_redis_errors():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.xrange(self.key("ev", job_id), f"({last}", "+", count=_BATCH)
                pipe.hget(self.key("job", job_id), "_ended")
                pipe.exists(self.key("job", job_id))
                raw, ended, exists = await pipe.execute()
        return _entries(raw), _text(ended) if ended else None, bool(exists), len(raw) >= _BATCH

    async def _follow(self, job_id: str, last: str) -> AsyncIterator[LogEvent]:
        key = self.key("ev", job_id)
        # Replay: XRANGE until a short batch. MULTI makes "ended" and the entries one snapshot.
        while True:
            events, ended, exists, full = await self._retrying(functools.partial(self._replay_batch, job_id, last))
            if not exists and not events:
                raise await self._gone(job_id)
            for entry in events:
                yield entry
                last = entry.id
                if entry.final:
                    return
            if ended is not None and _sid(ended) <= _sid(last):
                return  # resumed at or after the final event
            if not full:
                break
        if self._closed:
            return
        if self._tail_kind == "per_listener":
            async for entry in self._follow_direct(key, last):
                yield entry
            return
        waiter, delivered = self._tail.subscribe(key, last)
        try:
            behind = delivered is not None and _sid(delivered) > _sid(last)
            while True:
                if behind or waiter.lagged:
                    # Entries the tail delivered before we joined (or we dropped): read them ourselves.
                    behind, waiter.lagged = False, False
                    waiter.backlog.clear()
                    while True:
                        events, _ended, _exists, full = await self._retrying(
                            functools.partial(self._replay_batch, job_id, last)
                        )
                        for entry in events:
                            yield entry
                            last = entry.id
                            if entry.final:
                                return
                        if not full:
                            break
                    continue
                if waiter.backlog:
                    entry = waiter.backlog.popleft()
                    if _sid(entry.id) <= _sid(last):
                        continue
                    yield entry
                    last = entry.id
                    if entry.final:
                        return
                    continue
                if waiter.error is not None:
                    raise waiter.error
                if waiter.closed:
                    return
                waiter.wakeup.clear()
                await waiter.wakeup.wait()
        finally:
            self._tail.unsubscribe(key, waiter)

    async def _follow_direct(self, key: str, last: str) -> AsyncIterator[LogEvent]:
        """The per-listener tail: this reader's own blocking ``XREAD`` on a pooled connection."""
        while not self._closed:

            async def xread(after: str = last) -> Any:
                with map_redis_errors():
                    return await self.client.xread({key: after}, count=_BATCH, block=self._block_ms)

            try:
                reply = await self._retrying(xread)
            except RedisUnavailable:
                if self.closed:
                    return
                raise
            for _key, events in _stream_reply(reply):
                for entry in events:
                    yield entry
                    last = entry.id
                    if entry.final:
                        return

    # --- health and shutdown ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def tail_stats(self) -> dict[str, int]:
        """Live readers waiting on the shared tail, its connections, and its ``XREAD`` calls so far."""
        return {"waiters": self._tail.waiters, "connections": self._tail.connections, "reads": self._tail.reads}

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(1.0):
                return bool(await self.client.ping())
        except Exception:
            return False

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._tail.close()
        if self._owns_client:
            await self.client.aclose()


def _decode_record(raw: Mapping[bytes | str, bytes | str]) -> tuple[JobRecord, float | None]:
    values: dict[str, Any] = {}
    finished_at = None
    for name, value in raw.items():
        key = _text(name)
        if key in _RECORD_FIELDS:
            values[key] = orjson.loads(value)
        elif key == "_fin":
            finished_at = float(value)
    return JobRecord(**values), finished_at
