"""GET /openapi.json, and schemathesis against it on the real service with a key (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from compliance_sse.openapi import openapi
from compliance_sse.settings import Settings

from .redis_server import free_port

KEY = {"Authorization": "Bearer schema-key-0123456789"}


def test_the_document_describes_every_route_errors_security_and_events() -> None:
    doc = openapi(Settings(api_keys={"k": "t"}))
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) >= {"/analyze_sse", "/analyze", "/jobs", "/jobs/{job_id}", "/jobs/{job_id}/events"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert doc["security"] == [{"bearer": []}, {"apiKey": []}]
    stream = doc["paths"]["/jobs/{job_id}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    assert set(stream["x-events"]) == {"job", "progress", "flag", "heartbeat", "done", "error"}
    assert doc["components"]["schemas"]["Error"]["required"] == ["detail", "code", "request_id"]


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "CSSE_PORT": str(port), "CSSE_API_KEYS": "schema-key-0123456789:t", "CSSE_HEARTBEAT_S": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "compliance_sse", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the service exited at start-up"
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)  # polling a process we do not control
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.stderr.close()
        assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]


@pytest.fixture(scope="module")
def api_schema(service: str) -> Any:
    return schemathesis.openapi.from_url(service + "/openapi.json", headers=KEY)


def test_the_service_answers_as_its_schema_says(api_schema: Any) -> None:
    """Every operation, a few generated cases each: no 5xx, no status, type or body the schema does not allow."""
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    statuses: set[int] = set()
    operations = 0
    for result in api_schema.get_all_operations():
        operations += 1
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            statuses.add(case.call_and_validate(headers=KEY, timeout=10, checks=checks).status_code)

        check()
    assert operations >= 11 and {200, 404} <= statuses, (operations, statuses)
