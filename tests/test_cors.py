"""CORS for CSSE_CORS_ORIGINS: allow, deny and preflight (issue 12)."""

from __future__ import annotations

from collections.abc import Callable

from pytest_aiohttp import AiohttpClient

from compliance_sse.app import create_app
from compliance_sse.settings import Settings

from .conftest import form, read_events

KEYS = {"key-alpha-0123456789": "alpha"}
KEY = {"X-API-Key": "key-alpha-0123456789"}
ALLOWED = "https://app.example"


async def test_a_listed_origin_can_upload_and_read_the_exposed_headers(
    aiohttp_client: AiohttpClient, pdf: Callable[[str], bytes]
) -> None:
    client = await aiohttp_client(create_app(Settings(api_keys=KEYS, cors_origins=(ALLOWED,))))
    resp = await client.post("/jobs", data=form(pdf("s01")), headers={**KEY, "Origin": ALLOWED})
    assert resp.status == 202
    assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in resp.headers["Vary"]
    exposed = {h.strip().lower() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"x-job-id", "x-request-id", "retry-after"} <= exposed
    assert "Access-Control-Allow-Credentials" not in resp.headers
    # The event stream (followed with its token, as an EventSource does) carries them too.
    events_url = (await resp.json())["events_url"]
    stream = await client.get(events_url, headers={"Origin": ALLOWED})
    assert stream.status == 200 and stream.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert (await read_events(stream))[-1].event == "done"
    # An error answer is readable by the page too (so it can show "wrong key").
    denied = await client.get("/jobs", headers={"Origin": ALLOWED})
    assert denied.status == 401 and denied.headers["Access-Control-Allow-Origin"] == ALLOWED


async def test_a_preflight_needs_no_key_and_allows_the_stream_headers(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(Settings(api_keys=KEYS, cors_origins=(ALLOWED,))))
    for path, method in (("/jobs", "POST"), ("/jobs/abc/events", "GET"), ("/analyze_sse", "POST")):
        resp = await client.options(
            path,
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization, x-api-key, last-event-id",
            },
        )
        assert resp.status == 200, path
        assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED
        allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "x-api-key", "last-event-id"} <= allowed
        assert method in resp.headers["Access-Control-Allow-Methods"]


async def test_an_origin_not_listed_gets_no_cors_header(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(Settings(api_keys=KEYS, cors_origins=(ALLOWED,))))
    other = "https://evil.example"
    resp = await client.get("/jobs", headers={**KEY, "Origin": other})
    assert resp.status == 200
    assert not [h for h in resp.headers if h.lower().startswith("access-control-")]
    preflight = await client.options("/jobs", headers={"Origin": other, "Access-Control-Request-Method": "POST"})
    assert preflight.status == 403
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]
    assert (await preflight.json())["code"] == "forbidden"


async def test_a_wildcard_allows_any_origin_and_no_setting_allows_none(aiohttp_client: AiohttpClient) -> None:
    anyone = await aiohttp_client(create_app(Settings(cors_origins=("*",))))
    resp = await anyone.get("/jobs", headers={"Origin": "https://a.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://a.example"
    nobody = await aiohttp_client(create_app(Settings()))
    resp = await nobody.get("/jobs", headers={"Origin": "https://a.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    preflight = await nobody.options(
        "/jobs", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status == 405
