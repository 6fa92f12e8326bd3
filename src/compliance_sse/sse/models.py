"""Server-Sent Events as values: an invalid event cannot be built.

See https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerSentEvent"]

_LINE_BREAKS = ("\r", "\n")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One event of a stream.

    ``event`` defaults to ``"message"``, the type a browser dispatches when the
    stream names none. ``id`` of ``None`` means the event carries no ``id:``
    field; ``retry`` is in milliseconds. Raises ``ValueError`` when ``event`` is
    empty or holds CR or LF, ``id`` holds CR, LF or NUL, or ``retry`` is
    negative: such fields cannot be written to the wire without changing their
    meaning (a client reads an empty event type as ``"message"``).
    """

    data: str = ""
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    def __post_init__(self) -> None:
        if not self.event:
            raise ValueError('event must not be empty: an unnamed event is "message"')
        if any(c in self.event for c in _LINE_BREAKS):
            raise ValueError("event must not contain CR or LF")
        if self.id is not None:
            if any(c in self.id for c in _LINE_BREAKS):
                raise ValueError("id must not contain CR or LF")
            if "\0" in self.id:
                raise ValueError("id must not contain NUL")
        if self.retry is not None and self.retry < 0:
            raise ValueError("retry must not be negative")
