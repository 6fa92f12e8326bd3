"""compliance_sse.events: each event's body, its round trip, and that no other module spells an event body."""

from __future__ import annotations

import ast
from pathlib import Path

import orjson
import pytest

from compliance_sse import events
from compliance_sse.errors import NoText
from compliance_sse.events import (
    DoneEvent,
    ErrorEvent,
    FlagEvent,
    HeartbeatEvent,
    JobEvent,
    LoggedEvent,
    MalformedEvent,
    ProgressEvent,
    UnknownEvent,
    parse,
)

PACKAGE = Path(events.__file__).parent

SAMPLES: list[LoggedEvent | HeartbeatEvent] = [
    JobEvent(job_id="j1", events_url="/jobs/j1/events", report_url="/jobs/j1/report"),
    ProgressEvent(stage="queued", message="Queued", percent=0.0),
    ProgressEvent(stage="extract", message="Extracted page 2 of 9", percent=21.5, eta_s=3.0, page=2, pages=9),
    FlagEvent(flag={"id": "f1", "category": "aml", "severity": 4, "evidence": [{"page": 1, "quote": "cash"}]}),
    HeartbeatEvent(ts=1.5, stage="extract", elapsed_s=2.0),
    DoneEvent(report={"job_id": "j1", "overall_risk": 0.65, "risk_level": "HIGH", "flags": []}),
    ErrorEvent(code="no_text", error="No text.", stage="extract", retryable=False),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: f"{e.name}")
def test_an_encoded_event_parses_back_to_itself(event: LoggedEvent | HeartbeatEvent) -> None:
    assert parse(event.name, event.encode()) == event
    assert parse(event.name, event.encode().decode()) == event


def test_the_bodies_are_the_contracts() -> None:
    assert orjson.loads(SAMPLES[1].encode()) == {"stage": "queued", "message": "Queued", "percent": 0.0, "eta_s": None}
    assert list(orjson.loads(SAMPLES[2].encode())) == ["stage", "message", "percent", "eta_s", "page", "pages"]
    assert orjson.loads(SAMPLES[6].encode()) == {
        "error": "No text.",
        "code": "no_text",
        "stage": "extract",
        "retryable": False,
    }
    assert list(orjson.loads(SAMPLES[4].encode())) == ["ts", "stage", "elapsed_s"]


def test_every_name_has_a_parser_and_only_done_and_error_end_a_job() -> None:
    assert {DoneEvent.name, ErrorEvent.name} == events.FINAL_EVENTS
    assert set(events.EVENT_NAMES) == {type(e).name for e in SAMPLES}  # and each round-trips, above


def test_an_error_event_is_built_from_the_error() -> None:
    assert ErrorEvent.of(NoText(), "extract") == ErrorEvent(
        code="no_text", error=NoText().detail, stage="extract", retryable=False
    )
    assert ErrorEvent.of(NoText(), None, retryable=True).retryable is True


def test_a_newer_servers_fields_are_ignored_and_an_unknown_event_is_kept_raw() -> None:
    assert parse("heartbeat", '{"ts":1,"stage":"analyze","elapsed_s":2,"new":true}') == HeartbeatEvent(
        ts=1.0, stage="analyze", elapsed_s=2.0
    )
    assert parse("later", b"\xff{", "3") == UnknownEvent(id="3", event="later", data="\ufffd{")


@pytest.mark.parametrize(
    ("name", "data"),
    [("progress", '{"stage":"x"}'), ("progress", "[]"), ("job", "not json"), ("error", "{}"), ("done", '"x"')],
)
def test_a_body_that_does_not_fit_its_name_is_malformed(name: str, data: str) -> None:
    with pytest.raises(MalformedEvent):
        parse(name, data)


_BODY_KEYS = [
    {"error", "code", "retryable"},
    {"stage", "message", "percent"},
    {"ts", "elapsed_s"},
    {"job_id", "events_url", "report_url"},
]


def test_no_other_module_spells_an_event_body() -> None:
    """Issue 11: every event body is built in events.py; a dict literal with an event's keys elsewhere is a repeat."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "events.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
                if any(body <= keys for body in _BODY_KEYS):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []
