"""API keys, tenants and signed job URLs (issue 12), on both brokers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from compliance_sse.app import create_app, url_signer
from compliance_sse.auth import ApiKeys, UrlSigner, derive_url_secret
from compliance_sse.settings import Settings

from .conftest import form, read_events
from .redis_server import delete_prefix

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]

KEYS = {"key-alpha-0123456789": "alpha", "key-beta-0123456789": "beta"}
ALPHA = {"Authorization": "Bearer key-alpha-0123456789"}
BETA = {"X-API-Key": "key-beta-0123456789"}
JOB_PATHS = ("/jobs/{id}", "/jobs/{id}/events", "/jobs/{id}/report", "/jobs/{id}/report.md")


@pytest.fixture(params=["memory", "redis"])
def broker(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Settings of one broker; a Redis prefix of this test's own, deleted after the apps have stopped."""
    if request.param == "memory":
        yield {}
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"csse-test:{uuid.uuid4().hex[:12]}"
    yield {"broker": url, "redis_prefix": prefix}
    delete_prefix(url, prefix)


@pytest.fixture
def make_client(broker: dict[str, Any], aiohttp_client: AiohttpClient) -> MakeClient:
    async def make(**kw: Any) -> Client:
        settings = Settings(**{"heartbeat_s": 30, "api_keys": KEYS, **broker, **kw})
        return await aiohttp_client(create_app(settings), server_kwargs={"handler_cancellation": True})

    return make


async def _done_job(client: Client, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
    resp = await client.post("/jobs", data=form(data), headers=headers)
    assert resp.status == 202, await resp.text()
    body: dict[str, Any] = await resp.json()
    events = await read_events(await client.get(f"/jobs/{body['job_id']}/events", headers=headers))
    assert events[-1].event == "done"
    return body


async def test_no_key_and_wrong_key_are_401_on_every_protected_endpoint(
    make_client: MakeClient, pdf: Callable[[str], bytes]
) -> None:
    client = await make_client()
    job = await _done_job(client, pdf("s01"), ALPHA)
    protected = [("POST", p) for p in ("/analyze_sse", "/analyze", "/jobs")]
    protected += [("GET", "/jobs"), ("GET", "/openapi.json")]
    protected += [("GET", p.format(id=job["job_id"])) for p in JOB_PATHS]
    wrong = [{}, {"Authorization": "Bearer nope"}, {"X-API-Key": "key-alpha-012345678"}, {"Authorization": "Basic x"}]
    for method, path in protected:
        for headers in wrong:
            data = form(pdf("s01")) if method == "POST" else None
            resp = await client.request(method, path, headers=headers, data=data)
            assert resp.status == 401, (method, path, headers)
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            body = await resp.json()
            assert body["code"] == "unauthorized" and body["request_id"] == resp.headers["X-Request-Id"]
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await client.get(path)).status == 200, path


async def test_both_key_headers_work_and_jobs_belong_to_the_key_s_tenant(
    make_client: MakeClient, pdf: Callable[[str], bytes]
) -> None:
    client = await make_client()
    mine = await _done_job(client, pdf("s01"), ALPHA)
    theirs = await _done_job(client, pdf("s03"), BETA)
    for job, owner, other in ((mine, ALPHA, BETA), (theirs, BETA, ALPHA)):
        for path in JOB_PATHS:
            url = path.format(id=job["job_id"])
            assert (await client.get(url, headers=owner)).status == 200, url
            denied = await client.get(url, headers=other)
            assert denied.status == 404, url  # never 403: no existence leak
            assert (await denied.json())["code"] == "not_found"
    listed = {j["job_id"] for j in (await (await client.get("/jobs", headers=ALPHA)).json())["jobs"]}
    assert listed == {mine["job_id"]}
    listed = {j["job_id"] for j in (await (await client.get("/jobs", headers=BETA)).json())["jobs"]}
    assert listed == {theirs["job_id"]}


async def test_the_result_cache_never_crosses_tenants(make_client: MakeClient, pdf: Callable[[str], bytes]) -> None:
    client = await make_client()
    first = await client.post("/analyze", data=form(pdf("s01")), headers=ALPHA)
    assert first.status == 200 and "cached" not in await first.json()
    other = await client.post("/analyze", data=form(pdf("s01")), headers=BETA)
    assert other.status == 200 and "cached" not in await other.json(), "beta learnt what alpha uploaded"
    again = await client.post("/analyze", data=form(pdf("s01")), headers=ALPHA)
    assert (await again.json())["cached"] is True


async def test_job_urls_carry_a_token_that_opens_that_job_only(
    make_client: MakeClient, pdf: Callable[[str], bytes]
) -> None:
    client = await make_client()
    job = await _done_job(client, pdf("s01"), ALPHA)
    other = await _done_job(client, pdf("s03"), ALPHA)
    token = job["events_url"].split("?token=", 1)[1]
    assert job["report_url"].startswith(f"/jobs/{job['job_id']}/report?token=")
    # No header: what a browser EventSource does.
    events = await read_events(await client.get(job["events_url"]))
    assert events[0].event == "job" and events[-1].event == "done"
    assert (await client.get(job["report_url"])).status == 200
    assert (await client.get(f"/jobs/{job['job_id']}/report.md?token={token}")).status == 200
    # Another job, a changed token, a token on a write or on the list: refused.
    assert (await client.get(f"/jobs/{other['job_id']}/events?token={token}")).status == 401
    assert (await client.get(f"/jobs?token={token}")).status == 401
    assert (await client.post(f"/jobs?token={token}", data=form(pdf("s01")))).status == 401
    expires, tenant, signature = token.split(".")
    tampered = [
        f"{int(expires) + 3600}.{tenant}.{signature}",
        f"{expires}.YmV0YQ.{signature}",  # "beta"
        f"{expires}.{tenant}.{signature[:-2]}AA",
        f"{expires}.{tenant}",
        "",
        "x.y.z",
    ]
    for bad in tampered:
        resp = await client.get(f"/jobs/{job['job_id']}/events?token={bad}")
        assert resp.status == 401, bad


async def test_an_expired_token_is_refused(make_client: MakeClient, pdf: Callable[[str], bytes]) -> None:
    client = await make_client()
    job = await _done_job(client, pdf("s01"), ALPHA)
    settings = Settings(api_keys=KEYS)
    past = UrlSigner(derive_url_secret(KEYS), ttl_s=settings.job_ttl_s, clock=lambda: time.time() - 7200)
    assert (await client.get(past.urls(job["job_id"], "alpha")["events_url"])).status == 401
    fresh = url_signer(settings)
    assert (await client.get(fresh.urls(job["job_id"], "alpha")["events_url"])).status == 200


async def test_per_tenant_limits_on_jobs_and_streams_are_429_with_retry_after(
    make_client: MakeClient, pdf: Callable[[str], bytes]
) -> None:
    client = await make_client(tenant_max_streams=1)
    job = await _done_job(client, pdf("s01"), ALPHA)
    # A stream that stays open: a live job's events, held by alpha.
    held = await client.post("/analyze_sse", data=form(pdf("slow-1-page")), headers=ALPHA)
    assert held.status == 200
    await held.content.readuntil(b"event: job")
    refused = await client.get(f"/jobs/{job['job_id']}/events", headers=ALPHA)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert (await refused.json())["code"] == "too_many_requests"
    other = await _done_job(client, pdf("s03"), BETA)  # another tenant is not held back
    assert other["status"] == "queued"
    held.close()


async def test_per_tenant_running_jobs_limit(make_client: MakeClient, pdf: Callable[[str], bytes]) -> None:
    client = await make_client(tenant_max_jobs=1)
    first = await client.post("/jobs", data=form(pdf("slow-1-page")), headers=ALPHA)
    assert first.status == 202
    second = await client.post("/jobs", data=form(pdf("s01")), headers=ALPHA)
    assert second.status == 429 and second.headers["Retry-After"]
    assert (await client.post("/jobs", data=form(pdf("s01")), headers=BETA)).status == 202
    job_id = (await first.json())["job_id"]
    await read_events(await client.get(f"/jobs/{job_id}/events", headers=ALPHA))
    assert (await client.post("/jobs", data=form(pdf("s01")), headers=ALPHA)).status == 202


def test_keys_are_compared_as_digests_and_unknown_keys_have_no_tenant() -> None:
    keys = ApiKeys(KEYS)
    assert keys.tenant("key-alpha-0123456789") == "alpha"
    assert keys.tenant("key-alpha-012345678") is None
    assert keys.tenant("") is None
    assert not ApiKeys({})


def test_a_token_is_bound_to_job_tenant_and_time() -> None:
    now = [1_000_000.0]
    signer = UrlSigner(b"secret", ttl_s=60, clock=lambda: now[0])
    token = signer.token("job1", "alpha")
    assert signer.verify(token, "job1") == "alpha"
    assert signer.verify(token, "job2") is None
    assert UrlSigner(b"other", ttl_s=60, clock=lambda: now[0]).verify(token, "job1") is None
    now[0] += 60
    assert signer.verify(token, "job1") is None
    with pytest.raises(ValueError, match="empty"):
        UrlSigner(b"", ttl_s=1)


def test_settings_refuse_what_they_would_not_enforce() -> None:
    with pytest.raises(ValueError, match="CSSE_URL_SECRET"):
        Settings(url_secret="s")
    with pytest.raises(ValueError, match="CSSE_CORS_ORIGINS"):
        Settings(cors_origins=("example.com",))
    parsed = Settings.from_env({"CSSE_API_KEYS": "k1:alpha, k2", "CSSE_URL_SECRET": "s"})
    assert dict(parsed.api_keys) == {"k1": "alpha", "k2": "default"}
    assert derive_url_secret({"a": "t"}) == derive_url_secret({"a": "t"}) != derive_url_secret({"b": "t"})
