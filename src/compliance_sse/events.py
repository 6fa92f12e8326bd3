"""Every event of a job's stream: its name, its typed body, its JSON encoding and its parsing.

The one owner of the event vocabulary (CONTRACT.md section 5). The runner, the job manager,
the queue's workers and the views build events here and append ``(event.name, event.encode())``
to the event log; the views and the Python client read them back with :func:`parse`. Nothing
else writes or reads an event body, so a field is added in one place.

Parsing is strict about the fields an event must carry and ignores the ones a newer server
adds; an event type this version does not know becomes :class:`UnknownEvent`. A body that is
not what its name promises raises :class:`MalformedEvent`: for our own events that is a bug,
never silenced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

if TYPE_CHECKING:
    from .errors import ComplianceError

__all__ = [
    "EVENT_NAMES",
    "FINAL_EVENTS",
    "DoneEvent",
    "ErrorEvent",
    "Event",
    "FlagEvent",
    "HeartbeatEvent",
    "JobEvent",
    "LoggedEvent",
    "MalformedEvent",
    "ProgressEvent",
    "UnknownEvent",
    "parse",
]

EVENT_NAMES = ("job", "progress", "flag", "heartbeat", "done", "error")
FINAL_EVENTS = frozenset({"done", "error"})
"""The events that end a job: a reader stops after one, and nothing is appended after it."""


class MalformedEvent(ValueError):
    """An event's data is not the JSON object its name promises."""


class _Encoded:
    """``encode()``: the compact JSON of ``body()``, the event's ``data`` on the wire and in the log."""

    __slots__ = ()

    def body(self) -> dict[str, Any]:
        raise NotImplementedError

    def encode(self) -> bytes:
        return orjson.dumps(self.body())


@dataclass(frozen=True, slots=True, kw_only=True)
class JobEvent(_Encoded):
    """The first event of a job."""

    name: ClassVar[str] = "job"
    id: str | None = None
    job_id: str
    events_url: str
    report_url: str

    def body(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "events_url": self.events_url, "report_url": self.report_url}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressEvent(_Encoded):
    """``percent`` (0-100) never goes down within a job; ``eta_s`` is ``None`` until it can be estimated.

    ``page``/``pages`` are set during ``extract`` only (and left out of the body otherwise).
    """

    name: ClassVar[str] = "progress"
    id: str | None = None
    stage: str
    message: str
    percent: float
    eta_s: float | None = None
    page: int | None = None
    pages: int | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "stage": self.stage,
            "message": self.message,
            "percent": self.percent,
            "eta_s": self.eta_s,
        }
        if self.page is not None:
            body["page"] = self.page
        if self.pages is not None:
            body["pages"] = self.pages
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class FlagEvent(_Encoded):
    """One finding, as soon as it is found; ``flag`` has the report's shape."""

    name: ClassVar[str] = "flag"
    id: str | None = None
    flag: Mapping[str, Any]

    @property
    def flag_id(self) -> str | None:
        value = self.flag.get("id")
        return None if value is None else str(value)

    @property
    def severity(self) -> int:
        return int(self.flag.get("severity", 0))

    @property
    def title(self) -> str:
        return str(self.flag.get("title", ""))

    @property
    def category(self) -> str:
        return str(self.flag.get("category", ""))

    def body(self) -> dict[str, Any]:
        return dict(self.flag)


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatEvent(_Encoded):
    """Sent while the job is quiet; carries no id, so it never moves ``Last-Event-ID``."""

    name: ClassVar[str] = "heartbeat"
    ts: float
    stage: str
    elapsed_s: float

    def body(self) -> dict[str, Any]:
        return {"ts": self.ts, "stage": self.stage, "elapsed_s": self.elapsed_s}


@dataclass(frozen=True, slots=True, kw_only=True)
class DoneEvent(_Encoded):
    """The job's final event on success: the report."""

    name: ClassVar[str] = "done"
    id: str | None = None
    report: Mapping[str, Any]

    @property
    def overall_risk(self) -> float:
        return float(self.report.get("overall_risk", 0.0))

    @property
    def risk_level(self) -> str:
        return str(self.report.get("risk_level", ""))

    def body(self) -> dict[str, Any]:
        return dict(self.report)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorEvent(_Encoded):
    """The job's final event on failure."""

    name: ClassVar[str] = "error"
    id: str | None = None
    code: str
    error: str
    stage: str | None
    retryable: bool

    @classmethod
    def of(cls, exc: ComplianceError, stage: str | None, *, retryable: bool | None = None) -> ErrorEvent:
        """The event that ends a job with ``exc`` in ``stage`` (``retryable`` overrides the error's)."""
        return cls(
            code=exc.code,
            error=exc.detail,
            stage=stage,
            retryable=exc.retryable if retryable is None else retryable,
        )

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "code": self.code, "stage": self.stage, "retryable": self.retryable}


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent:
    """An event type this version does not know (a newer server); ``data`` is the raw text."""

    id: str | None = None
    event: str
    data: str


Event = JobEvent | ProgressEvent | FlagEvent | HeartbeatEvent | DoneEvent | ErrorEvent | UnknownEvent
LoggedEvent = JobEvent | ProgressEvent | FlagEvent | DoneEvent | ErrorEvent
"""The events a job's log stores, each with an id (a heartbeat is sent, never stored)."""


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _job(body: dict[str, Any], id: str | None) -> JobEvent:
    return JobEvent(
        id=id, job_id=str(body["job_id"]), events_url=str(body["events_url"]), report_url=str(body["report_url"])
    )


def _progress(body: dict[str, Any], id: str | None) -> ProgressEvent:
    return ProgressEvent(
        id=id,
        stage=str(body["stage"]),
        message=str(body.get("message", "")),
        percent=float(body["percent"]),
        eta_s=_optional_float(body.get("eta_s")),
        page=_optional_int(body.get("page")),
        pages=_optional_int(body.get("pages")),
    )


def _heartbeat(body: dict[str, Any], id: str | None) -> HeartbeatEvent:
    return HeartbeatEvent(
        ts=float(body.get("ts", 0.0)), stage=str(body.get("stage", "")), elapsed_s=float(body.get("elapsed_s", 0.0))
    )


def _error(body: dict[str, Any], id: str | None) -> ErrorEvent:
    return ErrorEvent(
        id=id,
        code=str(body["code"]),
        error=str(body.get("error", "")),
        stage=None if body.get("stage") is None else str(body["stage"]),
        retryable=bool(body.get("retryable", False)),
    )


_PARSERS: dict[str, Callable[[dict[str, Any], str | None], Event]] = {
    "job": _job,
    "progress": _progress,
    "flag": lambda body, id: FlagEvent(id=id, flag=body),
    "heartbeat": _heartbeat,
    "done": lambda body, id: DoneEvent(id=id, report=body),
    "error": _error,
}


def parse(name: str, data: bytes | str, id: str | None = None) -> Event:
    """The typed event named ``name`` with JSON ``data``; raises :class:`MalformedEvent` if the data does not fit."""
    parser = _PARSERS.get(name)
    if parser is None:
        return UnknownEvent(id=id, event=name, data=data if isinstance(data, str) else data.decode("utf-8", "replace"))
    try:
        body = orjson.loads(data)
        if not isinstance(body, dict):
            raise TypeError("not a JSON object")
        return parser(body, id)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"a malformed {name!r} event") from exc
