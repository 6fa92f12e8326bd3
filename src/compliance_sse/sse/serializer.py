"""Events to bytes: pure functions, no I/O.

Frames use LF as the line terminator and are UTF-8, as
https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
requires. Data is split on CRLF, CR and LF only, the three line ends a client
recognises; ``str.splitlines()`` would also split on U+2028, VT, FS and others,
which a client keeps inside a line.
"""

from __future__ import annotations

import re

import orjson

from .models import ServerSentEvent

__all__ = ["comment", "json_data", "json_event", "json_frame", "retry_frame", "serialize"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def serialize(event: ServerSentEvent) -> bytes:
    """Encode one event as a frame ending with a blank line.

    Raises ``UnicodeEncodeError`` if a field holds a lone surrogate.
    """
    data = event.data
    if "\n" in data or "\r" in data:
        data = "\ndata: ".join(_LINE_BREAK.split(data))
    # Always at least one data line: a client drops an event whose data buffer
    # is empty, so ``data=""`` must still be sent as "data: ".
    head = "" if event.event == "message" else f"event: {event.event}\n"
    if event.id is not None:
        # An empty id still goes out: "id:" resets the client's last event ID.
        head += f"id: {event.id}\n" if event.id else "id:\n"
    if event.retry is not None:
        return f"{head}data: {data}\nretry: {event.retry}\n\n".encode()
    return f"{head}data: {data}\n\n".encode()


def json_frame(event: str, id: str, data: bytes) -> bytes:
    """Encode an event whose ``data`` is already UTF-8 compact JSON (what the event log stores), without decoding it.

    The same bytes as ``serialize(ServerSentEvent(data=data.decode(), event=event, id=id))``, in a quarter of the
    time: a replay sends hundreds of stored events at once. Anything that needs more than the plain frame (a line
    break in a field, an empty id, the default event name) goes through :func:`serialize`.
    """
    if (
        b"\n" in data
        or b"\r" in data
        or not id
        or event == "message"
        or "\n" in event
        or "\r" in event
        or "\n" in id
        or "\r" in id
        or "\0" in id
        or not event
    ):
        return serialize(ServerSentEvent(data=data.decode(), event=event, id=id))
    return b"event: %s\nid: %s\ndata: %s\n\n" % (event.encode(), id.encode(), data)


def comment(text: str = "") -> bytes:
    """Encode a comment frame, which clients ignore; one ``:`` line per line of ``text``."""
    return ("\n".join(f": {line}" for line in _LINE_BREAK.split(text)) + "\n\n").encode()


def retry_frame(ms: int) -> bytes:
    """Encode a frame that only sets the client's reconnection delay, in milliseconds.

    Raises ``ValueError`` if ``ms`` is negative.
    """
    if ms < 0:
        raise ValueError("retry must not be negative")
    return f"retry: {ms}\n\n".encode()


def json_data(obj: object) -> str:
    """Encode ``obj`` as compact JSON, which never holds a raw line break.

    Raises ``TypeError`` (``orjson.JSONEncodeError``) for what orjson cannot encode.
    """
    return orjson.dumps(obj).decode()


def json_event(event: str, data: object, id: str | None = None) -> ServerSentEvent:
    """Build an event named ``event`` whose data is ``data`` as compact JSON."""
    return ServerSentEvent(data=json_data(data), event=event, id=id)
