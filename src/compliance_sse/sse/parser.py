"""Bytes to events: an incremental parser that does no I/O.

It follows https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
step by step. Where it leaves a choice to us:

* A CR that ends a chunk ends its line at once, and an LF that starts the next
  chunk is then skipped as the rest of that CRLF. Holding the CR back instead
  would delay an event ending in ``\\r\\r`` until the server sends again,
  which may be a whole heartbeat later.
* ``last_event_id`` is the event source's *last event ID string*, which the
  spec updates when an event is dispatched, not the *last event ID buffer*,
  which an ``id:`` line sets at once. A client that reconnects with the buffer
  after a stream broke off mid-event would skip that event.
* A dispatched event's ``retry`` is the ``retry:`` field of its own block, so
  that a serialized event parses back to itself; the stream's reconnection
  time, which the spec sets as soon as the field is read, is ``retry``.
"""

from __future__ import annotations

import codecs
import contextlib
import re

from .models import ServerSentEvent

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "EventParser", "EventTooLarge"]

DEFAULT_MAX_EVENT_SIZE = 1024 * 1024

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class EventTooLarge(ValueError):
    """The peer sent a line, or the data of one event, longer than the parser accepts."""


class EventParser:
    """Turn the bytes of one ``text/event-stream`` into events.

    ``max_event_size`` bounds, in characters, both a single line and the data
    of one event, so a peer that never ends a line can't grow memory forever;
    exceeding it raises :exc:`EventTooLarge`, after which the stream should be
    dropped. ``retry`` is the last reconnection time the stream set, in
    milliseconds, and ``last_event_id`` the id in force at the last blank line
    (the spec's *last event ID string*; "" until an ``id:``): both survive
    :meth:`flush`, so a reconnecting client can reuse the parser for the next
    stream.
    """

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self.last_event_id = ""
        self.retry: int | None = None
        self._id_buffer = ""
        self._max_event_size = max_event_size
        # Spec: "Streams must be decoded using the UTF-8 decode algorithm", which
        # replaces invalid bytes with U+FFFD and never fails.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._reset_stream()

    def _reset_stream(self) -> None:
        self._at_start = True
        self._after_cr = False
        self._pending: list[str] = []
        self._pending_size = 0
        self._data: list[str] = []
        self._data_size = 0
        self._event_type = ""
        self._event_retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Parse the next bytes of the stream; return the events they complete.

        Raises :exc:`EventTooLarge`.
        """
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if self._at_start:
            self._at_start = False
            # Spec: "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
            text = text.removeprefix("\ufeff")
        if self._after_cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF whose CR ended the previous chunk
        self._after_cr = text.endswith("\r")
        *lines, rest = _LINE_BREAK.split(text)
        events = []
        if lines:
            lines[0] = "".join(self._pending) + lines[0]
            self._pending.clear()
            self._pending_size = 0
        for line in lines:
            self._check_size(len(line))
            event = self._process_line(line)
            if event is not None:
                events.append(event)
        if rest:
            self._pending.append(rest)
            self._pending_size += len(rest)
            self._check_size(self._pending_size)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End the stream; always ``[]``, since an unfinished event is discarded.

        Spec: "If the file ends in the middle of an event, before the final empty
        line, the incomplete event is not dispatched." Every line that ends an
        event has already been processed by :meth:`feed`. May be called twice;
        the parser then expects a new stream, with an optional BOM.
        """
        self._decoder.reset()
        self._reset_stream()
        # Like browsers (Chromium's EventSourceParser is built with the source's
        # last event ID), the next stream starts from the dispatched id, so an
        # id-less heartbeat after a reconnect does not forget where we were.
        self._id_buffer = self.last_event_id
        return []

    def _check_size(self, size: int) -> None:
        if size > self._max_event_size:
            raise EventTooLarge(f"more than {self._max_event_size} characters in one line or event")

    def _process_line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        # A line without a colon is a field name with an empty value.
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event_type = value
        elif field == "data":
            self._data_size += len(value) + (1 if self._data else 0)
            self._check_size(self._data_size)
            self._data.append(value)
        elif field == "id":
            if "\0" not in value:
                self._id_buffer = value
        elif field == "retry" and value.isascii() and value.isdigit():
            # Spec: "If the field value consists of only ASCII digits"; an empty
            # value holds no number, so it is ignored too. int() refuses more
            # than sys.get_int_max_str_digits() digits: a delay that long is no
            # delay anyone means, so that field is ignored as well.
            with contextlib.suppress(ValueError):
                self.retry = self._event_retry = int(value.lstrip("0") or "0")
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        self.last_event_id = self._id_buffer
        retry, self._event_retry = self._event_retry, None
        if not self._data:
            self._event_type = ""
            return None
        # Joining the data lines with LF is the spec's buffer minus its last LF.
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event_type or "message",
            id=self.last_event_id or None,
            retry=retry,
        )
        self._data = []
        self._data_size = 0
        self._event_type = ""
        return event
