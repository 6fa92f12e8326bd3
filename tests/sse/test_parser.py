"""Each case is fed whole, one byte at a time, and followed by an unfinished event (h11 ``tests/test_io.py`` ``tr()``).

The ``whatwg_example*`` cases are the worked examples of
https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
(also httpx-sse ``tests/test_event_source.py``).
"""

from collections.abc import Callable

import pytest

from compliance_sse.sse import EventParser, EventTooLarge, ServerSentEvent

_TRAILING = b"data: unfinished\nevent: x\nid: trailing\n"


_Fed = tuple[list[ServerSentEvent], EventParser]


def _whole(raw: bytes) -> _Fed:
    return _fed([raw])


def _bytewise(raw: bytes) -> _Fed:
    return _fed([raw[i : i + 1] for i in range(len(raw))])


def _with_trailing(raw: bytes) -> _Fed:
    return _fed([raw, _TRAILING])


def _fed(chunks: list[bytes]) -> _Fed:
    parser = EventParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.flush(), parser


_FEEDERS: list[Callable[[bytes], _Fed]] = [_whole, _bytewise, _with_trailing]


def _parse(raw: bytes) -> tuple[list[ServerSentEvent], str, int | None]:
    """Feed ``raw`` three ways; return the events, ``last_event_id`` and ``retry``, which must agree."""
    results = []
    for feed in _FEEDERS:
        events, parser = feed(raw)
        results.append((events, parser.last_event_id, parser.retry))
    assert results[0] == results[1] == results[2]
    return results[0]


_M = ServerSentEvent

_CASES: dict[str, tuple[bytes, list[ServerSentEvent]]] = {
    "whatwg_example_stock": (b"data: YHOO\ndata: +2\ndata: 10\n\n", [_M("YHOO\n+2\n10")]),
    "whatwg_example_ids": (
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
        [_M("first event", id="1"), _M("second event"), _M(" third event")],
    ),
    "whatwg_example_empty_data": (b"data\n\ndata\ndata\n\ndata:", [_M(""), _M("\n")]),
    "whatwg_example_space": (b"data:test\n\ndata: test\n\n", [_M("test"), _M("test")]),
    "whatwg_example_event_types": (
        b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
        [_M("73857293", "add"), _M("2153", "remove"), _M("113411", "add")],
    ),
    "id_persists": (b"id: 1\ndata: a\n\ndata: b\n\n", [_M("a", id="1"), _M("b", id="1")]),
    "crlf": (b"event: e\r\ndata: a\r\ndata: b\r\n\r\n", [_M("a\nb", "e")]),
    "cr": (b"event: e\rdata: a\rdata: b\r\r", [_M("a\nb", "e")]),
    "mixed_breaks": (b"data: a\rdata: b\r\ndata: c\n\r\n", [_M("a\nb\nc")]),
    "cr_cr_lf": (b"data: a\r\r\ndata: b\n\n", [_M("a"), _M("b")]),
    "bom": (b"\xef\xbb\xbfdata: a\n\n", [_M("a")]),
    "bom_stripped_once": (b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n", [_M("b")]),
    "bom_later_is_data": (b"data: \xef\xbb\xbfa\n\n", [_M("\ufeffa")]),
    "multibyte": ("data: é€😀\n\n".encode(), [_M("é€😀")]),
    "invalid_utf8_replaced": (b"data: a\xffb\xe2\x82\n\n", [_M("a\ufffdb\ufffd")]),
    "unicode_separators_kept": (
        "data: a\u2028b\u2029c\x0bd\x0ce\x1cf\x85g\n\n".encode(),
        [_M("a\u2028b\u2029c\x0bd\x0ce\x1cf\x85g")],
    ),
    "id_with_nul_ignored": (b"id: 1\n\ndata: x\nid: 2\x003\n\n", [_M("x", id="1")]),
    "id_reset_by_empty_value": (b"id: 1\ndata: a\n\nid:\ndata: b\n\n", [_M("a", id="1"), _M("b")]),
    "id_only_block": (b"id: 7\n\ndata: x\n\n", [_M("x", id="7")]),
    "retry_only_block": (b"retry: 1500\n\n", []),
    "retry_with_event": (b"retry: 10\ndata: a\n\ndata: b\n\n", [_M("a", retry=10), _M("b")]),
    "field_without_colon": (b"event\ndata\n\n", [_M("")]),
    "one_space_removed": (b"data:  two\ndata:\tx\ndata:none\n\n", [_M(" two\n\tx\nnone")]),
    "colon_in_value": (b"data: a: b:c\nid: x:y\n\n", [_M("a: b:c", id="x:y")]),
    "comments_ignored": (b": c\ndata: a\n:\n: data: b\ndata: c\n\n:\n\n", [_M("a\nc")]),
    "unknown_fields_ignored": (b"Data: x\nDATA: y\nfoo: bar\ndata : z\n\n", []),
    "event_type_reset": (b"event: e\ndata: a\n\ndata: b\n\n", [_M("a", "e"), _M("b")]),
    "event_type_reset_without_data": (b"event: e\n\ndata: b\n\n", [_M("b")]),
    "empty_event_type_is_message": (b"event:\ndata: a\n\n", [_M("a")]),
    "event_type_is_data_not_a_field": (b"event: a b: c\ndata: x\n\n", [_M("x", "a b: c")]),
    "trailing_partial_event_discarded": (b"data: a\n\ndata: b\n", [_M("a")]),
    "trailing_partial_line_discarded": (b"data: a\n\ndata: b\n\r", [_M("a"), _M("b")]),
    "no_blank_line_nothing": (b"data: a", []),
    "empty": (b"", []),
}


@pytest.mark.parametrize(("raw", "expected"), list(_CASES.values()), ids=list(_CASES))
def test_parse(raw: bytes, expected: list[ServerSentEvent]) -> None:
    events, _, _ = _parse(raw)
    assert events == expected


def test_whatwg_example_ids_last_event_id() -> None:
    assert _parse(b"data: first event\nid: 1\n\n")[1] == "1"
    # "id" with no value "resets the last event ID to the empty string".
    assert _parse(b"data: first event\nid: 1\n\ndata:second event\nid\n\n")[1] == ""


@pytest.mark.parametrize(
    ("raw", "retry"),
    [
        (b"retry: 1500\n\n", 1500),
        (b"retry:0\n\n", 0),
        (b"retry: 10\nretry: 20\n\n", 20),
        (b"retry: " + b"0" * 5000 + b"7\n\n", 7),
        (b"retry: 1667a\n\n", None),
        (b"retry: \n\n", None),
        (b"retry\n\n", None),
        (b"retry: -1\n\n", None),
        (b"retry: 1.5\n\n", None),
        (b"retry:  15\n\n", None),
        ("retry: ١٢\n\n".encode(), None),
        ("retry: ²\n\n".encode(), None),
        (b"retry: " + b"9" * 5000 + b"\n\n", None),
    ],
    ids=[
        "digits",
        "zero",
        "last-wins",
        "leading-zeros",
        "letter",
        "empty",
        "no-colon",
        "negative",
        "decimal",
        "two-spaces",
        "arabic-digits",
        "superscript",
        "too-many-digits",
    ],
)
def test_retry(raw: bytes, retry: int | None) -> None:
    assert _parse(raw)[2] == retry


def test_retry_applies_before_the_event_ends() -> None:
    # Spec: the field sets "the event stream's reconnection time" when processed.
    assert _parse(b"retry: 5\ndata: unfinished\n")[2] == 5


def test_incomplete_event_keeps_last_event_id() -> None:
    # The spec updates the last event ID string only on dispatch, so a client
    # resuming after this stream must ask again for event 2.
    parser = EventParser()
    assert parser.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n") == [_M("a", id="1")]
    assert parser.flush() == []
    assert parser.last_event_id == "1"


def test_crlf_split_across_chunks_is_one_line_break() -> None:
    parser = EventParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n") == []
    assert parser.feed(b"\r") == [_M("a")]
    assert parser.feed(b"\ndata: b\r\n\r\n") == [_M("b")]


def test_cr_ending_a_chunk_ends_its_line_at_once() -> None:
    parser = EventParser()
    assert parser.feed(b"data: a\r\r") == [_M("a")]


def test_lf_after_cr_skipped_only_once_text_arrives() -> None:
    parser = EventParser()
    assert parser.feed(b"\xef\xbb\xbfdata: \xc3\xa9\r") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\n\n") == [_M("é")]


def test_multibyte_char_split_across_chunks() -> None:
    parser = EventParser()
    assert parser.feed(b"data: \xf0\x9f") == []
    assert parser.feed(b"\x98") == []
    assert parser.feed(b"\x80\n\n") == [_M("😀")]


def test_bom_split_across_chunks() -> None:
    parser = EventParser()
    assert parser.feed(b"\xef") == []
    assert parser.feed(b"\xbb") == []
    assert parser.feed(b"\xbfdata: a\n\n") == [_M("a")]


def test_flush_starts_a_new_stream() -> None:
    parser = EventParser()
    assert parser.feed(b"retry: 100\nid: 1\ndata: a\n\nevent: e\ndata: \xc3") == [_M("a", id="1", retry=100)]
    assert parser.flush() == []
    assert parser.flush() == []
    # The BOM is stripped again, nothing unfinished leaks in; the id and retry survive.
    assert parser.feed(b"\xef\xbb\xbfdata: b\n\n") == [_M("b", id="1")]
    assert (parser.last_event_id, parser.retry) == ("1", 100)


def test_flush_after_cr_forgets_it() -> None:
    parser = EventParser()
    assert parser.feed(b"data: a\r") == []
    parser.flush()
    assert parser.feed(b"\ndata: b\n\n") == [_M("b")]


def test_initial_state() -> None:
    parser = EventParser()
    assert (parser.last_event_id, parser.retry) == ("", None)
    assert parser.flush() == []


def test_endless_line_is_refused() -> None:
    parser = EventParser(max_event_size=10)
    assert parser.feed(b"data: 1234") == []
    with pytest.raises(EventTooLarge, match="more than 10 characters"):
        parser.feed(b"5")


def test_long_line_in_one_chunk_is_refused() -> None:
    with pytest.raises(EventTooLarge):
        EventParser(max_event_size=10).feed(b": a long comment\n")


def test_line_of_max_size_is_accepted() -> None:
    assert EventParser(max_event_size=10).feed(b"data: abcd\n\n") == [_M("abcd")]


def test_large_event_is_refused() -> None:
    parser = EventParser(max_event_size=10)
    assert parser.feed(b"data:abc\ndata:def\ndata:gh\n\n") == [_M("abc\ndef\ngh")]
    assert parser.feed(b"data:abc\ndata:def\n") == []
    with pytest.raises(EventTooLarge):
        parser.feed(b"data:ghi\n")


def test_event_too_large_is_a_value_error() -> None:
    assert issubclass(EventTooLarge, ValueError)
