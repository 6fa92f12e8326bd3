"""Request ids and the one place where errors become responses."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .errors import BadRequest, ComplianceError, InternalError, Overloaded, UploadTimeout

__all__ = [
    "REQUEST_ID",
    "SERVER_NAME",
    "json_response",
    "neutral_server_header",
    "request_middleware",
]

log = logging.getLogger(__name__)
access_log = logging.getLogger("compliance_sse.access")

REQUEST_ID = "X-Request-Id"
SERVER_NAME = "compliance-sse"
"""The ``Server`` header: no Python or aiohttp version for a scanner to match."""
_REQUEST_ID_KEY = web.RequestKey("request_id", str)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# aiohttp's own HTTP errors (no route, wrong method, body too large) mapped to our codes.
_HTTP_CODES = {
    403: ("forbidden", "This cross-origin request is not allowed."),
    404: ("not_found", "No such resource."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("upload_too_large", "The request body is too large."),
}


def json_response(body: object, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def request_id(request: web.Request) -> str:
    return str(request.get(_REQUEST_ID_KEY, ""))


@web.middleware
async def request_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Request id, access log and error answers, in one middleware: an open stream holds one frame here, not three.

    Echo a sane ``X-Request-Id`` or make one, on every response (errors included). Turn any exception
    into ``{detail, code, request_id}``, never leaking exception text. Log one line per request once it
    ends: method, path, status, duration, request id; the path only, since a query may carry a signed
    ``?token=``. A stream is logged when it closes, with its whole duration; a client that left before
    the answer shows as ``cancelled``.
    """
    started = time.monotonic()
    given = request.headers.get(REQUEST_ID, "")
    rid = given if _SAFE_ID.match(given) else secrets.token_hex(8)
    request[_REQUEST_ID_KEY] = rid
    status: int | str = 500
    try:
        try:
            response = await handler(request)
        except Exception as exc:
            answer = _error_answer(request, exc)
            if answer is None:
                raise
            response = answer
        status = response.status
    except web.HTTPException as exc:
        exc.headers[REQUEST_ID] = rid
        status = exc.status
        raise
    except (asyncio.CancelledError, ConnectionError):
        status = "cancelled"
        raise
    finally:
        ms = round((time.monotonic() - started) * 1000, 1)
        fields = {"method": request.method, "path": request.path, "status": status, "ms": ms, "request_id": rid}
        access_log.info("%s %s %s %.1fms %s", request.method, request.path, status, ms, rid, extra={"fields": fields})
    if not response.prepared:
        response.headers[REQUEST_ID] = rid
    return response


def _error_answer(request: web.Request, exc: Exception) -> web.StreamResponse | None:
    """The error response for ``exc``, raised by a handler; ``None``: let it propagate (call while handling it)."""
    if isinstance(exc, ComplianceError):
        return _error_response(request, exc)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            return None
        code, detail = _HTTP_CODES.get(exc.status, ("bad_request" if exc.status < 500 else "internal", exc.reason))
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        body = {"detail": detail, "code": code, "request_id": request_id(request)}
        return json_response(body, status=exc.status, headers=headers)
    if isinstance(exc, HttpProcessingError):
        # aiohttp's BadHttpMessage family, raised while a handler reads the body (a multipart
        # part's headers, a chunk): the peer's fault. Its message quotes the bytes: not echoed.
        log.warning("request %s: unreadable body (%s)", request_id(request), type(exc).__name__)
        return _error_response(request, BadRequest("The request body could not be read."))
    if isinstance(exc, ConnectionError):
        # The client left before (or while) the answer was written: no one to answer, and no bug.
        # The server ends the connection quietly (``server._Protocol``).
        return None
    log.exception("unhandled error on %s %s (request %s)", request.method, request.path, request_id(request))
    return _error_response(request, InternalError())


async def neutral_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: a ``Server`` header that names no versions."""
    response.headers["Server"] = SERVER_NAME


def _error_response(request: web.Request, exc: ComplianceError) -> web.Response:
    if exc.status >= 500 and not isinstance(exc, Overloaded):
        log.warning("request %s failed: %s", request_id(request), exc.code)
    response = json_response(exc.to_dict(request_id(request)), status=exc.status, headers=exc.response_headers())
    if isinstance(exc, UploadTimeout):
        response.force_close()  # the rest of the body may never come: do not wait for it
    return response
