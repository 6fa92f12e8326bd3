"""The job queue on a Redis Stream with a consumer group, and the consumer that runs its jobs.

::

    serve replica ──XADD──▶ P:queue (stream, group "workers") ──XREADGROUP / XAUTOCLAIM──▶ consumer
                   ├─HSET──▶ P:input:{id} (the PDF, TTL)                     ▲                │
                   └─SET───▶ P:password:{id} (short TTL, GETDEL at start)    │                │
                                                                             └──XCLAIM (fresh)┘
                                                                               XACK + XDEL when done

A consumer takes at most ``max_active`` jobs at a time. Before it blocks for a new job it
reclaims one whose consumer has not touched it for ``claim_idle_s`` (``XAUTOCLAIM``): that
worker died. A live consumer re-``XCLAIM``s its own jobs every ``claim_idle_s / 3``, in a
script that first checks it still owns them, so a long job is never stolen from it; and if
one was (the worker stalled for longer than that), the job's lease has moved and every write
of the stalled worker fails (:class:`~compliance_sse.eventlog.redis.LeaseLost`), so it stops.

Reclaimed jobs are run again from the start, and the first events are not appended again:
the rerun's n-th event *is* the stored n-th event (the pipeline is deterministic: the same
bytes give the same pages, the same findings, in the same order), so the consumer skips as
many events as the stream already holds and appends from there. A ``flag`` skipped that way
whose id is not among the stored flags (a non-deterministic analyzer) is appended late rather
than lost, a stored flag is never appended twice, and ``percent`` never goes below what was
already sent. A job delivered more than ``max_attempts`` times (it keeps killing its worker)
ends with an ``error`` event. On shutdown, running jobs get a grace period, then go back to
the queue at once (their entries are marked idle, so another worker takes them now).

A PDF's password is kept apart from its input, under ``P:password:{id}`` with a short TTL
(``password_ttl_s``), and taken with ``GETDEL`` when a worker starts the job: from then on
only that worker's memory holds it. A job given back on shutdown or after a Redis outage
gets its password stored again (same TTL); a job whose worker died cannot, so its rerun ends
with ``password_required`` (the client sends the document and its password again), as does a
job that waited in the queue longer than the password's TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redis import exceptions as redis_errors

from ..errors import InternalError, JobExpired, NotFound, PasswordRequired
from ..eventlog.base import EventLog
from ..eventlog.redis import LeaseLost, RedisEventLog
from ..eventlog.redis_errors import CHECK_LIMIT_S, COMMAND_LIMIT_S, RedisUnavailable, command
from ..eventlog.redis_leased import LeasedLog
from ..pipeline.models import Job
from ..tasks import stop
from .cache import ResultCache

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_PASSWORD_TTL_S",
    "GROUP",
    "JobQueue",
    "QueueConsumer",
    "RunJob",
    "consumer_name",
]

log = logging.getLogger(__name__)

GROUP = "workers"
DEFAULT_MAX_ATTEMPTS = 3
"""Deliveries of one job (first run plus reclaims) before it ends with an ``error`` event."""
DEFAULT_PASSWORD_TTL_S = 600
"""How long (s) a queued job's PDF password may wait in Redis for a worker to start the job."""

RunJob = Callable[[Job, EventLog], Awaitable[None]]

# KEYS: queue. ARGV: group, consumer, entry ids. Re-claims (resetting the idle time) the entries
# this consumer still owns; returns the ones it lost.
_REFRESH = """
local lost = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""


def consumer_name() -> str:
    """``<host>-<pid>-<random>``: unique per process start, and tells an operator where a job runs."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def _no_group(exc: redis_errors.ResponseError) -> bool:
    """Whether Redis answered that the queue or its group does not exist (it restarted without its data)."""
    return "NOGROUP" in str(exc)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One delivery of a job: its number, its input (``None`` once expired) and events before any worker's.

    ``password_lost``: the job was submitted with a password that Redis no longer holds (an
    earlier attempt took it and died, or it outlived its TTL in the queue).
    """

    number: int
    job: Job | None
    base: int
    password_lost: bool = False


@dataclass(frozen=True, slots=True)
class _Claimed:
    entry_id: str
    job_id: str


class JobQueue:
    """``P:queue`` and the job inputs ``P:input:{id}``; knows whether Redis answers and the backlog.

    ``healthy`` and ``backlog`` (jobs queued or running, cluster-wide) are refreshed every
    ``poll_s`` by :meth:`start`'s monitor, so a view can refuse an upload without awaiting Redis.
    """

    def __init__(
        self,
        event_log: RedisEventLog,
        *,
        input_ttl_s: float = 3600,
        password_ttl_s: float = DEFAULT_PASSWORD_TTL_S,
        poll_s: float = 1.0,
    ) -> None:
        self.client = event_log.client
        self.key = f"{event_log.prefix}:queue"
        self._log = event_log
        self._input_ttl_ms = int(input_ttl_s * 1000)
        self._password_ttl_ms = max(1, int(password_ttl_s * 1000))
        self._poll_s = poll_s
        self._refresh = self.client.register_script(_REFRESH)
        self._group_ready = False
        self._monitor: asyncio.Task[None] | None = None
        self.healthy = True
        self.backlog = 0

    def input_key(self, job_id: str) -> str:
        return self._log.key("input", job_id)

    def password_key(self, job_id: str) -> str:
        return self._log.key("password", job_id)

    async def start(self) -> None:
        """Create the group if need be and start the monitor; never raises for an outage."""
        await self.check()
        self._monitor = asyncio.create_task(self._watch(), name="csse-queue-monitor")

    async def close(self) -> None:
        if self._monitor is not None:
            await stop(self._monitor)
            self._monitor = None

    async def check(self) -> bool:
        """Make sure the group exists and read the backlog; sets and returns ``healthy``.

        The group is created again on every check: a Redis restarted without its data has
        none, and until it has one no job can be taken (``/readyz`` answers 503 meanwhile).
        """
        self._group_ready = False
        try:
            async with command(CHECK_LIMIT_S):
                await self.ensure_group()
                self.backlog = int(await self.client.xlen(self.key))
            self.healthy = True
        except RedisUnavailable:
            self.healthy = False
        return self.healthy

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            await self.check()

    async def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            async with command():
                await self.client.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def enqueue(self, job: Job, *, tenant: str, base: int) -> None:
        """Store the job's input (with a TTL) and queue it. ``base``: events the stream holds before any worker's."""
        fields: dict[Any, Any] = {
            "data": job.data,
            "doc_name": job.doc_name,
            "sha256": job.sha256,
            "tenant": tenant,
            "base": base,
            "attempts": 0,
        }
        if job.password is not None:
            fields["locked"] = 1  # the password itself is in its own key, see put_passwords
        await self.ensure_group()
        try:
            async with command(), self.client.pipeline(transaction=True) as pipe:
                pipe.hset(self.input_key(job.job_id), mapping=fields)
                pipe.pexpire(self.input_key(job.job_id), self._input_ttl_ms)
                if job.password is not None:
                    pipe.set(self.password_key(job.job_id), job.password, px=self._password_ttl_ms)
                pipe.xadd(self.key, {"job": job.job_id})
                await pipe.execute()
        except RedisUnavailable:
            self.healthy = False
            raise
        self.backlog += 1

    async def claim(self, consumer: str, *, min_idle_ms: int, block_ms: int) -> _Claimed | None:
        """A job whose worker died (idle ``min_idle_ms``), else a new one, waiting up to ``block_ms``."""
        await self.ensure_group()
        try:
            async with command(block_ms / 1000 + COMMAND_LIMIT_S):
                autoclaimed: Any = await self.client.xautoclaim(self.key, GROUP, consumer, min_idle_ms, "0-0", count=1)
                claimed = autoclaimed[1]
                for entry_id, fields in claimed:
                    if fields:
                        log.info("reclaiming queue entry %s from a worker that stopped", _text(entry_id))
                        return _Claimed(_text(entry_id), _text(fields[b"job"]))
                reply: Any = await self.client.xreadgroup(GROUP, consumer, {self.key: ">"}, count=1, block=block_ms)
        except redis_errors.ResponseError as exc:
            if not (_no_group(exc) or str(exc).startswith("UNBLOCKED")):
                raise
            self._group_ready = False  # the stream was deleted: make it again next time
            return None
        items = reply.items() if isinstance(reply, dict) else (reply or [])
        for _key, entries in items:
            for entry_id, fields in entries:
                if fields:
                    return _Claimed(_text(entry_id), _text(fields[b"job"]))
        return None

    async def start_attempt(self, job_id: str) -> _Attempt:
        """Count one more delivery of the job and take its input, and its password out of Redis."""
        key = self.input_key(job_id)
        async with command(), self.client.pipeline(transaction=True) as pipe:
            pipe.exists(key)
            pipe.hincrby(key, "attempts", 1)
            pipe.hgetall(key)
            pipe.getdel(self.password_key(job_id))
            exists, attempts, raw, password = await pipe.execute()
        if not exists:
            async with command():
                await self.client.delete(key)  # HINCRBY made a stub
            return _Attempt(0, None, 0)
        fields = {_text(k): v for k, v in raw.items()}
        job = Job(
            job_id=job_id,
            data=bytes(fields["data"]),
            doc_name=_text(fields["doc_name"]),
            sha256=_text(fields["sha256"]),
            password=_text(password) if password is not None else None,
            tenant=_text(fields.get("tenant", b"default")),
        )
        lost = "locked" in fields and password is None
        return _Attempt(int(attempts), job, int(fields.get("base", 0)), lost)

    async def ack(self, entry_id: str, job_id: str) -> None:
        """The job is over: forget its entry and input."""
        async with command(), self.client.pipeline(transaction=True) as pipe:
            pipe.xack(self.key, GROUP, entry_id)
            pipe.xdel(self.key, entry_id)
            pipe.delete(self.input_key(job_id), self.password_key(job_id))
            await pipe.execute()

    async def refresh(self, consumer: str, entry_ids: list[str]) -> list[str]:
        """Keep this consumer's claims fresh; returns the entries it no longer owns."""
        try:
            async with command():
                lost = await self._refresh(keys=[self.key], args=[GROUP, consumer, *entry_ids])
        except redis_errors.ResponseError as exc:
            if not _no_group(exc):
                raise
            # Redis lost the queue (restarted empty): the jobs went with it, and find that out
            # themselves on their next write. Nobody else can claim them.
            self._group_ready = False
            return []
        return [_text(e) for e in lost]

    async def release(
        self,
        consumer: str,
        entries: Mapping[str, str | None],
        *,
        idle_ms: int,
        passwords: Mapping[str, str] | None = None,
    ) -> None:
        """Give jobs back: mark their entries idle for ``idle_ms`` so another worker reclaims them now.

        ``entries`` maps entry id to job id (``None`` for an entry never started); a started job's
        attempt is not counted against it, since it did not fail. ``passwords`` (job id to password,
        taken when the jobs started) are stored again with the short TTL, for the next worker.
        """
        if not entries:
            return
        try:
            async with command(), self.client.pipeline(transaction=True) as pipe:
                for taken, password in (passwords or {}).items():
                    pipe.set(self.password_key(taken), password, px=self._password_ttl_ms)
                pipe.xclaim(self.key, GROUP, consumer, 0, list(entries), idle=idle_ms, justid=True)
                for job_id in entries.values():
                    if job_id is not None:
                        pipe.hincrby(self.input_key(job_id), "attempts", -1)
                await pipe.execute()
        except redis_errors.ResponseError as exc:
            if not _no_group(exc):
                raise
            # Redis restarted empty: the entries are gone with the queue, nothing to give back.
            # The group is made again before the next claim (the loop must not retry this forever).
            self._group_ready = False

    async def pending_of(self, consumer: str) -> list[str]:
        """Entries delivered to ``consumer`` and not acknowledged."""
        try:
            async with command():
                rows: Any = await self.client.xpending_range(self.key, GROUP, "-", "+", 1000, consumername=consumer)
        except redis_errors.ResponseError as exc:
            if not _no_group(exc):
                raise
            return []
        return [_text(row["message_id"]) for row in rows]


@dataclass(slots=True)
class _Running:
    job_id: str
    task: asyncio.Task[None]
    log: LeasedLog | None = None


class QueueConsumer:
    """Takes jobs from a :class:`JobQueue` and runs each with ``run(job, log)``, at most ``max_active`` at once.

    ``log`` is the job's view of the event log: writes only while this consumer holds the
    job's lease, events a previous attempt appended are not appended again. Times in seconds.
    """

    def __init__(
        self,
        queue: JobQueue,
        event_log: RedisEventLog,
        run: RunJob,
        *,
        max_active: int,
        claim_idle_s: float = 30,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        cache: ResultCache | None = None,
        analyzer_id: tuple[str, str | None] = ("rules", None),
        name: str | None = None,
        block_s: float = 5.0,
    ) -> None:
        if max_active < 1 or max_attempts < 1 or claim_idle_s <= 0:
            raise ValueError("max_active and max_attempts must be at least 1, claim_idle_s positive")
        self.name = name or consumer_name()
        self._queue = queue
        self._log = event_log
        self._run = run
        self._max_active = max_active
        self._claim_idle_ms = max(1, int(claim_idle_s * 1000))
        self._refresh_s = claim_idle_s / 3
        self._block_ms = max(1, int(min(block_s, claim_idle_s / 2) * 1000))
        self._max_attempts = max_attempts
        self._cache = cache
        self._analyzer_id = analyzer_id
        self._slots = asyncio.Semaphore(max_active)
        self._running: dict[str, _Running] = {}
        self._to_release: dict[str, str | None] = {}
        self._passwords: dict[str, str] = {}  # job id to password, for the jobs this consumer took
        self._tasks: list[asyncio.Task[None]] = []
        self._taking = False
        self.failing = False  # the last attempt to take a job failed (``/readyz`` answers 503)

    @property
    def active(self) -> int:
        return len(self._running)

    @property
    def taking(self) -> bool:
        return self._taking

    async def start(self) -> None:
        self._taking = True
        self._tasks = [
            asyncio.create_task(self._take_loop(), name=f"csse-consumer-{self.name}"),
            asyncio.create_task(self._refresh_loop(), name=f"csse-claims-{self.name}"),
        ]
        log.info("consumer %s takes up to %d jobs from %s", self.name, self._max_active, self._queue.key)

    def stop_taking(self) -> None:
        """Take no new job; running ones go on (SIGTERM, ``/readyz`` 503)."""
        self._taking = False
        if self._tasks:
            self._tasks[0].cancel()

    async def close(self, grace_s: float = 10.0) -> None:
        """Stop taking jobs, give running ones ``grace_s`` to finish, then put the rest back on the queue."""
        self.stop_taking()
        if self._tasks:
            await stop(self._tasks[0])
        running = [r.task for r in self._running.values()]
        if running:
            await asyncio.wait(running, timeout=grace_s)
        unfinished = {entry_id: r for entry_id, r in self._running.items() if not r.task.done()}
        for r in unfinished.values():
            if r.log is not None:
                r.log.revoke()  # the cancelled runner must not end the job with an error event
        await stop(*(r.task for r in unfinished.values()))
        await stop(*self._tasks)
        self._tasks = []
        with contextlib.suppress(RedisUnavailable, redis_errors.ResponseError):  # Redis down, or the queue deleted
            # Also entries delivered to us while we were cancelled mid-XREADGROUP.
            held: dict[str, str | None] = dict.fromkeys(await self._queue.pending_of(self.name))
            held.update({entry_id: r.job_id for entry_id, r in unfinished.items()})
            await self._give_back(held)
            if held:
                log.info("consumer %s put %d job(s) back on the queue", self.name, len(held))

    def abandon(self) -> None:
        """Stop at once and leave claimed jobs to be reclaimed, as a crash would (for tests)."""
        self._taking = False
        for r in self._running.values():
            if r.log is not None:
                r.log.revoke()
            r.task.cancel()
        for task in self._tasks:
            task.cancel()

    async def _take_loop(self) -> None:
        backoff = 0.05
        while self._taking:
            await self._slots.acquire()
            try:
                await self._release_dropped()
                claimed = await self._queue.claim(self.name, min_idle_ms=self._claim_idle_ms, block_ms=self._block_ms)
            except asyncio.CancelledError:
                self._slots.release()
                raise
            except Exception as exc:
                self._slots.release()
                if not isinstance(exc, RedisUnavailable) and not self.failing:
                    log.exception("taking a job from the queue failed; retrying")  # once, not per retry
                self.failing = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff, self.failing = 0.05, False
            if claimed is None or claimed.entry_id in self._running:
                # XAUTOCLAIM handed back a job this consumer still runs (its claim went stale while
                # Redis did not answer): that refreshed the claim; a second run would fence the first.
                self._slots.release()
                continue
            task = asyncio.create_task(self._process(claimed), name=f"job-{claimed.job_id}")
            self._running[claimed.entry_id] = _Running(claimed.job_id, task)
            task.add_done_callback(functools.partial(self._finished, claimed.entry_id))

    def _finished(self, entry_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(entry_id, None)
        self._slots.release()

    async def _release_dropped(self) -> None:
        """Give back the jobs dropped while Redis was away, so they need not wait ``claim_idle_s``."""
        if self._to_release:
            dropped = dict(self._to_release)
            await self._give_back(dropped)
            for entry_id in dropped:
                self._to_release.pop(entry_id, None)

    async def _give_back(self, entries: Mapping[str, str | None]) -> None:
        """Release ``entries`` (entry id to job id) with the passwords this consumer took for them."""
        job_ids = [job_id for job_id in entries.values() if job_id is not None]
        passwords = {job_id: self._passwords[job_id] for job_id in job_ids if job_id in self._passwords}
        await self._queue.release(self.name, entries, idle_ms=self._claim_idle_ms, passwords=passwords)
        for job_id in job_ids:
            self._passwords.pop(job_id, None)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            with contextlib.suppress(RedisUnavailable):
                await self._release_dropped()
            if not self._running:
                continue
            try:
                lost = await self._queue.refresh(self.name, list(self._running))
            except RedisUnavailable:
                continue  # nobody can reclaim them either while Redis is down
            except redis_errors.ResponseError:
                log.exception("refreshing the claims of consumer %s failed", self.name)
                continue
            for entry_id in lost:
                running = self._running.get(entry_id)
                if running is not None and not running.task.done():
                    log.warning("job %s was reclaimed by another worker; this one stops it", running.job_id)
                    if running.log is not None:
                        running.log.revoke()
                    running.task.cancel()

    async def _process(self, claimed: _Claimed) -> None:
        job_id = claimed.job_id
        lease = f"{self.name}/{claimed.entry_id}/{secrets.token_hex(4)}"
        leased = LeasedLog(self._log, job_id, lease)
        running = self._running.get(claimed.entry_id)
        if running is not None:
            running.log = leased
        try:
            exists, ended, length = await leased.take()
            if not exists or ended is not None:
                await self._queue.ack(claimed.entry_id, job_id)  # expired, or finished before its worker died
                return
            attempt = await self._queue.start_attempt(job_id)
            job = attempt.job
            if job is not None and job.password is not None:
                self._passwords[job_id] = job.password  # stored again if the job goes back to the queue
            if job is None:
                await leased.fail(
                    InternalError("The job waited too long in the queue; submit it again.", retryable=True)
                )
            elif attempt.number > self._max_attempts:
                log.warning("job %s failed %d times; giving up", job_id, attempt.number - 1)
                await leased.fail(
                    InternalError(
                        f"Processing this document stopped its worker {attempt.number - 1} times; it was given up."
                    )
                )
            elif attempt.password_lost:
                log.warning("job %s restarted without its password, which is kept only until a job starts", job_id)
                await leased.fail(
                    PasswordRequired(
                        "The password is kept only until the job starts, and this job had to start again;"
                        " send the document and its password again."
                    )
                )
            else:
                if length > attempt.base:
                    leased.resume_after((await self._log.events(job_id))[attempt.base :])
                if self._cache is not None and job.password is None:
                    # A report behind a password is only for who knows the password.
                    leased.on_report = functools.partial(self._cache_report, job)
                await self._run(job, leased)
                if leased.revoked:
                    raise LeaseLost(f"job {job_id} is no longer this worker's")
            await self._queue.ack(claimed.entry_id, job_id)
        except (NotFound, JobExpired):
            # The job's keys are gone under it (Redis restarted without its data): nothing can
            # be written for it any more; its open streams end with ``job_lost``.
            log.warning("job %s is no longer in Redis (restarted without its data?); dropped", job_id)
            with contextlib.suppress(RedisUnavailable):
                await self._queue.ack(claimed.entry_id, job_id)
        except (LeaseLost, RedisUnavailable) as exc:
            # Reclaimed by another worker: nothing to do. Redis went away: the job starts again.
            if isinstance(exc, RedisUnavailable) or leased.outage:
                log.warning("Redis went away during job %s; it goes back to the queue", job_id)
                self._to_release[claimed.entry_id] = job_id
                with contextlib.suppress(RedisUnavailable):
                    await self._release_dropped()
                return  # its password stays here until the entry is given back
        except Exception:
            # Anything else escaping here would leave the entry claimed by this live consumer, which
            # keeps its claim fresh: nobody would ever end the job and its streams would wait for it.
            log.exception("job %s failed in the queue consumer; it ends with an error", job_id)
            with contextlib.suppress(Exception):
                await leased.fail(InternalError())
                await self._queue.ack(claimed.entry_id, job_id)
        self._passwords.pop(job_id, None)

    async def _cache_report(self, job: Job, report: bytes) -> None:
        if self._cache is None:
            return
        with contextlib.suppress(RedisUnavailable):
            await self._cache.put(job.tenant, job.sha256, *self._analyzer_id, report)
