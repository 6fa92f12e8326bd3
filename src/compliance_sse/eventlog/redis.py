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
    One ``XREAD BLOCK`` connection per process serves every live reader
    (:mod:`compliance_sse.eventlog.redis_tail`).
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
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import fields
from typing import Any, Literal, TypeVar

import orjson
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from ..errors import BadRequest, JobExpired, JobLost, NotFound
from ..events import FINAL_EVENTS
from .base import EventLog, JobRecord, LeaseLost, LogEvent, flatten
from .redis_connection import BLOCK_S, connect
from .redis_errors import CHECK_LIMIT_S, RedisUnavailable, command, map_redis_errors
from .redis_tail import BATCH, SharedTail, decode_entries, stream_id, stream_reply, text

__all__ = ["DEFAULT_GRACE_S", "DEFAULT_LOST_CHECK_S", "DEFAULT_STREAMS_PER_READ", "LeaseLost", "RedisEventLog", "Tail"]

T = TypeVar("T")
Tail = Literal["shared", "per_listener"]

DEFAULT_GRACE_S = 5.0
"""How long (s) a live reader waits for Redis to come back before it ends with ``broker_unavailable``."""
DEFAULT_LOST_CHECK_S = 10.0
"""How often (s) a live reader with nothing to read checks that its job still exists in Redis."""
DEFAULT_STREAMS_PER_READ = 1000
"""Streams one shared ``XREAD`` names at most; more live jobs open another connection (``bench/listeners.py``)."""

FIRST_REPLAY_BATCH = 100
"""Entries of a resume's first ``XRANGE``: few, so its first event is written at once."""
REPLAY_BATCH = 1000
"""Entries of each later ``XRANGE`` of a resume, written to the stream together."""
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


def _check_after(after: str | None) -> str:
    if after is None or after == "":
        return "0-0"
    raw = after.encode("ascii", "replace")
    if not _ID.match(raw):
        raise _invalid_id()
    return after


def _invalid_id() -> BadRequest:
    return BadRequest("Last-Event-ID is not an id this service issued for this job.", code="invalid_last_event_id")


class RedisEventLog(EventLog):
    """The :class:`EventLog` on Redis (see the module docstring for the layout).

    ``client`` should come from :func:`compliance_sse.eventlog.redis_connection.connect` (or have a
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
        lost_check_s: float = DEFAULT_LOST_CHECK_S,
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
        self._lost_check_s = lost_check_s
        self._block_ms = max(1, int(block_s * 1000))
        self._clock = clock
        self._owns_client = owns_client
        self._known: collections.OrderedDict[str, float | None] = collections.OrderedDict()
        self._closed = False
        self._tail = SharedTail(
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
        async with command():
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
        async with command():
            await self._create_script(keys=keys, args=args)
        self._remember(record.job_id, None)

    async def get_job(self, job_id: str) -> JobRecord:
        async with command():
            raw = await self.client.hgetall(self.key("job", job_id))
        if not raw:
            raise await self._gone(job_id)
        record, finished_at = _decode_record(raw)
        self._remember(job_id, finished_at)
        if self._expired(finished_at):
            raise JobExpired()
        return record

    async def update_job(self, job_id: str, **changes: Any) -> None:
        await self._update_job_leased(job_id, None, changes)

    # The _*_leased methods and _take_lease are for redis_leased.LeasedLog, a worker's view of one job.

    async def _update_job_leased(self, job_id: str, lease: str | None, changes: Mapping[str, Any]) -> None:
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
        async with command():
            ids: list[Any] = await self.client.zrevrangebyscore(
                zkey, top, "-inf", start=0, num=limit + 1, withscores=True
            )
            async with self.client.pipeline(transaction=False) as pipe:
                for job_id, _score in ids[:limit]:
                    pipe.hgetall(self.key("job", text(job_id)))
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
            with contextlib.suppress(RedisUnavailable):
                async with command():
                    await self.client.zrem(zkey, *missing)
        next_cursor = str(int(ids[limit - 1][1])) if len(ids) > limit else None
        return records, next_cursor

    async def set_report(self, job_id: str, report: bytes) -> None:
        await self._set_report_leased(job_id, None, report)

    async def _set_report_leased(self, job_id: str, lease: str | None, report: bytes) -> None:
        """``set_report`` for a worker: raises :class:`LeaseLost` when ``lease`` is no longer the job's."""
        keys = [self.key("job", job_id), self.key("report", job_id)]
        args = [report, lease or "", int(self._ttl_s * 1000), int(self._stale_s * 1000)]
        await self._script(job_id, self._report_script, keys, args)

    async def get_report(self, job_id: str) -> bytes | None:
        async with command(), self.client.pipeline(transaction=True) as pipe:
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

    async def append(self, job_id: str, event: str, data: bytes) -> str:
        """Append an event. Raises ``RuntimeError`` once the job has ended, ``NotFound``/``JobExpired`` for no job."""
        return await self._append_leased(job_id, None, event, data)

    async def _append_leased(self, job_id: str, lease: str | None, event: str, data: bytes) -> str:
        """``append``, with ``lease`` only while that lease is the job's (else :class:`LeaseLost`)."""
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
        entry_id = text(await self._script(job_id, self._append_script, keys, args))
        if final:
            self._remember(job_id, now)
        return entry_id

    async def _script(self, job_id: str, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            async with command():
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

    async def _take_lease(self, job_id: str, lease: str) -> tuple[bool, str | None, int]:
        """Make ``lease`` the only one allowed to write to the job: (job exists, final id if ended, entries)."""
        keys = [self.key("job", job_id), self.key("ev", job_id)]
        async with command():
            exists, ended, length = await self._lease_script(keys=keys, args=[lease])
        return bool(exists), text(ended) if ended else None, int(length)

    async def events(self, job_id: str) -> list[LogEvent]:
        """Every event of the job so far (one ``XRANGE``; a job has thousands at most)."""
        async with command():
            raw: Any = await self.client.xrange(self.key("ev", job_id))
        return decode_entries(raw)

    async def ended_at(self, job_id: str, after: str) -> bool:
        last = _check_after(after)
        async with command(), self.client.pipeline(transaction=True) as pipe:
            pipe.xrange(self.key("ev", job_id), last, last, count=1)
            pipe.hget(self.key("job", job_id), "_ended")
            found, ended = await pipe.execute()
        # An exact entry of this job's stream: a later id, another job's or a made-up one is not.
        if not found or text(found[0][0]) != last:
            raise _invalid_id()
        return ended is not None and text(ended) == last

    def read(self, job_id: str, after: str | None = None) -> AsyncIterator[LogEvent]:
        return flatten(self.read_batches(job_id, after))

    def read_batches(self, job_id: str, after: str | None = None) -> AsyncIterator[list[LogEvent]]:
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

    async def _replay_batch(self, job_id: str, last: str, count: int) -> tuple[list[LogEvent], str | None, bool, bool]:
        """Entries after ``last``, the final id if the job ended, whether it exists, and whether the batch is full."""
        async with command(), self.client.pipeline(transaction=True) as pipe:
            pipe.xrange(self.key("ev", job_id), f"({last}", "+", count=count)
            pipe.hget(self.key("job", job_id), "_ended")
            pipe.exists(self.key("job", job_id))
            raw, ended, exists = await pipe.execute()
        return decode_entries(raw), text(ended) if ended else None, bool(exists), len(raw) >= count

    async def _replay(self, job_id: str, last: str) -> AsyncIterator[tuple[list[LogEvent], str | None, bool]]:
        """The entries after ``last`` in lists, one ``XRANGE`` each: a short first one, so the first event goes
        out at once, then long ones for the rest of the backlog; each with the final id and whether the job exists.
        """
        count = FIRST_REPLAY_BATCH
        while True:
            events, ended, exists, full = await self._retrying(
                functools.partial(self._replay_batch, job_id, last, count)
            )
            yield events, ended, exists
            if not full:
                return
            last, count = events[-1].id, REPLAY_BATCH

    async def _follow(self, job_id: str, last: str) -> AsyncIterator[list[LogEvent]]:
        key = self.key("ev", job_id)
        # Replay: XRANGE until a short batch. MULTI makes "ended" and the entries one snapshot.
        async for events, ended, exists in self._replay(job_id, last):
            if not exists and not events:
                raise await self._gone(job_id)
            if events:
                batch = _upto_final(events)
                yield batch
                last = batch[-1].id
                if batch[-1].final:
                    return
            if ended is not None and stream_id(ended) <= stream_id(last):
                return  # resumed at or after the final event
        if self._closed:
            return
        if self._tail_kind == "per_listener":
            async for batch in self._follow_direct(job_id, last):
                yield batch
            return
        waiter, delivered = self._tail.subscribe(key, last)
        try:
            behind = delivered is not None and stream_id(delivered) > stream_id(last)
            while True:
                if behind or waiter.lagged:
                    # Entries the tail delivered before we joined (or we dropped): read them ourselves.
                    behind, waiter.lagged = False, False
                    waiter.backlog.clear()
                    async for events, _ended, _exists in self._replay(job_id, last):
                        if events:
                            batch = _upto_final(events)
                            yield batch
                            last = batch[-1].id
                            if batch[-1].final:
                                return
                    continue
                if waiter.backlog:
                    after = stream_id(last)
                    batch = _upto_final([e for e in waiter.backlog if stream_id(e.id) > after])
                    waiter.backlog.clear()
                    if batch:
                        yield batch
                        last = batch[-1].id
                        if batch[-1].final:
                            return
                    continue
                if waiter.error is not None:
                    raise waiter.error
                if waiter.closed:
                    return
                waiter.wakeup.clear()
                try:
                    async with asyncio.timeout(self._lost_check_s):
                        await waiter.wakeup.wait()
                except TimeoutError:
                    waiter.recheck = True
                if waiter.recheck:
                    waiter.recheck = False
                    await self._check_not_lost(job_id)
        finally:
            self._tail.unsubscribe(key, waiter)

    async def _check_not_lost(self, job_id: str) -> None:
        """Raise :class:`JobLost` when the job a live reader follows is no longer in Redis.

        Its record lives until ``stale_s`` after its last write and ``ttl_s`` after its end, and
        a reader stops at the end: a missing record means Redis lost it (restarted without its
        data, or flushed), and no event will ever come.
        """

        async def exists() -> int:
            async with command(CHECK_LIMIT_S):
                return int(await self.client.exists(self.key("job", job_id)))

        if not await self._retrying(exists):
            raise JobLost()

    async def _follow_direct(self, job_id: str, last: str) -> AsyncIterator[list[LogEvent]]:
        """The per-listener tail: this reader's own blocking ``XREAD`` on a pooled connection."""
        key = self.key("ev", job_id)
        loop = asyncio.get_running_loop()
        checked = loop.time()
        while not self._closed:

            async def xread(after: str = last) -> Any:
                with map_redis_errors():
                    return await self.client.xread({key: after}, count=BATCH, block=self._block_ms)

            try:
                reply = await self._retrying(xread)
            except RedisUnavailable:
                if self.closed:
                    return
                raise
            for _key, events in stream_reply(reply):
                if events:
                    batch = _upto_final(events)
                    yield batch
                    last = batch[-1].id
                    if batch[-1].final:
                        return
            if not reply and loop.time() - checked >= self._lost_check_s:
                await self._check_not_lost(job_id)
                checked = loop.time()

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


def _upto_final(events: list[LogEvent]) -> list[LogEvent]:
    """``events`` up to the final one, if one is among them (nothing follows it in a stream)."""
    for i, entry in enumerate(events):
        if entry.final:
            return events[: i + 1]
    return events


def _decode_record(raw: Mapping[bytes | str, bytes | str]) -> tuple[JobRecord, float | None]:
    values: dict[str, Any] = {}
    finished_at = None
    for name, value in raw.items():
        key = text(name)
        if key in _RECORD_FIELDS:
            values[key] = orjson.loads(value)
        elif key == "_fin":
            finished_at = float(value)
    return JobRecord(**values), finished_at
