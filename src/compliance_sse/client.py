"""A client that never loses an event: upload a PDF, follow its job, resume on every failure.

:class:`ComplianceClient` uploads through ``POST /jobs`` and then follows the job's
``events_url`` with ``GET``, so a reconnect never repeats the upload (a ``POST
/analyze_sse`` stream cannot be resumed by posting again). It parses with the
service's own :class:`~compliance_sse.sse.parser.EventParser` and yields typed
events. A dropped connection, a stalled stream (no byte for
:data:`STALL_HEARTBEATS` heartbeat intervals) or a ``5xx``/``429`` answer leads
to a reconnect with ``Last-Event-ID``; the delay is ``Retry-After`` when the
server sent one, else full jitter over an exponential backoff whose base is the
stream's ``retry:`` (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).

Why the client keeps its own position: ids are opaque strings that increase per
job (``"7"`` in memory mode, ``"1732550000000-0"`` with Redis), so they are
never compared, only remembered. Every id yielded goes into a set and is never
yielded again, even from a server that replays too much; ``Last-Event-ID`` is
the last id yielded, not the parser's, so an event cut off mid-stream is asked
for again. Heartbeats carry no id (the parser gives them the previous one, as
the spec says), so they are recognised by name and never move the position.

A stream that ends cleanly before ``done``/``error`` and delivered nothing new
may mean the caller resumed after the final event (the server then sends
nothing and closes). The client asks ``GET /jobs/{id}``; once the job is
finished, one more empty stream proves there is nothing after the position,
because a stream opened after the job ended replays everything it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import aiohttp
import orjson
from yarl import URL

from .events import (
    FINAL_EVENTS,
    DoneEvent,
    ErrorEvent,
    Event,
    FlagEvent,
    HeartbeatEvent,
    JobEvent,
    MalformedEvent,
    ProgressEvent,
    UnknownEvent,
    parse,
)
from .retry_after import parse_retry_after
from .sse.models import ServerSentEvent
from .sse.parser import EventParser, EventTooLarge

__all__ = [
    "DEFAULT_HEARTBEAT_S",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_DELAY_S",
    "DEFAULT_RETRY_S",
    "DEFAULT_UPLOAD_ATTEMPTS",
    "STALL_HEARTBEATS",
    "ClientError",
    "ComplianceClient",
    "DoneEvent",
    "ErrorEvent",
    "Event",
    "FlagEvent",
    "HTTPStatusError",
    "HeartbeatEvent",
    "JobEvent",
    "JobFailed",
    "ProgressEvent",
    "ProtocolError",
    "ReconnectFailed",
    "SubmittedJob",
    "UnknownEvent",
    "analyze_file",
    "event_from_sse",
]

DEFAULT_HEARTBEAT_S = 15.0
"""The server's heartbeat interval (s) the stall detector assumes (``CSSE_HEARTBEAT_S``)."""
STALL_HEARTBEATS = 2.5
"""A stream silent for this many heartbeat intervals is considered stalled and reopened."""
DEFAULT_RETRY_S = 3.0
"""Backoff base (s) until the stream sends ``retry:``."""
DEFAULT_MAX_DELAY_S = 30.0
"""Cap (s) on a backoff delay; ``Retry-After`` is honoured as sent."""
DEFAULT_MAX_ATTEMPTS = 10
"""Connection attempts in a row that bring no new event before :exc:`ReconnectFailed`."""
DEFAULT_UPLOAD_ATTEMPTS = 5
"""Uploads tried in all while the server answers ``503`` with ``Retry-After``."""

_FINISHED = frozenset({"done", "failed"})
_MAX_ERROR_BODY = 64 * 1024


# --- errors ---------------------------------------------------------------------------------------


class ClientError(Exception):
    """Base of what the client raises. ``code`` is a machine word: the server's own code when it sent one.

    ``status`` is the HTTP status behind the error, if any; ``retryable`` says
    whether trying the same thing later may succeed.
    """

    code: str = "client_error"

    def __init__(
        self, detail: str, *, code: str | None = None, status: int | None = None, retryable: bool = False
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.status = status
        self.retryable = retryable


class HTTPStatusError(ClientError):
    """The server answered an error status; ``code`` and ``detail`` come from its JSON body when it has one."""

    code = "http_error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int,
        retryable: bool = False,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(detail, code=code, status=status, retryable=retryable)
        self.retry_after = retry_after
        self.request_id = request_id


class ProtocolError(ClientError):
    """The server sent something that is not the event stream or event it promises."""

    code = "bad_response"


class ReconnectFailed(ClientError):
    """Gave up: ``attempts`` connections in a row brought no new event. ``__cause__`` is the last failure."""

    code = "reconnect_failed"

    def __init__(self, detail: str, *, attempts: int, last_event_id: str | None) -> None:
        super().__init__(detail, retryable=True)
        self.attempts = attempts
        self.last_event_id = last_event_id


class JobFailed(ClientError):
    """The job ended with an ``error`` event (raised by :func:`analyze_file`); ``code`` is the event's."""

    def __init__(self, event: ErrorEvent) -> None:
        super().__init__(event.error, code=event.code, retryable=event.retryable)
        self.event = event


def event_from_sse(sse: ServerSentEvent) -> Event:
    """Build the typed event of one parsed event; raises :exc:`ProtocolError` if its data is not what it must be.

    Fields a newer server adds are ignored; unknown event types become :class:`UnknownEvent`.
    """
    try:
        return parse(sse.event, sse.data, sse.id)
    except MalformedEvent as exc:
        raise ProtocolError(f"the server sent a malformed {sse.event!r} event") from exc


# --- the client -----------------------------------------------------------------------------------


class _Random(Protocol):
    def uniform(self, a: float, b: float, /) -> float: ...


@dataclass(frozen=True, slots=True)
class SubmittedJob:
    """What ``POST /jobs`` answered."""

    job_id: str
    status: str
    events_url: str
    report_url: str


class _Transient(Exception):
    """A failure worth a reconnect; ``retry_after`` (s) is the server's wish, if it said one."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class ComplianceClient:
    """An async client of the compliance-sse service.

    ``api_key`` is sent as ``Authorization: Bearer``. ``session`` is used as is
    and not closed (by default the client makes one and :meth:`close` closes it).
    ``heartbeat_s`` is the server's heartbeat interval: a stream silent for
    :data:`STALL_HEARTBEATS` of them is reopened. ``retry_s`` is the backoff
    base until the stream sends ``retry:``; ``max_delay_s`` caps a backoff delay;
    ``max_attempts`` bounds the connection attempts in a row that bring no new
    event; ``upload_attempts`` bounds uploads while the server answers ``503``
    with ``Retry-After``. ``heartbeats`` makes the event iterators yield
    :class:`HeartbeatEvent` too. ``sleep`` and ``rng`` are injectable so tests
    can check the delays asked for; ``on_wait(reason, delay_s)`` hears of each wait
    before it starts. Use as ``async with``, or call
    :meth:`close` (safe twice).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        retry_s: float = DEFAULT_RETRY_S,
        max_delay_s: float = DEFAULT_MAX_DELAY_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        upload_attempts: int = DEFAULT_UPLOAD_ATTEMPTS,
        connect_timeout_s: float = 10.0,
        upload_timeout_s: float = 300.0,
        heartbeats: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: _Random | None = None,
        on_wait: Callable[[str, float], None] | None = None,
    ) -> None:
        if heartbeat_s <= 0 or retry_s < 0 or max_delay_s < 0:
            raise ValueError("heartbeat_s must be positive, retry_s and max_delay_s not negative")
        if max_attempts < 1 or upload_attempts < 1:
            raise ValueError("max_attempts and upload_attempts must be at least 1")
        self._base = URL(base_url if base_url.endswith("/") else base_url + "/")
        if self._base.scheme not in ("http", "https") or not self._base.host:
            raise ValueError(f"{base_url!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:8000)")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._session = session
        self._owns_session = session is None
        self._stall_s = STALL_HEARTBEATS * heartbeat_s
        self._retry_s = retry_s
        self._max_delay_s = max_delay_s
        self._max_attempts = max_attempts
        self._upload_attempts = upload_attempts
        self._connect_timeout_s = connect_timeout_s
        self._upload_timeout_s = upload_timeout_s
        self._heartbeats = heartbeats
        self._sleep = sleep
        self._rng: _Random = rng if rng is not None else random.Random()
        self._on_wait = on_wait

    async def __aenter__(self) -> ComplianceClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session the client made; may be called twice."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            if not self._owns_session:
                raise RuntimeError("the client is closed")
            # No total timeout: a stream lasts as long as the job; stalls are detected per read.
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    def _url(self, *segments: str) -> URL:
        url = self._base
        for segment in segments:
            url = url / segment
        return url

    # -- one-shot requests -------------------------------------------------------------------------

    async def submit(self, path: str | os.PathLike[str], password: str | None = None) -> SubmittedJob:
        """Upload the PDF at ``path`` to ``POST /jobs``.

        Retried only while the server answers ``503`` with ``Retry-After`` (then
        the upload was refused before anything ran). Raises ``OSError`` if the
        file cannot be read, :exc:`HTTPStatusError` for an error answer, and
        :exc:`ClientError` (``connection_error``, ``timeout``) when the upload
        did not go through: it is not repeated, since the job may exist.
        """
        file = Path(path)
        data = await asyncio.to_thread(file.read_bytes)
        timeout = aiohttp.ClientTimeout(total=self._upload_timeout_s, sock_connect=self._connect_timeout_s)
        for attempt in range(1, self._upload_attempts + 1):
            form = aiohttp.FormData()
            form.add_field("file", data, filename=file.name, content_type="application/pdf")
            if password is not None:
                form.add_field("password", password)
            try:
                async with self._get_session().post(
                    self._url("jobs"), data=form, headers=self._headers, timeout=timeout, raise_for_status=False
                ) as resp:
                    if resp.status == 202:
                        body = orjson.loads(await resp.read())
                        return SubmittedJob(
                            job_id=str(body["job_id"]),
                            status=str(body.get("status", "queued")),
                            events_url=str(body["events_url"]),
                            report_url=str(body["report_url"]),
                        )
                    error = await _status_error(resp)
            except (aiohttp.ClientError, OSError) as exc:
                raise _connection_failure("The upload failed", self._base, exc) from exc
            except TimeoutError as exc:
                raise ClientError("The upload timed out.", code="timeout") from exc
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise ProtocolError("POST /jobs answered 202 without a job") from exc
            if error.status == 503 and error.retry_after is not None and attempt < self._upload_attempts:
                await self._wait(f"the server is busy ({error.code or 'HTTP 503'})", error.retry_after)
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get(self, url: URL) -> bytes:
        """The body of a plain GET; raises :exc:`HTTPStatusError` or :exc:`ClientError`."""
        timeout = aiohttp.ClientTimeout(total=self._upload_timeout_s, sock_connect=self._connect_timeout_s)
        try:
            async with self._get_session().get(
                url, headers=self._headers, timeout=timeout, raise_for_status=False
            ) as resp:
                if resp.status != 200:
                    raise await _status_error(resp)
                return await resp.read()
        except (aiohttp.ClientError, OSError) as exc:
            raise _connection_failure(f"GET {url.path} failed", url, exc) from exc
        except TimeoutError as exc:
            raise ClientError(f"GET {url.path} timed out.", code="timeout") from exc

    async def status(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{id}``: the job's status record."""
        return dict(orjson.loads(await self._get(self._url("jobs", job_id))))

    async def report(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{id}/report``: the report; :exc:`HTTPStatusError` ``not_found`` until the job is done."""
        return dict(orjson.loads(await self._get(self._url("jobs", job_id, "report"))))

    async def report_markdown(self, job_id: str) -> str:
        """``GET /jobs/{id}/report.md``: the report in Markdown."""
        return (await self._get(self._url("jobs", job_id, "report.md"))).decode()

    # -- streams -----------------------------------------------------------------------------------

    async def analyze(self, path: str | os.PathLike[str], password: str | None = None) -> AsyncIterator[Event]:
        """Upload the PDF at ``path`` and yield the job's events, ending with :class:`DoneEvent` or :class:`ErrorEvent`.

        Raises what :meth:`submit` and :meth:`events` raise.
        """
        job = await self.submit(path, password)
        async for event in self._follow(job.job_id, self._base.join(URL(job.events_url)), None):
            yield event

    async def events(self, job_id: str, last_event_id: str | None = None) -> AsyncIterator[Event]:
        """Yield the events of an existing job after ``last_event_id`` (from the start when ``None``).

        Ends after :class:`DoneEvent` or :class:`ErrorEvent`, or at once when
        ``last_event_id`` is already the final one. Reconnects as the module
        docstring says; raises :exc:`ReconnectFailed` after ``max_attempts``
        fruitless attempts in a row, :exc:`HTTPStatusError` for a ``4xx`` answer
        (``not_found``, ``job_expired``, ``unauthorized``,
        ``invalid_last_event_id``) and :exc:`ProtocolError` for a response that
        is not an event stream.
        """
        async for event in self._follow(job_id, self._url("jobs", job_id, "events"), last_event_id):
            yield event

    async def _follow(self, job_id: str, url: URL, last_event_id: str | None) -> AsyncIterator[Event]:
        parser = EventParser()
        seen: set[str] = set()
        last_id = last_event_id
        failures = 0
        job_finished = False  # GET /jobs/{id} said done or failed
        while True:
            parser.flush()  # an event cut off by the last connection is dropped, and asked for again
            new_events = 0
            try:
                resp = await self._open_stream(url, last_id)
                if resp is None:
                    return  # 204: the job ended with the event at our position
                try:
                    while True:
                        chunk = await self._read(resp)
                        if not chunk:
                            break
                        try:
                            batch = parser.feed(chunk)
                        except EventTooLarge as exc:
                            raise ProtocolError("the server sent an event larger than the parser accepts") from exc
                        for sse in batch:
                            if sse.event == "heartbeat":
                                if self._heartbeats:
                                    yield event_from_sse(sse)
                                continue
                            # A final event is never a repeat: the stream ends after the first. One
                            # without an id of its own (the log failed under the stream) has the
                            # previous event's id from the parser, as the spec says.
                            if sse.id is not None and sse.event not in FINAL_EVENTS:
                                if sse.id in seen:
                                    continue  # a server that replays too much
                                seen.add(sse.id)
                                last_id = sse.id
                            new_events += 1
                            event = event_from_sse(sse)
                            yield event
                            if isinstance(event, DoneEvent | ErrorEvent):
                                return
                finally:
                    resp.close()
                if new_events == 0:
                    if job_finished:
                        return  # opened after the job ended, and nothing follows our position
                    job_finished = await self._finished(job_id)
                    if job_finished:
                        continue  # confirm at once with a stream opened now
                raise _Transient("the server closed the stream before the job's final event")
            except _Transient as exc:
                failure = exc
            if new_events:
                failures = 0
            failures += 1
            if failures >= self._max_attempts:
                raise ReconnectFailed(
                    f"Gave up after {failures} connection attempts in a row without a new event: {failure}",
                    attempts=failures,
                    last_event_id=last_id,
                ) from failure
            await self._wait(str(failure), self._delay(failures, parser.retry, failure.retry_after))

    async def _wait(self, reason: str, delay_s: float) -> None:
        """Sleep before trying again, telling ``on_wait`` why and for how long (s)."""
        if self._on_wait is not None:
            self._on_wait(reason, delay_s)
        await self._sleep(delay_s)

    def _delay(self, failures: int, retry_ms: int | None, retry_after: float | None) -> float:
        """``Retry-After`` as sent; else full jitter over ``base * 2**(failures - 1)``, capped."""
        if retry_after is not None:
            return retry_after
        base = self._retry_s if retry_ms is None else retry_ms / 1000
        return self._rng.uniform(0.0, min(self._max_delay_s, base * 2 ** (failures - 1)))

    async def _open_stream(self, url: URL, last_id: str | None) -> aiohttp.ClientResponse | None:
        """The stream's response, or None for ``204 No Content`` (nothing follows ``last_id``)."""
        headers = {
            **self._headers,
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
            # A gateway that compresses an event stream buffers it.
            "Accept-Encoding": "identity",
        }
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout_s)
        try:
            async with asyncio.timeout(self._stall_s):
                resp = await self._get_session().get(url, headers=headers, timeout=timeout, raise_for_status=False)
        except TimeoutError as exc:
            raise _Transient(f"no answer for {self._stall_s:g} s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise _Transient(f"the connection failed ({type(exc).__name__})") from exc
        if resp.status == 204:
            resp.close()
            return None
        if resp.status == 200:
            media_type = resp.headers.get("Content-Type", "").partition(";")[0].strip().lower()
            if media_type != "text/event-stream":
                resp.close()
                raise ProtocolError(f"GET {url.path} answered {media_type or 'no content type'}, not an event stream")
            return resp
        try:
            async with asyncio.timeout(self._stall_s):
                error = await _status_error(resp)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            error = HTTPStatusError(f"HTTP {resp.status}", status=resp.status)
            error.__cause__ = exc
        finally:
            resp.close()
        if resp.status >= 500 or resp.status == 429:
            raise _Transient(f"HTTP {resp.status} {error.code}: {error.detail}", retry_after=error.retry_after)
        raise error

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        """The next bytes of the stream (``b""`` at its end); raises :class:`_Transient` on a stall or a drop."""
        try:
            async with asyncio.timeout(self._stall_s):
                return await resp.content.readany()
        except TimeoutError as exc:
            raise _Transient(f"the stream stalled: no byte for {self._stall_s:g} s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise _Transient(f"the connection broke ({type(exc).__name__})") from exc

    async def _finished(self, job_id: str) -> bool:
        try:
            async with asyncio.timeout(self._stall_s):
                return (await self.status(job_id)).get("status") in _FINISHED
        except (ClientError, TimeoutError, orjson.JSONDecodeError):
            return False


def _connection_failure(what: str, url: URL, exc: BaseException) -> ClientError:
    """A refused connection, an unknown host and a broken connection need different fixes: say which."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return ClientError(f"{what}: the host {url.host} cannot be resolved.", code="unknown_host")
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, ConnectionRefusedError):
        return ClientError(
            f"{what}: nothing listens on {url.host}:{url.port} (connection refused); is the server running?",
            code="connection_refused",
        )
    return ClientError(f"{what}: the connection broke.", code="connection_error")


async def _status_error(resp: aiohttp.ClientResponse) -> HTTPStatusError:
    """The error an error answer stands for, from its ``{detail, code, request_id}`` body when it has one."""
    raw = bytearray()
    while len(raw) < _MAX_ERROR_BODY and (chunk := await resp.content.readany()):
        raw += chunk
    body: dict[str, Any] = {}
    with contextlib.suppress(orjson.JSONDecodeError, TypeError):
        parsed = orjson.loads(bytes(raw[:_MAX_ERROR_BODY]))
        if isinstance(parsed, dict):
            body = parsed
    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
    return HTTPStatusError(
        str(body.get("detail") or f"HTTP {resp.status} {resp.reason or ''}".strip()),
        code=str(body["code"]) if body.get("code") else None,
        status=resp.status,
        retryable=resp.status >= 500 or resp.status == 429,
        retry_after=retry_after,
        request_id=resp.headers.get("X-Request-Id"),
    )


# --- for scripts ----------------------------------------------------------------------------------


def analyze_file(
    path: str | os.PathLike[str],
    base_url: str,
    *,
    api_key: str | None = None,
    password: str | None = None,
    on_event: Callable[[Event], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Upload a PDF, follow its job to the end, and return the report (blocking; runs its own event loop).

    ``on_event`` sees every event as it comes; ``options`` go to
    :class:`ComplianceClient`. Raises :exc:`JobFailed` when the job ends with an
    ``error`` event, and what :meth:`ComplianceClient.analyze` raises. Cannot be
    called from a running event loop (``RuntimeError``).
    """

    async def run() -> dict[str, Any]:
        async with ComplianceClient(base_url, api_key, **options) as client:
            async for event in client.analyze(path, password):
                if on_event is not None:
                    on_event(event)
                if isinstance(event, DoneEvent):
                    return dict(event.report)
                if isinstance(event, ErrorEvent):
                    raise JobFailed(event)
        raise ProtocolError("the stream ended without a done or error event")  # pragma: no cover

    return asyncio.run(run())
