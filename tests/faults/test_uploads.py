"""Uploads that trickle, lie about their length, or send oversized or many parts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import orjson
import pytest

from compliance_sse.keys import UPLOADS

from .conftest import HOST, Service, StartService, file_part, multipart_post, parse_head

Pdf = Callable[[str], bytes]


def _no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no traceback, no ERROR line"


async def _answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, object]]:
    async with asyncio.timeout(20):
        status, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, orjson.loads(body) if body else {}


async def _healthy(service: Service) -> None:
    status, _, _ = await service.request(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert status == 200
    assert service.app[UPLOADS].in_flight == 0, "every upload slot is given back"


async def test_a_content_length_shorter_than_the_body_is_a_clean_400(
    start_service: StartService, pdf: Pdf, caplog: pytest.LogCaptureFixture
) -> None:
    service = await start_service(upload_timeout_s=0.5)
    body = file_part(pdf("s01")) + b"--B--\r\n"
    reader, writer = await asyncio.open_connection(HOST, service.port)
    writer.write(multipart_post("/jobs", body, length=len(body) // 2))  # the rest reads as a next "request"
    status, error = await _answer(reader)
    assert status == 400 and error["code"] == "bad_request"
    writer.close()
    await _healthy(service)
    _no_error_logged(caplog)


@pytest.mark.parametrize("then", ["waits", "closes"])
async def test_a_content_length_longer_than_the_body(
    start_service: StartService, pdf: Pdf, caplog: pytest.LogCaptureFixture, then: str
) -> None:
    service = await start_service(upload_timeout_s=0.5)
    body = file_part(pdf("s01")) + b"--B--\r\n"
    reader, writer = await asyncio.open_connection(HOST, service.port)
    writer.write(multipart_post("/jobs", body, length=len(body) + 1000))
    if then == "waits":
        status, error = await _answer(reader)
        assert status == 408 and error["code"] == "upload_timeout"
    else:
        await writer.drain()
        writer.write_eof()
        async with asyncio.timeout(20):
            await reader.read()  # an answer or a close, never a hang
    writer.close()
    await _healthy(service)
    _no_error_logged(caplog)


async def test_a_trickling_upload_within_the_idle_timeout_completes(start_service: StartService, pdf: Pdf) -> None:
    service = await start_service(upload_timeout_s=2)
    body = file_part(pdf("s01")) + b"--B--\r\n"
    raw = multipart_post("/jobs", body)
    reader, writer = await asyncio.open_connection(HOST, service.port)
    step = len(raw) // 20
    for i in range(0, len(raw), step):
        writer.write(raw[i : i + step])
        await writer.drain()
        await asyncio.sleep(0.05)
    status, job = await _answer(reader)
    assert status == 202 and job["status"] == "queued"
    writer.close()


async def test_an_upload_that_trickles_a_byte_at_a_time_is_dropped(
    start_service: StartService, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 15: 20 bytes a second never went idle, so it held an upload slot for as long as it liked."""
    service = await start_service(upload_timeout_s=1)
    reader, writer = await asyncio.open_connection(HOST, service.port)
    writer.write(multipart_post("/jobs", file_part(b"%PDF-1.7\n"), length=1_000_000)[:-2])
    status = 0

    async def trickle() -> None:
        while True:
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    sending = asyncio.ensure_future(trickle())
    try:
        status, error = await _answer(reader)
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sending
        writer.close()
    assert status == 408 and error["code"] == "upload_timeout"
    await _healthy(service)
    _no_error_logged(caplog)


def _chunked(path: str, body: bytes, piece: int = 65536) -> bytes:
    """A multipart ``POST`` with ``Transfer-Encoding: chunked``: no length to check up front."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=B\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + piece]), body[i : i + piece]) for i in range(0, len(body), piece)
    )
    return head + chunks + b"0\r\n\r\n"


@pytest.mark.parametrize("where", ["before", "after"])
async def test_an_oversized_part_that_is_not_the_file_is_413(
    start_service: StartService, pdf: Pdf, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    service = await start_service(max_upload_mb=1)
    junk = b'--B\r\nContent-Disposition: form-data; name="junk"\r\n\r\n' + b"j" * (3 * 1024 * 1024) + b"\r\n"
    parts = [junk, file_part(pdf("s01"))] if where == "before" else [file_part(pdf("s01")), junk]
    status, _, answer = await service.request(_chunked("/jobs", b"".join(parts) + b"--B--\r\n"))
    assert status == 413 and orjson.loads(answer)["code"] == "upload_too_large"
    await _healthy(service)
    _no_error_logged(caplog)


async def test_an_oversized_file_part_is_413(start_service: StartService, pdf: Pdf) -> None:
    service = await start_service(max_upload_mb=1)
    big = pdf("s01") + b"%" * (2 * 1024 * 1024)
    status, _, answer = await service.request(_chunked("/jobs", file_part(big) + b"--B--\r\n"))
    assert status == 413 and orjson.loads(answer)["code"] == "upload_too_large"
    await _healthy(service)


async def test_many_parts_are_refused(start_service: StartService, pdf: Pdf, caplog: pytest.LogCaptureFixture) -> None:
    service = await start_service()
    tiny = b'--B\r\nContent-Disposition: form-data; name="x"\r\n\r\ny\r\n'
    body = tiny * 50_000 + file_part(pdf("s01")) + b"--B--\r\n"
    status, _, answer = await service.request(_chunked("/jobs", body), limit_s=30)
    assert status == 400 and orjson.loads(answer)["code"] == "bad_request"
    await _healthy(service)
    _no_error_logged(caplog)


async def test_a_nested_multipart_part_is_refused(start_service: StartService, pdf: Pdf) -> None:
    service = await start_service()
    nested = (
        b'--B\r\nContent-Disposition: form-data; name="x"\r\nContent-Type: multipart/mixed; boundary=C\r\n\r\n'
        + b"--C\r\nContent-Type: text/plain\r\n\r\n"
        + b"z" * 100_000
        + b"\r\n--C--\r\n\r\n"
    )
    status, _, answer = await service.request(multipart_post("/jobs", nested + file_part(pdf("s01")) + b"--B--\r\n"))
    assert status == 400 and orjson.loads(answer)["code"] == "bad_request"
    await _healthy(service)
