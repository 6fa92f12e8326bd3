"""The event-log interface shared by the memory and Redis implementations.

A job's events are appended once, each with an opaque id that increases strictly
within the job; any number of readers replay them from any id and then follow
live. The event that ends a job (``done`` or ``error``) is marked ``final``: a
reader stops after it. Job status records live beside the events.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..events import FINAL_EVENTS, LoggedEvent

__all__ = ["EventLog", "JobRecord", "LeaseLost", "LogEvent", "flatten"]

JobStatus = Literal["queued", "running", "done", "failed"]


class LeaseLost(RuntimeError):
    """The job was reclaimed by another worker: this one must stop writing to it (the other finishes it)."""


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One stored event: ``data`` is the compact JSON of the event's payload."""

    id: str
    event: str
    data: bytes

    @property
    def final(self) -> bool:
        return self.event in FINAL_EVENTS


@dataclass(slots=True)
class JobRecord:
    """What ``GET /jobs/{id}`` answers, plus the owner and the outcome."""

    job_id: str
    tenant: str
    doc_name: str
    status: JobStatus = "queued"
    stage: str = "queued"
    percent: float = 0.0
    created: float = 0.0
    updated: float = 0.0
    sha256: str = ""
    error_code: str | None = None
    overall_risk: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        del d["tenant"], d["extra"]
        return d


class EventLog(abc.ABC):
    """Append-only per-job event log with live readers, job records and reports.

    ``read`` raises :class:`~compliance_sse.errors.NotFound` for an unknown job and
    :class:`~compliance_sse.errors.JobExpired` for one past its time to live.
    """

    @abc.abstractmethod
    async def create_job(self, record: JobRecord) -> None:
        """Store a new job's record."""

    @abc.abstractmethod
    async def get_job(self, job_id: str) -> JobRecord:
        """The job's record; raises ``NotFound`` or ``JobExpired``."""

    @abc.abstractmethod
    async def update_job(self, job_id: str, **changes: Any) -> None:
        """Change fields of the job's record (``updated`` is set for you)."""

    @abc.abstractmethod
    async def list_jobs(self, tenant: str, *, limit: int, cursor: str | None) -> tuple[list[JobRecord], str | None]:
        """The tenant's jobs, newest first, and the cursor of the next page (``None`` at the end)."""

    @abc.abstractmethod
    async def append(self, job_id: str, event: str, data: bytes) -> str:
        """Append an event and return its id. ``done``/``error`` finish the job's log."""

    async def append_event(self, job_id: str, event: LoggedEvent) -> str:
        """Append a typed event (built in :mod:`compliance_sse.events`) and return its id."""
        return await self.append(job_id, event.name, event.encode())

    @abc.abstractmethod
    def read(self, job_id: str, after: str | None = None) -> AsyncIterator[LogEvent]:
        """Events after id ``after`` (all when ``None``), then live ones, ending after the final event.

        Checks eagerly, before the first event is awaited: raises ``NotFound``,
        ``JobExpired``, or ``BadRequest`` (code ``invalid_last_event_id``) for an id
        this log never issues.
        """

    @abc.abstractmethod
    async def ended_at(self, job_id: str, after: str) -> bool:
        """Whether ``after`` is the final event of the job: nothing will ever follow it.

        Raises ``BadRequest`` (code ``invalid_last_event_id``) for an id this job's log never issued: of
        another shape, past its last event, or (where ids tell jobs apart) another job's.
        """

    def read_batches(self, job_id: str, after: str | None = None) -> AsyncIterator[list[LogEvent]]:
        """The events of :meth:`read`, in lists of those at hand together, so a stream writes each list at once.

        Checks eagerly, as :meth:`read` does. This default gives one event per list.
        """
        return _one_per_list(self.read(job_id, after))

    @abc.abstractmethod
    async def set_report(self, job_id: str, report: bytes) -> None:
        """Store the job's report JSON."""

    @abc.abstractmethod
    async def get_report(self, job_id: str) -> bytes | None:
        """The report JSON, or ``None`` until the job is done."""

    async def ping(self) -> bool:
        """Whether the backing store answers (``/readyz``)."""
        return True

    async def close(self) -> None:
        """Release connections and wake readers; may be called twice."""
        return None


async def _one_per_list(events: AsyncIterator[LogEvent]) -> AsyncIterator[list[LogEvent]]:
    try:
        async for event in events:
            yield [event]
    finally:
        await _aclose(events)


async def flatten(batches: AsyncIterator[list[LogEvent]]) -> AsyncIterator[LogEvent]:
    """The events of ``batches`` one by one (``read`` from a ``read_batches``)."""
    try:
        async for batch in batches:
            for entry in batch:
                yield entry
    finally:
        await _aclose(batches)


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
