"""In-memory event log: one process, events kept for ``ttl_s`` after a job ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import BadRequest, JobExpired, NotFound
from .base import EventLog, JobRecord, LogEvent

__all__ = ["InMemoryEventLog"]

# Events handed to a stream at once at most (a replay of a long job goes out in writes of this many).
_MAX_BATCH = 256


@dataclass(slots=True)
class _Job:
    record: JobRecord
    seq: int
    events: list[LogEvent] = field(default_factory=list)
    report: bytes | None = None
    finished_at: float | None = None
    # Replaced on every append: readers wait on the current one, the writer sets it.
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class InMemoryEventLog(EventLog):
    """Event ids are the decimal position of the event in its job (``"1"``, ``"2"``, ...)."""

    def __init__(
        self, *, ttl_s: float = 3600, tombstone_s: float = 86400, clock: Callable[[], float] = time.time
    ) -> None:
        self._ttl_s = ttl_s
        self._tombstone_s = max(tombstone_s, ttl_s)
        self._clock = clock
        self._jobs: dict[str, _Job] = {}
        # Expired job ids (a few bytes each), remembered so clients get 410 rather than 404.
        self._tombstones: dict[str, float] = {}
        self._seq = 0
        self._closed = False

    async def create_job(self, record: JobRecord) -> None:
        now = self._clock()
        record.created = record.updated = now
        self._seq += 1
        self._jobs[record.job_id] = _Job(record=record, seq=self._seq)

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is not None and self._expired(job, self._clock()):
            self._expire(job_id, self._clock())
            job = None
        if job is None:
            if job_id in self._tombstones:
                raise JobExpired()
            raise NotFound()
        return job

    async def get_job(self, job_id: str) -> JobRecord:
        return self._job(job_id).record

    async def update_job(self, job_id: str, **changes: Any) -> None:
        record = self._job(job_id).record
        for name, value in changes.items():
            setattr(record, name, value)
        record.updated = self._clock()

    async def list_jobs(self, tenant: str, *, limit: int, cursor: str | None) -> tuple[list[JobRecord], str | None]:
        self.sweep()
        before = int(cursor) if cursor and cursor.isdigit() else None
        jobs = sorted(
            (j for j in self._jobs.values() if j.record.tenant == tenant and (before is None or j.seq < before)),
            key=lambda j: j.seq,
            reverse=True,
        )
        page = jobs[:limit]
        next_cursor = str(page[-1].seq) if len(jobs) > limit else None
        return [j.record for j in page], next_cursor

    async def append(self, job_id: str, event: str, data: bytes) -> str:
        job = self._job(job_id)
        if job.finished_at is not None:
            raise RuntimeError(f"job {job_id} has already ended; nothing can be appended")
        entry = LogEvent(id=str(len(job.events) + 1), event=event, data=data)
        job.events.append(entry)
        if entry.final:
            job.finished_at = self._clock()
        job.changed.set()
        job.changed = asyncio.Event()
        return entry.id

    def read(self, job_id: str, after: str | None = None) -> AsyncIterator[LogEvent]:
        return _flatten(self.read_batches(job_id, after))

    def read_batches(self, job_id: str, after: str | None = None) -> AsyncIterator[list[LogEvent]]:
        job = self._job(job_id)
        return self._follow(job, _parse_id(after))

    async def _follow(self, job: _Job, index: int) -> AsyncIterator[list[LogEvent]]:
        while True:
            if index < len(job.events):
                # A final event is always the last one: a batch that holds it ends with it.
                batch = job.events[index : index + _MAX_BATCH]
                index += len(batch)
                final = batch[-1].final
                yield batch
                if final:
                    return
                batch = None  # type: ignore[assignment]  # hold nothing while the reader idles
                continue
            if job.finished_at is not None or self._closed:
                return
            await job.changed.wait()

    async def set_report(self, job_id: str, report: bytes) -> None:
        self._job(job_id).report = report

    async def get_report(self, job_id: str) -> bytes | None:
        return self._job(job_id).report

    def sweep(self) -> None:
        """Forget jobs that ended more than ``ttl_s`` ago, and their tombstones after ``tombstone_s``."""
        now = self._clock()
        for job_id in [job_id for job_id, job in self._jobs.items() if self._expired(job, now)]:
            self._expire(job_id, now)
        if self._tombstones:
            for job_id in [j for j, t in self._tombstones.items() if now - t > self._tombstone_s]:
                del self._tombstones[job_id]

    def _expired(self, job: _Job, now: float) -> bool:
        return job.finished_at is not None and now - job.finished_at > self._ttl_s

    def _expire(self, job_id: str, now: float) -> None:
        del self._jobs[job_id]
        self._tombstones[job_id] = now

    async def close(self) -> None:
        self._closed = True
        for job in self._jobs.values():
            job.changed.set()


async def _flatten(batches: AsyncIterator[list[LogEvent]]) -> AsyncIterator[LogEvent]:
    async for batch in batches:
        for entry in batch:
            yield entry


def _parse_id(after: str | None) -> int:
    if after is None or after == "":
        return 0
    if not after.isascii() or not after.isdigit() or len(after) > 12:
        raise BadRequest("Last-Event-ID is not an id this service issued.", code="invalid_last_event_id")
    return int(after)
