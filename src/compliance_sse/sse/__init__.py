"""The Server-Sent Events protocol: event values, a serializer, a parser and the stream response."""

from .models import ServerSentEvent
from .parser import DEFAULT_MAX_EVENT_SIZE, EventParser, EventTooLarge
from .response import EventStreamResponse
from .serializer import comment, json_data, json_event, json_frame, retry_frame, serialize

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "EventParser",
    "EventStreamResponse",
    "EventTooLarge",
    "ServerSentEvent",
    "comment",
    "json_data",
    "json_event",
    "json_frame",
    "retry_frame",
    "serialize",
]
