"""The middlewares without a server: request ids, and errors turned into ``{detail, code, request_id}``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import orjson
import pytest
from aiohttp import ClientConnectionResetError, web
from aiohttp.test_utils import make_mocked_request

from compliance_sse.errors import NotAPdf, Overloaded
from compliance_sse.middlewares import REQUEST_ID, request_id, request_middleware
from compliance_sse.server import ServiceRunner

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _raising(exc: BaseException) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise exc

    return handler


async def _both(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The app's middleware: request id, access log and errors."""
    return await request_middleware(request, handler)


def _body(response: web.StreamResponse) -> dict[str, object]:
    assert isinstance(response, web.Response) and response.body is not None
    return dict(orjson.loads(response.body))  # type: ignore[arg-type]


async def test_a_sane_request_id_is_echoed_and_a_missing_or_odd_one_replaced() -> None:
    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(text=request_id(request))

    echoed = await _both(make_mocked_request("GET", "/", headers={REQUEST_ID: "abc-1.2:3"}), ok)
    assert echoed.headers[REQUEST_ID] == "abc-1.2:3"
    for given in ({}, {REQUEST_ID: "a b"}, {REQUEST_ID: "x" * 129}):
        made = await _both(make_mocked_request("GET", "/", headers=given), ok)
        assert len(made.headers[REQUEST_ID]) == 16 and made.headers[REQUEST_ID] != given.get(REQUEST_ID)
        assert isinstance(made, web.Response) and made.text == made.headers[REQUEST_ID]


async def test_a_service_error_becomes_its_status_code_and_headers() -> None:
    response = await _both(make_mocked_request("POST", "/jobs", headers={REQUEST_ID: "r1"}), _raising(NotAPdf()))
    assert response.status == 415 and response.headers[REQUEST_ID] == "r1"
    assert _body(response) == {"detail": NotAPdf().detail, "code": "not_a_pdf", "request_id": "r1"}
    overloaded = await _both(make_mocked_request("POST", "/jobs"), _raising(Overloaded(retry_after=3)))
    assert overloaded.status == 503 and overloaded.headers["Retry-After"] == "3"


async def test_aiohttp_errors_get_our_codes_and_keep_allow() -> None:
    response = await _both(
        make_mocked_request("PUT", "/jobs"), _raising(web.HTTPMethodNotAllowed("PUT", ["GET", "POST"]))
    )
    assert response.status == 405 and response.headers["Allow"] == "GET,POST"
    assert _body(response)["code"] == "method_not_allowed"
    teapot = await _both(make_mocked_request("GET", "/"), _raising(web.HTTPRequestRangeNotSatisfiable()))
    assert teapot.status == 416 and _body(teapot)["code"] == "bad_request"


async def test_a_redirect_passes_through() -> None:
    with pytest.raises(web.HTTPFound):
        await _both(make_mocked_request("GET", "/"), _raising(web.HTTPFound("/elsewhere")))


async def test_a_bug_is_a_500_without_its_text_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="compliance_sse.middlewares"):
        response = await _both(make_mocked_request("GET", "/x"), _raising(KeyError("secret-internal-detail")))
    assert response.status == 500
    body = _body(response)
    assert body["code"] == "internal" and "secret" not in str(body)
    assert any("unhandled error on GET /x" in r.getMessage() for r in caplog.records)


async def test_a_client_gone_before_the_answer_is_left_to_the_server_not_logged_as_a_bug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What aiohttp raises when the head is written to a connection the client has just reset.
    gone = ClientConnectionResetError("Cannot write to closing transport")
    with caplog.at_level(logging.INFO, logger="compliance_sse"), pytest.raises(ConnectionResetError):
        await _both(make_mocked_request("GET", "/jobs/x/events"), _raising(gone))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


async def test_a_client_gone_before_the_answer_ends_the_connection_quietly_in_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def gone(request: web.Request) -> web.StreamResponse:
        raise ClientConnectionResetError("Cannot write to closing transport")

    app = web.Application(middlewares=[request_middleware])
    app.router.add_get("/gone", gone)
    runner = ServiceRunner(app, handler_cancellation=True)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        with caplog.at_level(logging.INFO):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(b"GET /gone HTTP/1.1\r\nHost: t\r\n\r\n")
                assert await asyncio.wait_for(reader.read(), 10) == b""  # no 500 for a peer that is not there
            finally:
                writer.close()
                await writer.wait_closed()
    finally:
        await runner.cleanup()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
