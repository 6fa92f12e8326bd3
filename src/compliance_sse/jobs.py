"""Accept jobs, run them in the background, and refuse work beyond capacity."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

import orjson

from .errors import Overloaded
from .eventlog.base import EventLog, JobRecord
from .pipeline.runner import Job, JobRunner
from .upload import Upload

__all__ = ["JobManager", "new_job_id"]

log = logging.getLogger(__name__)


def new_job_id() -> str:
    """128 random bits, hex: unguessable, so a job id is no enumeration handle."""
    return secrets.token_hex(16)


class JobManager:
    """Creates jobs in the event log and runs each in a task of its own.

    A job keeps running when its listener goes away. ``urls(job_id)`` gives the
    ``events_url`` and ``report_url`` announced in the ``job`` event.
    """

    def __init__(
        self,
        *,
        event_log: EventLog,
        runner: JobRunner,
        max_active: int,
        urls: Callable[[str, str], dict[str, str]] | None = None,
    ) -> None:
        self._log = event_log
        self._runner = runner
        self._max_active = max_active
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._urls = urls or _plain_urls
        self._closing = False

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def active(self) -> int:
        return len(self._tasks)

    def check_capacity(self) -> None:
        """Raise ``Overloaded`` when no job can start now."""
        if self._closing or len(self._tasks) >= self._max_active:
            raise Overloaded(retry_after=5 if not self._closing else 10)

    def urls(self, job_id: str, tenant: str) -> dict[str, str]:
        return self._urls(job_id, tenant)

    async def submit(self, upload: Upload, tenant: str) -> JobRecord:
        """Create the job, log its ``job`` and ``queued`` events, and start it."""
        self.check_capacity()
        job_id = new_job_id()
        record = JobRecord(job_id=job_id, tenant=tenant, doc_name=upload.doc_name, sha256=upload.sha256)
        await self._log.create_job(record)
        await self._log.append(job_id, "job", orjson.dumps({"job_id": job_id, **self.urls(job_id, tenant)}))
        await self._log.append(
            job_id,
            "progress",
            orjson.dumps({"stage": "queued", "message": "Queued", "percent": 0.0, "eta_s": None}),
        )
        job = Job(
            job_id=job_id, data=upload.data, doc_name=upload.doc_name, sha256=upload.sha256, password=upload.password
        )
        task = asyncio.create_task(self._runner.run(job), name=f"job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(job_id, None))
        return record

    def drain(self) -> None:
        """Accept no new job (``/readyz`` turns 503); running jobs go on."""
        self._closing = True

    async def close(self, grace_s: float = 10.0) -> None:
        """Stop accepting; give running jobs ``grace_s`` to finish, then cancel them."""
        self._closing = True
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


def _plain_urls(job_id: str, tenant: str) -> dict[str, str]:
    return {"events_url": f"/jobs/{job_id}/events", "report_url": f"/jobs/{job_id}/report"}
