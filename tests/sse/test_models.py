import dataclasses

import pytest

from compliance_sse.sse import ServerSentEvent


def test_defaults() -> None:
    event = ServerSentEvent()
    assert (event.data, event.event, event.id, event.retry) == ("", "message", None, None)


def test_is_frozen() -> None:
    event = ServerSentEvent(data="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = "y"  # type: ignore[misc]


@pytest.mark.parametrize(
    "event",
    [
        ServerSentEvent(id=""),
        ServerSentEvent(event="a name: with spaces", id="id with spaces"),
        ServerSentEvent(data="line\r\nbreaks\rand\nNUL\0 are data", retry=0),
        ServerSentEvent(event="\u2028", id="\u2028\x85"),
    ],
    ids=["empty-id", "spaces", "data-anything", "unicode-separators"],
)
def test_valid(event: ServerSentEvent) -> None:
    assert ServerSentEvent(event.data, event.event, event.id, event.retry) == event


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"event": ""}, "event must not be empty"),
        ({"event": "a\nb"}, "event must not contain CR or LF"),
        ({"event": "a\r"}, "event must not contain CR or LF"),
        ({"id": "1\n"}, "id must not contain CR or LF"),
        ({"id": "\r1"}, "id must not contain CR or LF"),
        ({"id": "1\x002"}, "id must not contain NUL"),
        ({"retry": -1}, "retry must not be negative"),
    ],
    ids=["empty-event", "event-lf", "event-cr", "id-lf", "id-cr", "id-nul", "negative-retry"],
)
def test_invalid(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ServerSentEvent(**kwargs)  # type: ignore[arg-type]
