"""Accept jobs, run them (here, or through the Redis queue), and refuse work beyond capacity."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from .cache import ReportCache
from .errors import ComplianceError, Overloaded, TooManyRequests
from .eventlog.base import EventLog, JobRecord
from .events import DoneEvent, FlagEvent, JobEvent, ProgressEvent
from .pipeline.models import Job
from .pipeline.runner import JobRunner
from .tasks import stop
from .upload import Upload

if TYPE_CHECKING:
    from .broker.queue import JobQueue, QueueConsumer

__all__ = ["JobManager", "new_job_id"]

log = logging.getLogger(__name__)

# The events submit() appends before the job runs: ``job`` and ``progress(queued)``.
_SUBMIT_EVENTS = 2


def new_job_id() -> str:
    """128 random bits, hex: unguessable, so a job id is no enumeration handle."""
    return secrets.token_hex(16)


class JobManager:
    """Creates jobs in the event log and runs each in a task of its own, or queues it.

    A job keeps running when its listener goes away. ``urls(job_id)`` gives the
    ``events_url`` and ``report_url`` announced in the ``job`` event.

    In memory mode a job beyond ``max_active`` running ones waits in this process (its
    ``queued`` event is already in the log) until a slot frees; uploads are refused with
    ``503 overloaded`` only when ``max_queued`` jobs are queued or running. A job waiting on
    the model costs no CPU, so ``max_active`` is sized for I/O: the extraction workers, the
    analysis threads and the model's concurrency bound the CPU and the requests.

    With a ``queue`` (the Redis broker), :meth:`submit` stores the job's input and queues it
    for whichever worker takes it; ``consumer`` is this process's own worker, if it runs one.
    A ``cache`` hit ends the job at once with the stored report. Capacity is then the queue's
    backlog (``max_queued``), and a broker that does not answer refuses uploads with
    ``503 broker_unavailable`` and ``Retry-After``.

    ``tenant_max_jobs`` (0: no limit) caps the unfinished jobs a tenant submitted through this
    process; beyond it :meth:`check_tenant` raises ``429 too_many_requests``. The ``cache`` is
    per tenant, so a hit never tells one tenant what another uploaded.
    """

    def __init__(
        self,
        *,
        event_log: EventLog,
        runner: JobRunner | None = None,
        max_active: int,
        urls: Callable[[str, str], dict[str, str]] | None = None,
        queue: JobQueue | None = None,
        consumer: QueueConsumer | None = None,
        cache: ReportCache | None = None,
        analyzer_id: tuple[str, str | None] = ("rules", None),
        max_queued: int = 1000,
        tenant_max_jobs: int = 0,
    ) -> None:
        self._log = event_log
        self._runner = runner
        self._max_active = max_active
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._urls = urls or _plain_urls
        self._closing = False
        self._queue = queue
        self._consumer = consumer
        self._cache = cache
        self._analyzer_id = analyzer_id
        self._max_queued = max_queued
        self._slots = asyncio.Semaphore(max_active)
        self._running = 0
        self._tenant_max_jobs = tenant_max_jobs
        self._tenant_jobs: dict[str, set[str]] = {}

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def can_take_jobs(self) -> bool:
        """Whether a job submitted now can run: the queue and its group exist, and our consumer is not failing."""
        if self._queue is None:
            return True
        if not self._queue.healthy:
            return False
        return self._consumer is None or not self._consumer.failing

    @property
    def active(self) -> int:
        """Jobs running in this process."""
        if self._queue is not None:
            return self._consumer.active if self._consumer is not None else 0
        return self._running

    @property
    def queued(self) -> int:
        """Jobs accepted by this process and waiting for a slot (memory mode)."""
        return len(self._tasks) - self._running

    def check_capacity(self) -> None:
        """Raise ``Overloaded`` when no job can start now (``RedisUnavailable`` when the broker is down)."""
        if self._closing:
            raise Overloaded(retry_after=10)
        if self._queue is not None:
            if not self._queue.healthy:
                from .eventlog.redis_errors import RedisUnavailable

                raise RedisUnavailable()
            if self._queue.backlog >= self._max_queued:
                raise Overloaded(retry_after=5)
        elif len(self._tasks) >= self._max_queued:
            raise Overloaded(retry_after=5)

    async def check_tenant(self, tenant: str) -> None:
        """Raise ``TooManyRequests`` when the tenant has ``tenant_max_jobs`` unfinished jobs here."""
        if not self._tenant_max_jobs:
            return
        job_ids = self._tenant_jobs.get(tenant, set())
        if len(job_ids) >= self._tenant_max_jobs and self._queue is not None:
            # Another process runs queued jobs: ask the log which of them have ended.
            for job_id in list(job_ids):
                try:
                    ended = (await self._log.get_job(job_id)).status in ("done", "failed")
                except ComplianceError:
                    ended = True  # expired or lost: no longer running
                if ended:
                    job_ids.discard(job_id)
        if len(job_ids) >= self._tenant_max_jobs:
            raise TooManyRequests(retry_after=5)

    def _track(self, tenant: str, job_id: str) -> None:
        if self._tenant_max_jobs:
            self._tenant_jobs.setdefault(tenant, set()).add(job_id)

    def _untrack(self, tenant: str, job_id: str) -> None:
        job_ids = self._tenant_jobs.get(tenant)
        if job_ids is not None:
            job_ids.discard(job_id)
            if not job_ids:
                del self._tenant_jobs[tenant]

    def urls(self, job_id: str, tenant: str) -> dict[str, str]:
        return self._urls(job_id, tenant)

    async def start(self) -> None:
        """Start watching the queue and this process's consumer (queue mode only)."""
        if self._queue is not None:
            await self._queue.start()
        if self._consumer is not None:
            await self._consumer.start()

    async def submit(self, upload: Upload, tenant: str) -> JobRecord:
        """Create the job, log its ``job`` and ``queued`` events, and start or queue it."""
        self.check_capacity()
        await self.check_tenant(tenant)
        job_id = new_job_id()
        record = JobRecord(job_id=job_id, tenant=tenant, doc_name=upload.doc_name, sha256=upload.sha256)
        cached = await self._cached(upload, tenant)
        await self._log.create_job(record)
        await self._log.append_event(job_id, JobEvent(job_id=job_id, **self.urls(job_id, tenant)))
        if cached is not None:
            await self._serve_cached(record, cached)
            return record
        await self._log.append_event(job_id, ProgressEvent(stage="queued", message="Queued", percent=0.0))
        job = Job(
            job_id=job_id,
            data=upload.data,
            doc_name=upload.doc_name,
            sha256=upload.sha256,
            password=upload.password,
            tenant=tenant,
        )
        if self._queue is not None:
            await self._queue.enqueue(job, tenant=tenant, base=_SUBMIT_EVENTS)
            self._track(tenant, job_id)
            return record
        if self._runner is None:
            raise RuntimeError("JobManager needs a runner, or a queue, to run jobs")
        task = asyncio.create_task(self._run_when_free(self._runner, job), name=f"job-{job_id}")
        self._tasks[job_id] = task
        self._track(tenant, job_id)

        def forget(_task: asyncio.Task[None]) -> None:
            self._tasks.pop(job_id, None)
            self._untrack(tenant, job_id)

        task.add_done_callback(forget)
        return record

    async def _run_when_free(self, runner: JobRunner, job: Job) -> None:
        try:
            await self._slots.acquire()
        except asyncio.CancelledError:
            # Closed before the job got a slot: end it the way a running job ends.
            await runner.interrupted(job)
            raise
        self._running += 1
        try:
            await runner.run(job)
        finally:
            self._running -= 1
            self._slots.release()
        if self._cache is not None and job.password is None:
            # A report behind a password is only for who knows the password.
            report = await self._log.get_report(job.job_id)
            if report is not None:
                await self._cache.put(job.tenant, job.sha256, *self._analyzer_id, report)

    async def _cached(self, upload: Upload, tenant: str) -> dict[str, Any] | None:
        if self._cache is None or upload.password is not None:
            return None
        report = await self._cache.get(tenant, upload.sha256, *self._analyzer_id)
        return orjson.loads(report) if report is not None else None

    async def _serve_cached(self, record: JobRecord, report: dict[str, Any]) -> None:
        """End the job with a report made earlier from the same bytes: its flags, then ``done``."""
        job_id = record.job_id
        report = {**report, "job_id": job_id, "doc_name": record.doc_name, "cached": True}
        message = "Found the report of an identical document in the cache"
        await self._log.append_event(job_id, ProgressEvent(stage="report", message=message, percent=100.0, eta_s=0.0))
        for flag in report.get("flags", []):
            await self._log.append_event(job_id, FlagEvent(flag=flag))
        done = DoneEvent(report=report)
        await self._log.set_report(job_id, done.encode())
        await self._log.update_job(
            job_id, status="done", stage="report", percent=100.0, overall_risk=report.get("overall_risk")
        )
        await self._log.append_event(job_id, done)

    def drain(self) -> None:
        """Accept no new job (``/readyz`` turns 503); running jobs go on."""
        self._closing = True
        if self._consumer is not None:
            self._consumer.stop_taking()

    async def close(self, grace_s: float = 10.0) -> None:
        """Stop accepting; give running jobs ``grace_s`` to finish, then cancel them (or requeue them)."""
        self._closing = True
        if self._consumer is not None:
            await self._consumer.close(grace_s)
        if self._queue is not None:
            await self._queue.close()
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace_s)
        await stop(*pending)


def _plain_urls(job_id: str, tenant: str) -> dict[str, str]:
    return {"events_url": f"/jobs/{job_id}/events", "report_url": f"/jobs/{job_id}/report"}
