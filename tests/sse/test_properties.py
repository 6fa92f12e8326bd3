"""Round-trip properties of the serializer and parser (aio-libs/yarl ``tests/test_quoting_hypothesis.py``)."""

import dataclasses

from hypothesis import example, given, note
from hypothesis import strategies as st

from compliance_sse.sse import EventParser, ServerSentEvent, serialize

# Any encodable text (no lone surrogates), mixed with what a line-based format finds hard.
_chars = st.one_of(st.characters(codec="utf-8"), st.sampled_from("\r\n: \ufeff\u2028\x85\x0b\x00"))
_events = st.builds(
    ServerSentEvent,
    data=st.text(_chars),
    event=st.text(_chars.filter(lambda c: c not in "\r\n"), min_size=1),
    id=st.none() | st.text(_chars.filter(lambda c: c not in "\r\n\0")),
    retry=st.none() | st.integers(min_value=0),
)


def _expected(event: ServerSentEvent) -> ServerSentEvent:
    """What a client reads: data line ends become LF, and an empty id is no id."""
    data = event.data.replace("\r\n", "\n").replace("\r", "\n")
    return dataclasses.replace(event, data=data, id=event.id or None)


def _parse(chunks: list[bytes]) -> tuple[list[ServerSentEvent], EventParser]:
    parser = EventParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.flush(), parser


@given(event=_events)
@example(event=ServerSentEvent())
@example(event=ServerSentEvent(data="a\r\nb\rc\nd\u2028e\r"))
@example(event=ServerSentEvent(data="\r\r\n\n"))
@example(event=ServerSentEvent(data=" lead", event=" lead", id=" lead"))
@example(event=ServerSentEvent(data=":", event=":", id=":"))
@example(event=ServerSentEvent(data="x", event="message", id="", retry=0))
@example(event=ServerSentEvent(data="\ufeff", event="\ufeff", id="\ufeff"))
def test_parse_serialize_round_trip(event: ServerSentEvent) -> None:
    frame = serialize(event)
    note(f"frame={frame!r}")
    events, parser = _parse([frame])
    assert events == [_expected(event)]
    assert parser.last_event_id == (event.id or "")
    assert parser.retry == event.retry


@given(
    events=st.lists(_events, max_size=5),
    line_end=st.sampled_from([b"\n", b"\r", b"\r\n"]),
    bom=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
@example(events=[ServerSentEvent(data="a")], line_end=b"\r\n", bom=False, cuts=[8])
@example(events=[ServerSentEvent(data="a")], line_end=b"\r\n", bom=False, cuts=[8, 10])
@example(events=[ServerSentEvent(data="é€😀")], line_end=b"\n", bom=True, cuts=[1, 2, 10, 13, 15])
@example(events=[ServerSentEvent(data="a\r\nb", id="1"), ServerSentEvent(data="c")], line_end=b"\r", bom=False, cuts=[])
def test_chunk_boundaries_do_not_matter(
    events: list[ServerSentEvent], line_end: bytes, bom: bool, cuts: list[int]
) -> None:
    # serialize() ends lines with LF only, so every LF is a line end we may swap.
    raw = (b"\xef\xbb\xbf" if bom else b"") + b"".join(serialize(event) for event in events).replace(b"\n", line_end)
    points = sorted({cut % (len(raw) + 1) for cut in cuts})
    chunks = [raw[start:end] for start, end in zip([0, *points], [*points, len(raw)], strict=True)]
    note(f"chunks={chunks!r}")
    whole, whole_parser = _parse([raw])
    split, split_parser = _parse(chunks)
    assert split == whole
    assert len(whole) == len(events)
    assert [event.data for event in whole] == [_expected(event).data for event in events]
    assert (split_parser.last_event_id, split_parser.retry) == (whole_parser.last_event_id, whole_parser.retry)
