import orjson
import pytest

from compliance_sse.sse import (
    EventParser,
    ServerSentEvent,
    comment,
    json_data,
    json_event,
    json_frame,
    retry_frame,
    serialize,
)


@pytest.mark.parametrize(
    ("event", "frame"),
    [
        (ServerSentEvent(), b"data: \n\n"),
        (ServerSentEvent(data="hello"), b"data: hello\n\n"),
        (ServerSentEvent(data="x", event="message"), b"data: x\n\n"),
        (
            ServerSentEvent(data="a\nb", event="job", id="1", retry=5),
            b"event: job\nid: 1\ndata: a\ndata: b\nretry: 5\n\n",
        ),
        (ServerSentEvent(data="x", id=""), b"id:\ndata: x\n\n"),
        (ServerSentEvent(data="a\r\nb\rc\nd"), b"data: a\ndata: b\ndata: c\ndata: d\n\n"),
        (ServerSentEvent(data="a\n"), b"data: a\ndata: \n\n"),
        (ServerSentEvent(data="\r\r\n"), b"data: \ndata: \ndata: \n\n"),
        (ServerSentEvent(data="é€😀", event="ünï"), "event: ünï\ndata: é€😀\n\n".encode()),
    ],
    ids=[
        "empty",
        "data",
        "message-omitted",
        "all-fields",
        "empty-id",
        "mixed-breaks",
        "trailing-lf",
        "cr-crlf",
        "utf8",
    ],
)
def test_serialize(event: ServerSentEvent, frame: bytes) -> None:
    assert serialize(event) == frame


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85"])
def test_serialize_splits_only_on_cr_and_lf(char: str) -> None:
    # str.splitlines() would split on all of these (httpx-sse 0.4.2 fixed that bug).
    assert serialize(ServerSentEvent(data=f"a{char}b")) == f"data: a{char}b\n\n".encode()


@pytest.mark.parametrize(
    ("text", "frame"),
    [("", b": \n\n"), ("ping", b": ping\n\n"), ("a\nb\r\nc\rd\u2028e", ": a\n: b\n: c\n: d\u2028e\n\n".encode())],
    ids=["empty", "one-line", "multi-line"],
)
def test_comment(text: str, frame: bytes) -> None:
    assert comment(text) == frame


def test_comment_default() -> None:
    assert comment() == b": \n\n"


def test_retry_frame() -> None:
    assert retry_frame(3000) == b"retry: 3000\n\n"
    assert retry_frame(0) == b"retry: 0\n\n"


def test_retry_frame_rejects_negative() -> None:
    with pytest.raises(ValueError, match="retry must not be negative"):
        retry_frame(-1)


def test_json_data_is_compact_str() -> None:
    data = json_data({"a": [1, 2], "b": None, "t": "line\nbreak\u2028"})
    assert data == '{"a":[1,2],"b":null,"t":"line\\nbreak\u2028"}'
    assert "\n" not in data
    assert "\r" not in data


def test_json_data_rejects_what_orjson_cannot_encode() -> None:
    with pytest.raises(TypeError):
        json_data(object())
    assert issubclass(orjson.JSONEncodeError, TypeError)


def test_json_event() -> None:
    assert json_event("progress", {"percent": 50}, id="3") == ServerSentEvent(
        data='{"percent":50}', event="progress", id="3"
    )
    assert json_event("heartbeat", {}).id is None


def test_frames_read_back() -> None:
    parser = EventParser()
    stream = retry_frame(1500) + comment("hello\nworld") + serialize(json_event("done", [1], id="9"))
    assert parser.feed(stream) == [ServerSentEvent(data="[1]", event="done", id="9")]
    assert parser.retry == 1500
    assert parser.last_event_id == "9"


@pytest.mark.parametrize(
    ("event", "id", "data"),
    [
        ("flag", "7", b'{"a":1}'),
        ("progress", "1733000000000-0", '{"q":"caf\u00e9 \u2028"}'.encode()),
        ("done", "12", b""),
        ("message", "3", b"{}"),
        ("flag", "", b"{}"),
        ("flag", "4", b"line one\nline two\r\nthree\rfour"),
    ],
)
def test_json_frame_is_the_same_frame_as_serialize(event: str, id: str, data: bytes) -> None:
    assert json_frame(event, id, data) == serialize(ServerSentEvent(data=data.decode(), event=event, id=id))


def test_json_frame_refuses_what_serialize_refuses() -> None:
    for event, id in (("", "1"), ("fl\nag", "1"), ("flag", "1\r2"), ("flag", "1\x002")):
        with pytest.raises(ValueError):
            json_frame(event, id, b"{}")
