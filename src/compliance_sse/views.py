"""HTTP handlers. They raise ``ComplianceError``s; the middleware answers them."""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from . import __version__
from .auth import tenant_of
from .errors import (
    BadRequest,
    BrokerUnavailable,
    ComplianceError,
    InternalError,
    NotFound,
    TooManyRequests,
    error_for_code,
)
from .eventlog.base import EventLog, JobRecord, LogEvent
from .events import DoneEvent, ErrorEvent, HeartbeatEvent, ProgressEvent, parse
from .keys import EVENT_LOG, HEARTBEATS, JOBS, METRICS, SETTINGS, STREAMS, TENANT_STREAMS, UPLOADS
from .metrics import CONTENT_TYPE, Metrics
from .middlewares import REQUEST_ID, json_response, request_id
from .openapi import openapi
from .report_md import report_markdown
from .sse.models import ServerSentEvent
from .sse.response import EventStreamResponse
from .sse.serializer import json_frame
from .upload import read_upload

__all__ = [
    "analyze",
    "analyze_sse",
    "create_job",
    "healthz",
    "job_events",
    "job_report",
    "job_report_md",
    "job_status",
    "list_jobs",
    "metrics",
    "openapi_json",
    "readyz",
]

_DEFAULT_PAGE_SIZE = 50
_MAX_PAGE_SIZE = 200
_MAX_CURSOR_DIGITS = 20
# How a write fails when the client has gone or stopped reading (RuntimeError: after EOF).
_CLIENT_GONE = (TimeoutError, ConnectionResetError, RuntimeError)

log = logging.getLogger(__name__)


async def _owned_job(request: web.Request) -> JobRecord:
    """The path's job, if it exists and belongs to the caller (404 otherwise, never 403)."""
    record = await request.app[EVENT_LOG].get_job(request.match_info["job_id"])
    if record.tenant != tenant_of(request):
        raise NotFound()
    return record


async def _submit(request: web.Request) -> JobRecord:
    jobs = request.app[JOBS]
    jobs.check_capacity()  # refuse before reading a body we could not process
    await jobs.check_tenant(tenant_of(request))
    settings = request.app[SETTINGS]
    with request.app[UPLOADS].slot():
        upload = await read_upload(request, max_bytes=settings.max_upload_bytes, idle_s=settings.upload_timeout_s)
    if not await request.app[EVENT_LOG].ping():
        # A paused Redis takes commands and answers none: each of the job's writes would wait out the
        # socket timeout. PING is bounded (1 s), so the upload gets its 503 at once.
        raise BrokerUnavailable()
    record = await jobs.submit(upload, tenant_of(request))
    metrics = request.app[METRICS]
    metrics.upload_bytes.inc(len(upload.data))
    metrics.tenant_jobs.labels(tenant=tenant_of(request)).inc()
    return record


def _last_event_id(request: web.Request) -> str | None:
    return request.headers.get("Last-Event-ID") or request.query.get("last_event_id") or None


async def _upload_then_stream(request: web.Request) -> tuple[JobRecord, str | None]:
    return await _submit(request), None


async def _resume_stream(request: web.Request) -> tuple[JobRecord, str | None]:
    return await _owned_job(request), _last_event_id(request)


async def analyze(request: web.Request) -> web.Response:
    """``POST /analyze``: upload, wait, answer the report (or the job's error with its status)."""
    job_id = (await _submit(request)).job_id
    event_log = request.app[EVENT_LOG]
    final: LogEvent | None = None
    async for entry in event_log.read(job_id):
        final = entry
    if final is None:
        raise InternalError()
    ended = parse(final.event, final.data, final.id)
    if isinstance(ended, ErrorEvent):
        raise error_for_code(ended.code, ended.error or None, retryable=ended.retryable)
    if not isinstance(ended, DoneEvent):
        raise InternalError()
    return web.Response(body=final.data, content_type="application/json", headers={"X-Job-Id": job_id})


async def create_job(request: web.Request) -> web.Response:
    """``POST /jobs``: accept the upload and answer ``202`` at once."""
    job_id = (await _submit(request)).job_id
    urls = request.app[JOBS].urls(job_id, tenant_of(request))
    return json_response({"job_id": job_id, "status": "queued", **urls}, status=202)


async def list_jobs(request: web.Request) -> web.Response:
    """``GET /jobs``: the caller's jobs, newest first, ``?limit=`` and ``?cursor=``."""
    limit = request.query.get("limit", str(_DEFAULT_PAGE_SIZE))
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= _MAX_PAGE_SIZE):
        raise BadRequest(f"limit must be a whole number from 1 to {_MAX_PAGE_SIZE}.")
    cursor = request.query.get("cursor")
    if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) <= _MAX_CURSOR_DIGITS):
        raise BadRequest("cursor must be the next_cursor of a previous page.")
    records, cursor = await request.app[EVENT_LOG].list_jobs(tenant_of(request), limit=int(limit), cursor=cursor)
    return json_response({"jobs": [r.public() for r in records], "next_cursor": cursor})


async def job_status(request: web.Request) -> web.Response:
    return json_response((await _owned_job(request)).public())


async def _report(request: web.Request) -> tuple[str, bytes]:
    job_id = (await _owned_job(request)).job_id
    report = await request.app[EVENT_LOG].get_report(job_id)
    if report is None:
        raise NotFound("The report is not ready: the job has not finished, or it failed.")
    return job_id, report


async def job_report(request: web.Request) -> web.Response:
    _job_id, report = await _report(request)
    return web.Response(body=report, content_type="application/json")


async def job_report_md(request: web.Request) -> web.Response:
    _job_id, report = await _report(request)
    return web.Response(text=report_markdown(orjson.loads(report)), content_type="text/markdown")


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: Prometheus text format, names prefixed ``csse_``."""
    return web.Response(
        body=request.app[METRICS].render(),
        headers={"Content-Type": CONTENT_TYPE, "X-Content-Type-Options": "nosniff"},
    )


async def openapi_json(request: web.Request) -> web.Response:
    """``GET /openapi.json``: OpenAPI 3.1 of every endpoint, as this service is configured."""
    return json_response(openapi(request.app[SETTINGS]))


async def healthz(request: web.Request) -> web.Response:
    """Liveness: answers from the loop alone, touching no dependency."""
    return json_response({"status": "ok", "version": __version__})


async def readyz(request: web.Request) -> web.Response:
    jobs = request.app[JOBS]
    ok = await request.app[EVENT_LOG].ping()
    draining = jobs.closing
    taking = jobs.can_take_jobs
    status = 200 if ok and taking and not draining else 503
    body = {"status": "ready" if status == 200 else "unavailable", "broker": ok, "jobs": taking, "draining": draining}
    return json_response(body, status=status)


async def _stream(
    request: web.Request, start: Callable[[web.Request], Awaitable[tuple[JobRecord, str | None]]]
) -> web.StreamResponse:
    """Relay the log of the job ``start`` names (after the id it names) to the client, with heartbeats.

    The handler's task is the stream's only task: the relay runs in it, the app's
    :class:`~compliance_sse.sse.response.HeartbeatScheduler` sends the heartbeats, and
    shutdown interrupts the relay through ``stop_streaming()``.
    """
    record, after = await start(request)
    job_id = record.job_id
    app = request.app
    settings = app[SETTINGS]
    event_log: EventLog = app[EVENT_LOG]
    tenant = tenant_of(request)
    open_streams = app[TENANT_STREAMS]
    if settings.tenant_max_streams and open_streams.get(tenant, 0) >= settings.tenant_max_streams:
        raise TooManyRequests(retry_after=max(1, round(settings.retry_ms / 1000)))
    if after is not None and await event_log.ended_at(job_id, after):
        # Nothing will follow: 204 is how the WHATWG spec tells an EventSource to stop reconnecting.
        return web.Response(status=204, headers={"X-Job-Id": job_id})
    events = event_log.read_batches(job_id, after)  # raises before the stream starts
    state = _StreamState(record, app[METRICS])
    response = EventStreamResponse(
        heartbeat_s=settings.heartbeat_s,
        send_timeout_s=settings.send_timeout_s,
        # Drawn per stream from [R, 2R): clients cut off together (a gateway restart) come back spread out.
        retry_ms=round(settings.retry_ms * random.uniform(1.0, 2.0)),
        heartbeat_data=state.heartbeat,
        headers={"X-Job-Id": job_id, REQUEST_ID: request_id(request)},
        scheduler=app[HEARTBEATS],
        # Up to 10 % earlier, at random: streams opened together (a deploy) do not all reconnect together.
        max_s=settings.stream_max_s * random.uniform(0.9, 1.0),
    )
    open_streams[tenant] = open_streams.get(tenant, 0) + 1
    try:
        await response.prepare(request)
    except BaseException:
        _release_stream(open_streams, tenant)
        raise
    app[STREAMS].add(response)
    try:
        await response.relay(events, state.frames)
        if response.expired:
            with contextlib.suppress(Exception):
                await response.send_comment("stream time limit reached; reconnect with Last-Event-ID")
    except ComplianceError as failure:
        # The log failed under the stream (Redis went away). An error event without an id,
        # so Last-Event-ID stays on the last real event and the client resumes from there.
        error = ErrorEvent.of(failure, state.stage, retryable=True)
        with contextlib.suppress(Exception):
            await response.send_event(ServerSentEvent(data=error.encode().decode(), event=error.name))
    except _CLIENT_GONE:
        pass
    except Exception:
        log.exception("stream of job %s failed (request %s)", job_id, request_id(request))
    finally:
        await _close_events(events)
        app[STREAMS].discard(response)
        _release_stream(open_streams, tenant)
        with contextlib.suppress(Exception):
            await response.write_eof()
    return response


# Partials of _stream, not handlers that await it: an open stream holds one frame of ours, not two.
analyze_sse = functools.partial(_stream, start=_upload_then_stream)
"""``POST /analyze_sse``: upload, then stream the job's events until ``done`` or ``error``."""
job_events = functools.partial(_stream, start=_resume_stream)
"""``GET /jobs/{id}/events``: replay after ``Last-Event-ID``, then follow live."""


def _release_stream(open_streams: dict[str, int], tenant: str) -> None:
    left = open_streams.get(tenant, 0) - 1
    if left > 0:
        open_streams[tenant] = left
    else:
        open_streams.pop(tenant, None)


class _StreamState:
    """What one open stream keeps between batches: its job's creation time and last stage."""

    __slots__ = ("created", "metrics", "stage")

    def __init__(self, record: JobRecord, metrics: Metrics) -> None:
        self.created = record.created
        self.stage = record.stage
        self.metrics = metrics

    def heartbeat(self) -> dict[str, object]:
        now = time.time()
        return HeartbeatEvent(ts=round(now, 3), stage=self.stage, elapsed_s=round(now - self.created, 1)).body()

    def frames(self, batch: list[LogEvent]) -> bytes:
        """The SSE frames of a batch of log events; remembers the last stage, counts the events."""
        for name, count in Counter(e.event for e in batch).items():  # one metric update per event name
            self.metrics.events_sent.labels(event=name).inc(count)
        last = next((e for e in reversed(batch) if e.event == ProgressEvent.name), None)
        if last is not None and isinstance(progress := parse(last.event, last.data), ProgressEvent):
            self.stage = progress.stage
        return b"".join([json_frame(e.event, e.id, e.data) for e in batch])


async def _close_events(events: AsyncIterator[Any]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
