"""Read a multipart PDF upload as a stream, enforcing the size cap while reading."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from .errors import BadRequest, MissingFile, NotAPdf, Overloaded, UnsupportedEncoding, UploadTimeout, UploadTooLarge

__all__ = ["Upload", "UploadSlots", "check_header", "checked_upload", "read_upload", "too_large"]

T = TypeVar("T")

_CHUNK = 64 * 1024
_HEADER_WINDOW = 1024
_MAX_FIELD = 4096
_FORM_OVERHEAD = 64 * 1024
"""What a body may carry besides the file (boundaries, part headers, the password), within the size cap."""
_MAX_PARTS = 16
"""A form has a file and a password; thousands of tiny parts only cost the loop a parser each."""
MIN_UPLOAD_RATE = 8 * 1024
"""Bytes a second a body must average once its first idle timeout has passed (64 kbit/s): a body that
sends a byte now and then never goes idle, yet would hold an upload slot for days."""


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes = field(repr=False)
    doc_name: str
    password: str | None = field(repr=False)  # never in a log line
    sha256: str


class UploadSlots:
    """Bounds the uploads read at once (each buffers up to the size cap): past ``limit``, ``503 overloaded``.

    With the defaults (16 x 10 MB) uploads hold at most 160 MB however many clients trickle.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot while the body is read; raises ``Overloaded`` when none is free."""
        if self.in_flight >= self.limit:
            raise Overloaded("Too many uploads are in progress; retry shortly.", retry_after=2)
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


async def _idle(awaitable: Awaitable[T], idle_s: float) -> T:
    """``await awaitable``, or ``UploadTimeout`` when the body sends nothing for ``idle_s`` seconds."""
    try:
        async with asyncio.timeout(idle_s):
            return await awaitable
    except TimeoutError:
        raise UploadTimeout() from None


def _display_name(raw: str | None) -> str:
    """Keep the file name for display only: last path segment, printable, bounded."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:200] or "document.pdf"


async def _read_field(part: BodyPartReader, idle_s: float) -> str:
    data = bytearray()
    while chunk := await _idle(part.read_chunk(_CHUNK), idle_s):
        data += chunk
        if len(data) > _MAX_FIELD:
            raise BadRequest("A form field is too long.")
    return data.decode("utf-8", errors="replace")


class _Budget:
    """The bytes a whole body may carry, counted over every part (a chunked body declares no length), and
    the pace they must come at: at least :data:`MIN_UPLOAD_RATE` on average after the first ``idle_s``."""

    def __init__(self, max_bytes: int, idle_s: float) -> None:
        self.max_bytes = max_bytes
        self.left = max_bytes + _FORM_OVERHEAD
        self.received = 0
        self._loop = asyncio.get_running_loop()
        self._pace_from = self._loop.time() + idle_s

    def take(self, n: int) -> None:
        self.left -= n
        self.received += n
        if self.left < 0:
            raise too_large(self.max_bytes)
        late_s = self._loop.time() - self._pace_from
        if late_s > 0 and self.received < MIN_UPLOAD_RATE * late_s:
            raise UploadTimeout("The upload is arriving too slowly; send it again over a faster connection.")


async def _discard(part: BodyPartReader, idle_s: float, budget: _Budget) -> None:
    """Read a part the service does not use to the void, under the idle timeout and the body's budget."""
    while chunk := await _idle(part.read_chunk(_CHUNK), idle_s):
        budget.take(len(chunk))


def check_header(data: bytes | bytearray) -> None:
    """Raise ``NotAPdf`` unless ``%PDF-`` starts in the first 1024 bytes (junk before it is legal)."""
    if data.find(b"%PDF-", 0, _HEADER_WINDOW + 4) < 0:
        raise NotAPdf()


def too_large(max_bytes: int) -> UploadTooLarge:
    return UploadTooLarge(f"The upload is larger than {max_bytes / (1024 * 1024):g} MB.")


def checked_upload(data: bytes, name: str | None, password: str | None, *, max_bytes: int) -> Upload:
    """An upload already in memory (the CLI's file), checked as :func:`read_upload` checks a request's.

    Raises ``UploadTooLarge`` or ``NotAPdf``.
    """
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    check_header(data)
    return Upload(data=data, doc_name=_display_name(name), password=password, sha256=hashlib.sha256(data).hexdigest())


async def read_upload(request: web.Request, *, max_bytes: int, idle_s: float = 30.0) -> Upload:
    """Read the ``file`` part (and optional ``password``) without buffering past ``max_bytes``.

    The whole body, every part counted, carries at most ``max_bytes`` plus a little form overhead, in at
    most ``_MAX_PARTS`` parts. A body that sends nothing for ``idle_s`` seconds, or trickles (see
    :data:`MIN_UPLOAD_RATE`), is dropped. Raises ``UploadTooLarge``,
    ``MissingFile``, ``NotAPdf``, ``UnsupportedEncoding``, ``UploadTimeout`` or ``BadRequest``.
    """
    if request.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        # Inflating is unbounded CPU and memory on the loop (a 2 MB gzip body can hold 1 GiB),
        # and a PDF compresses its streams already: the body must come as it is.
        raise UnsupportedEncoding()
    if request.content_length is not None and request.content_length > max_bytes + _FORM_OVERHEAD:
        raise too_large(max_bytes)
    # The header as sent, not request.content_type: that parses it with the email package, 0.2 ms a request.
    if not request.headers.get("Content-Type", "").lstrip().lower().startswith("multipart/"):
        raise MissingFile()
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError) as exc:
        raise BadRequest("The multipart body is malformed.") from exc
    data: bytearray | None = None
    doc_name = "document.pdf"
    password: str | None = None
    hasher = hashlib.sha256()
    budget = _Budget(max_bytes, idle_s)
    parts = 0
    try:
        while (part := await _idle(reader.next(), idle_s)) is not None:
            parts += 1
            if parts > _MAX_PARTS:
                raise BadRequest(f"The form has more than {_MAX_PARTS} parts.")
            if not isinstance(part, BodyPartReader):
                raise BadRequest("A nested multipart form is not accepted.")
            if part.name == "file" and data is None:
                doc_name = _display_name(part.filename)
                data = bytearray()
                checked = False
                while chunk := await _idle(part.read_chunk(_CHUNK), idle_s):
                    if len(data) + len(chunk) > max_bytes:
                        raise too_large(max_bytes)
                    data += chunk
                    budget.take(len(chunk))
                    hasher.update(chunk)
                    if not checked and len(data) >= _HEADER_WINDOW + 4:
                        check_header(data)
                        checked = True
                if not checked:
                    check_header(data)
            elif part.name == "password":
                password = await _read_field(part, idle_s) or None
            else:
                await _discard(part, idle_s, budget)
    except (ValueError, AssertionError, HttpProcessingError) as exc:
        raise BadRequest("The multipart body is malformed.") from exc
    if data is None:
        raise MissingFile()
    return Upload(data=bytes(data), doc_name=doc_name, password=password, sha256=hasher.hexdigest())
