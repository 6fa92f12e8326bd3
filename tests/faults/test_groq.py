"""The model's API hanging, failing (5xx, 429 with Retry-After, bad JSON) and slow, behind the real groq SDK.

The service talks to a local Groq stand-in (``tests/fakegroq.py``) over HTTP. Each fault ends the job
with ``done`` or a coded, retryable-or-not ``error`` within its time limits, and the next job, once the
model answers again, runs to ``done``: nothing in the service stays broken.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from pytest_aiohttp import AiohttpServer

from compliance_sse.sse.parser import EventParser
from tests.fakegroq import FakeGroq, start_fake_groq

from .conftest import Service, StartService, file_part, multipart_post, open_stream, read_to_end

Pdf = Callable[[str], bytes]

# fault -> the fake's settings, and the job's outcome: "done", or the error's (code, retryable)
FAULTS: dict[str, tuple[dict[str, Any], tuple[str, bool] | str]] = {
    "hang": ({"mode": "hang"}, ("analyzer_unavailable", True)),
    "server_error": ({"mode": "server_error"}, ("analyzer_unavailable", True)),
    "unavailable_503": ({"mode": "unavailable", "retry_after": "1"}, ("analyzer_unavailable", True)),
    "rate_limit_then_ok": ({"script": ["rate_limit"], "retry_after": "1"}, "done"),
    "rate_limit_for_long": ({"mode": "rate_limit", "retry_after": "3600"}, ("analyzer_unavailable", True)),
    "bad_json": ({"mode": "not_json"}, ("analyzer_unavailable", True)),
    "bad_json_then_ok": ({"script": ["not_json"]}, "done"),
    "slow": ({"mode": "slow", "slow_s": 1.5}, "done"),
    "stream_error": ({"mode": "stream_error"}, ("analyzer_unavailable", True)),
}


async def _outcome(service: Service, data: bytes) -> tuple[str, tuple[str, bool] | str]:
    status, _, body = await service.request(multipart_post("/jobs", file_part(data) + b"--B--\r\n"))
    assert status == 202
    reader, writer, status = await open_stream(service, orjson.loads(body)["events_url"])
    assert status == 200
    events = EventParser().feed(await read_to_end(reader))
    writer.close()
    last = events[-1]
    if last.event == "done":
        return "done", "done"
    assert last.event == "error", last
    error = orjson.loads(last.data)
    assert "Traceback" not in error["error"] and "secret-upstream-detail" not in error["error"]
    return "error", (error["code"], error["retryable"])


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_model_fault_ends_the_job_cleanly_and_the_next_job_runs(
    start_service: StartService, aiohttp_server: AiohttpServer, pdf: Pdf, fault: str
) -> None:
    knobs, expected = FAULTS[fault]
    fake = await start_fake_groq(aiohttp_server, FakeGroq(**knobs))
    service = await start_service(groq_api_key="gsk_test", groq_base_url=fake.base_url, groq_timeout_s=2)
    started = time.monotonic()
    _, outcome = await _outcome(service, pdf("s01"))
    took, requests = time.monotonic() - started, fake.requests
    fake.release()  # hung requests end
    fake.mode, fake.script = "valid", []
    _, after = await _outcome(service, pdf("s03"))
    print(f"\ngroq {fault}: {outcome} in {took:.1f} s after {requests} request(s); then {after}", file=sys.stderr)
    assert outcome == expected
    assert after == "done", "the service recovers by itself"
