"""Issue 15: hostile HTTP answered with the contract's JSON errors, one rate-limited WARNING line, no echo."""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import AsyncIterator, Callable

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from compliance_sse.app import create_app
from compliance_sse.server import RateLimitedLog, ServiceRunner
from compliance_sse.settings import Settings

from .conftest import form

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def port() -> AsyncIterator[int]:
    """The service behind :class:`ServiceRunner`, as ``compliance-sse serve`` runs it."""
    runner = ServiceRunner(create_app(Settings(heartbeat_s=30, upload_timeout_s=0.5)), handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    yield int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    await runner.cleanup()


async def _raw(port: int, request: bytes) -> bytes:
    """Send ``request`` as it is; the answer's head and its ``Content-Length`` body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    try:
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
            _status, headers, _ = _split(head)
            return head + await reader.readexactly(int(headers.get("content-length", "0")))
    finally:
        writer.close()


def _split(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


MALFORMED = {
    "bare_cr_in_header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Secret: a\rSECRET\r\n\r\n",
    "bad_chunk_size": b"POST /jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nSECRET\r\nabc\r\n0\r\n\r\n",
    "header_of_10_kb": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"SECRET" * 1700 + b"\r\n\r\n",
    "path_of_10_kb": b"GET /" + b"SECRET" * 1700 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("name", MALFORMED)
async def test_malformed_http_is_a_json_400_that_echoes_nothing(
    port: int, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, headers, body = _split(await _raw(port, MALFORMED[name]))
    assert status == 400
    assert b"SECRET" not in body and headers["content-type"].startswith("application/json")
    error = orjson.loads(body)
    assert error["code"] == "bad_request" and error["request_id"] == headers["x-request-id"]
    assert "aiohttp" not in headers["server"] and "Python" not in headers["server"]
    ours = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(ours) == 1 and ours[0].levelno == logging.WARNING and ours[0].exc_info is None
    assert "SECRET" not in ours[0].getMessage()


def test_the_malformed_request_log_is_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limited = RateLimitedLog(logging.getLogger("t"), per_interval=3, interval_s=60, clock=lambda: now[0])
    for _ in range(1000):
        limited.warning("bad request")
    assert len(caplog.records) == 3
    now[0] = 61
    limited.warning("bad request")
    assert [r.getMessage() for r in caplog.records[3:]] == [
        "997 similar lines were not logged in the last 60 s",
        "bad request",
    ]


async def test_a_good_request_names_no_versions_in_server(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(Settings(heartbeat_s=30)))
    for path in ("/healthz", "/nope"):
        resp = await client.get(path)
        assert resp.headers["Server"] == "compliance-sse"


@pytest.mark.parametrize("filename", ["a\tb.pdf", "a\x7fb.pdf", "a\x00b.pdf", "n" * 10240 + ".pdf"])
async def test_a_hostile_multipart_file_name_is_400_not_500(
    port: int, pdf: Callable[[str], bytes], filename: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = pdf("s01")
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename.encode()
        + b'"\r\nContent-Type: application/pdf\r\n\r\n'
        + data
        + b"\r\n--B--\r\n"
    )
    head = (
        "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    status, _headers, answer = _split(await _raw(port, head.encode() + body))
    assert status in (202, 400), "a name is display-only: cleaned, or refused, never a 500"
    if status == 400:
        assert orjson.loads(answer)["code"] == "bad_request"
    else:
        job = orjson.loads(answer)
        assert job["status"] == "queued"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_gzip_upload_is_refused_with_415(aiohttp_client: AiohttpClient, pdf: Callable[[str], bytes]) -> None:
    client = await aiohttp_client(create_app(Settings(heartbeat_s=30)))
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MB of zeros in ~64 KB
    resp = await client.post(
        "/jobs",
        data=bomb,
        headers={"Content-Encoding": "gzip", "Content-Type": "multipart/form-data; boundary=B"},
    )
    assert resp.status == 415
    assert (await resp.json())["code"] == "unsupported_encoding"
    assert (await client.get("/healthz")).status == 200


async def test_an_upload_that_stops_sending_is_dropped_after_the_idle_timeout(port: int) -> None:
    head = (
        b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\n"
        b'Content-Length: 100000\r\n\r\n--B\r\nContent-Disposition: form-data; name="file"; '
        b'filename="a.pdf"\r\n\r\n%PDF-1.7\n'
    )
    status, _headers, body = _split(await _raw(port, head))  # then sends nothing more
    assert status == 408 and orjson.loads(body)["code"] == "upload_timeout"


async def test_uploads_in_flight_beyond_the_cap_are_503(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(Settings(heartbeat_s=30, max_uploads=2, upload_timeout_s=30)))
    gate = asyncio.Event()

    async def trickle() -> AsyncIterator[bytes]:
        yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7\n'
        await gate.wait()
        yield b"\r\n--B--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=B"}
    held = [asyncio.ensure_future(client.post("/jobs", data=trickle(), headers=headers)) for _ in range(2)]
    app = client.app
    from compliance_sse.keys import UPLOADS

    async with asyncio.timeout(10):
        while app[UPLOADS].in_flight < 2:  # noqa: ASYNC110 - the server's count has no event
            await asyncio.sleep(0.01)
    refused = await client.post("/jobs", data=form(b"%PDF-1.7\n"))
    assert refused.status == 503 and refused.headers["Retry-After"].isdigit()
    assert (await refused.json())["code"] == "overloaded"
    gate.set()
    for resp in await asyncio.gather(*held):
        assert resp.status in (202, 400, 415)
    assert app[UPLOADS].in_flight == 0
