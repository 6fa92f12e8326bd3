"""A worker's view of one job's Redis event log: fenced by the job's lease, and resuming a previous attempt.

Every write goes through :class:`RedisEventLog`'s private ``_*_leased`` methods with this
worker's lease, so a worker whose job was reclaimed (it stalled past ``claim_idle_s``) gets
:class:`LeaseLost` and stops. A reclaimed job is run again from the start; the rerun's first
events are the ones the previous attempt stored, so they are not appended again (see
:mod:`compliance_sse.broker.queue`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ..errors import ComplianceError
from ..events import ErrorEvent, FlagEvent, ProgressEvent, parse
from .base import EventLog, JobRecord, LogEvent
from .redis import LeaseLost, RedisEventLog
from .redis_errors import RedisUnavailable

__all__ = ["LeasedLog"]

log = logging.getLogger(__name__)


def _flag_id(event: str, data: bytes) -> str | None:
    """The id of a ``flag`` event's finding (``None`` for another event)."""
    if event != FlagEvent.name:
        return None
    parsed = parse(event, data)
    return parsed.flag_id if isinstance(parsed, FlagEvent) else None


class LeasedLog(EventLog):
    """One job's log as its worker sees it: fenced by the lease, and skipping what a previous attempt wrote."""

    def __init__(self, event_log: RedisEventLog, job_id: str, lease: str) -> None:
        self._log = event_log
        self._job_id = job_id
        self._lease = lease
        self.on_report: Callable[[bytes], Awaitable[None]] | None = None
        self._stored: list[LogEvent] = []
        self._pos = 0
        self._stored_flags: set[str] = set()
        self._late_flags: list[bytes] = []
        self._floor = 0.0
        self._last_id = ""
        self.revoked = False
        self.outage = False
        self.diverged = False

    async def take(self) -> tuple[bool, str | None, int]:
        """Make this lease the only one allowed to write to the job: (job exists, final id if ended, entries)."""
        return await self._log._take_lease(self._job_id, self._lease)

    def resume_after(self, stored: list[LogEvent]) -> None:
        """The events a previous attempt appended: the rerun's first ``len(stored)`` are not appended again."""
        self._stored = stored
        self._last_id = stored[-1].id if stored else ""
        for entry in stored:
            parsed = parse(entry.event, entry.data)
            if isinstance(parsed, FlagEvent) and parsed.flag_id is not None:
                self._stored_flags.add(parsed.flag_id)
            elif isinstance(parsed, ProgressEvent):
                self._floor = max(self._floor, parsed.percent)

    @property
    def replaying(self) -> bool:
        return self._pos < len(self._stored)

    def revoke(self) -> None:
        """Refuse every write from now on (the job was reclaimed, or goes back to the queue)."""
        self.revoked = True

    def _check(self, job_id: str) -> None:
        if job_id != self._job_id:
            raise RuntimeError(f"this log is job {self._job_id}'s, not {job_id}'s")
        if self.revoked:
            raise LeaseLost(f"job {job_id} is no longer this worker's")

    async def _guard(self, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except (LeaseLost, RedisUnavailable) as exc:
            # A write may or may not have happened; a later attempt reads the stream and continues.
            self.revoked = True
            self.outage = self.outage or isinstance(exc, RedisUnavailable)
            raise

    async def append(self, job_id: str, event: str, data: bytes) -> str:
        self._check(job_id)
        if self.replaying:
            stored = self._stored[self._pos]
            self._pos += 1
            if stored.event != event and not self.diverged:
                self.diverged = True
                log.warning("job %s: the rerun differs from the first attempt at event %d", job_id, self._pos)
            if (flag := _flag_id(event, data)) is not None and flag not in self._stored_flags:
                self._stored_flags.add(flag)
                self._late_flags.append(data)
            return stored.id
        while self._late_flags:
            await self._append(FlagEvent.name, self._late_flags.pop(0))
        if (flag := _flag_id(event, data)) is not None and flag in self._stored_flags:
            return self._last_id
        if event == ProgressEvent.name and self._floor:
            data = self._clamp(data)
        return await self._append(event, data)

    async def _append(self, event: str, data: bytes) -> str:
        entry_id: str = await self._guard(self._log._append_leased(self._job_id, self._lease, event, data))
        self._last_id = entry_id
        return entry_id

    def _clamp(self, data: bytes) -> bytes:
        progress = parse(ProgressEvent.name, data)
        if isinstance(progress, ProgressEvent) and progress.percent < self._floor:
            return dataclasses.replace(progress, percent=self._floor).encode()
        return data

    async def update_job(self, job_id: str, **changes: Any) -> None:
        self._check(job_id)
        if self.replaying:
            changes.pop("stage", None)
            changes.pop("percent", None)
        elif "percent" in changes and self._floor:
            changes["percent"] = max(float(changes["percent"]), self._floor)
        if changes:
            await self._guard(self._log._update_job_leased(job_id, self._lease, changes))

    async def set_report(self, job_id: str, report: bytes) -> None:
        self._check(job_id)
        await self._guard(self._log._set_report_leased(job_id, self._lease, report))
        if self.on_report is not None:
            await self.on_report(report)  # before ``done``: whoever saw it finds the report cached

    async def fail(self, exc: ComplianceError) -> None:
        """End the job with ``exc`` as its ``error`` event."""
        record = await self._log.get_job(self._job_id)
        await self.update_job(self._job_id, status="failed", error_code=exc.code)
        error = ErrorEvent.of(exc, record.stage)
        await self._append(error.name, error.encode())

    async def create_job(self, record: JobRecord) -> None:
        raise RuntimeError("a worker does not create jobs")

    async def get_job(self, job_id: str) -> JobRecord:
        return await self._log.get_job(job_id)

    async def list_jobs(self, tenant: str, *, limit: int, cursor: str | None) -> tuple[list[JobRecord], str | None]:
        return await self._log.list_jobs(tenant, limit=limit, cursor=cursor)

    def read(self, job_id: str, after: str | None = None) -> AsyncIterator[LogEvent]:
        return self._log.read(job_id, after)

    async def ended_at(self, job_id: str, after: str) -> bool:
        return await self._log.ended_at(job_id, after)

    async def get_report(self, job_id: str) -> bytes | None:
        return await self._log.get_report(job_id)
