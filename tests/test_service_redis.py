"""The HTTP service on the Redis broker, in process: two replicas, and Redis going away."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from compliance_sse.app import create_app, get_jobs
from compliance_sse.eventlog.redis_connection import connect
from compliance_sse.settings import Settings
from compliance_sse.sse.models import ServerSentEvent
from compliance_sse.sse.parser import EventParser
from compliance_sse.worker import run_worker

from .conftest import form, read_events
from .polling import until
from .redis_server import RedisServer, blocked_in_xread, free_port, redis_server

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


async def _ready(client: Client) -> bool:
    return (await client.get("/readyz")).status == 200


@pytest.fixture
def make_client(redis_url: str, redis_prefix: str, aiohttp_client: AiohttpClient) -> MakeClient:
    # redis_prefix first: its keys are deleted after the apps have stopped
    async def make(**kw: Any) -> Client:
        base = {"heartbeat_s": 30, "max_active_jobs": 4, "broker": redis_url, "redis_prefix": redis_prefix}
        settings = Settings(**{**base, "claim_idle_s": 5, **kw})
        return await aiohttp_client(create_app(settings), server_kwargs={"handler_cancellation": True})

    return make


async def test_a_stream_read_on_one_replica_resumes_on_another(
    make_client: MakeClient, pdf: Callable[[str], bytes]
) -> None:
    a, b = await make_client(), await make_client(server_worker=False)
    resp = await a.post("/analyze_sse", data=form(pdf("s03"), name="paper.pdf"))
    assert resp.status == 200
    job_id = resp.headers["X-Job-Id"]
    head = await read_events(resp, limit=3)
    resp.close()
    resumed = await b.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": head[-1].id or ""})
    assert resumed.status == 200
    rest = await read_events(resumed)
    full = await read_events(await b.get(f"/jobs/{job_id}/events"))
    assert [e.id for e in head + rest] == [e.id for e in full]
    assert full[-1].event == "done" and orjson.loads(full[-1].data)["page_count"] == 4
    status = await (await b.get(f"/jobs/{job_id}")).json()
    assert status["status"] == "done" and status["percent"] == 100.0
    assert (await (await b.get(f"/jobs/{job_id}/report")).json())["job_id"] == job_id
    listing = await (await b.get("/jobs")).json()
    assert job_id in [j["job_id"] for j in listing["jobs"]]


async def test_post_analyze_and_errors_through_the_queue(make_client: MakeClient, pdf: Callable[[str], bytes]) -> None:
    client = await make_client()
    ok = await client.post("/analyze", data=form(pdf("s01")))
    assert ok.status == 200 and (await ok.json())["page_count"] == 1
    locked = await client.post("/analyze", data=form(pdf("s11")))
    assert locked.status == 422 and (await locked.json())["code"] == "password_required"
    opened = await client.post("/analyze", data=form(pdf("s11"), password="openpassword"))
    assert opened.status == 200 and "cached" not in await opened.json()
    again = await client.post("/analyze", data=form(pdf("s11"), password="openpassword"))
    assert "cached" not in await again.json(), "a report behind a password is never cached"
    cached = await client.post("/analyze", data=form(pdf("s01")))
    assert (await cached.json())["cached"] is True


async def test_redis_going_away_is_503_then_an_error_event_then_ready_again(
    aiohttp_client: AiohttpClient, pdf: Callable[[str], bytes], gated_executor: Any
) -> None:
    with redis_server(persist=True) as server:
        settings = Settings(broker=server.url(), broker_grace_s=0.2, heartbeat_s=30, claim_idle_s=5)
        client = await aiohttp_client(create_app(settings, extract_executor=gated_executor))
        assert (await client.get("/readyz")).status == 200
        created = await client.post("/jobs", data=form(pdf("s01")))
        assert created.status == 202
        stream = await client.get((await created.json())["events_url"])
        parser, head = EventParser(), list[ServerSentEvent]()
        while len(head) < 2:  # keep every event parsed: the parser's last id is the last one's
            head += parser.feed(await stream.content.readany())
        assert [e.event for e in head[:2]] == ["job", "progress"]

        server.stop()
        rest = await read_events(stream, parser=parser)
        seen = head + rest
        assert seen[-1].event == "error" and seen[-1].id == seen[-2].id, "the error event carries no id"
        assert orjson.loads(rest[-1].data) == {
            "error": orjson.loads(rest[-1].data)["error"],
            "code": "broker_unavailable",
            "stage": orjson.loads(rest[-1].data)["stage"],
            "retryable": True,
        }
        ready = await client.get("/readyz")
        assert ready.status == 503 and (await ready.json())["broker"] is False
        refused = await client.post("/jobs", data=form(pdf("s01")))
        assert refused.status == 503 and refused.headers["Retry-After"].isdigit()
        assert (await refused.json())["code"] == "broker_unavailable"
        assert (await client.get("/healthz")).status == 200

        server.start()
        gated_executor.gate.set()
        await until(lambda: _ready(client), limit_s=20, what="/readyz 200")
        job_id = stream.headers["X-Job-Id"]
        resumed = await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": seen[-1].id or ""})
        tail = await read_events(resumed)
        assert tail[-1].event == "done"
        full = await read_events(await client.get(f"/jobs/{job_id}/events"))
        assert [e.id for e in seen[:-1] + tail] == [e.id for e in full]
        await until(lambda: get_jobs(client.app).active == 0, limit_s=20)


async def test_the_worker_takes_jobs_until_sigterm(
    make_client: MakeClient, pdf: Callable[[str], bytes], redis_url: str, redis_prefix: str
) -> None:
    with pytest.raises(ValueError, match="CSSE_BROKER"):
        await run_worker(Settings())
    server = await make_client(server_worker=False)  # only the worker runs jobs
    port = free_port()
    settings = Settings(
        broker=redis_url, redis_prefix=redis_prefix, max_active_jobs=2, server_worker=False, worker_port=port
    )
    worker = asyncio.create_task(run_worker(settings))
    created = await server.post("/jobs", data=form(pdf("s01")))
    events = await asyncio.wait_for(read_events(await server.get((await created.json())["events_url"])), 20)
    assert events[-1].event == "done"
    # The worker's own port: probes and metrics, nothing of the API.
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        async with session.get("/healthz") as resp:
            assert resp.status == 200 and (await resp.json())["status"] == "ok"
        async with session.get("/readyz") as resp:
            assert resp.status == 200 and (await resp.json())["broker"] is True
        async with session.get("/metrics") as resp:
            text = await resp.text()
            assert resp.status == 200 and 'csse_jobs_total{code="",outcome="done"} 1.0' in text
        async with session.post("/jobs") as resp:
            assert resp.status in (404, 405)
    os.kill(os.getpid(), signal.SIGTERM)  # the worker's handler is installed: it has run a job
    await asyncio.wait_for(worker, 20)
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM), "the worker removed its handler"


async def test_a_server_started_before_redis_waits_for_it(
    aiohttp_client: AiohttpClient, pdf: Callable[[str], bytes], tmp_path: Path
) -> None:
    server = RedisServer(tmp_path)
    client = await aiohttp_client(create_app(Settings(broker=server.url(), heartbeat_s=30)))
    ready = await client.get("/readyz")
    assert ready.status == 503 and (await ready.json())["broker"] is False
    refused = await client.post("/jobs", data=form(pdf("s01")))
    assert refused.status == 503 and refused.headers["Retry-After"] == "5"
    server.start()
    try:

        async def accepted() -> ClientResponse | None:
            created = await client.post("/jobs", data=form(pdf("s01")))
            assert created.status in (202, 503)
            return created if created.status == 202 else None

        created = await until(accepted, limit_s=20, what="202 once Redis is back")
        events = await read_events(await client.get((await created.json())["events_url"]))
        assert events[-1].event == "done"
    finally:
        server.stop()


async def test_redis_restarted_empty_ends_lost_streams_is_not_ready_until_it_can_take_jobs(
    aiohttp_client: AiohttpClient, pdf: Callable[[str], bytes], gated_executor: Any, tmp_path: Path
) -> None:
    """Issue 15: the consumer looped on NOGROUP, /readyz said ready, and a lost job's stream heard heartbeats."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        settings = Settings(broker=server.url(), broker_grace_s=30, heartbeat_s=30, claim_idle_s=5)
        client = await aiohttp_client(create_app(settings, extract_executor=gated_executor))
        created = await client.post("/jobs", data=form(pdf("s01")))
        stream = await client.get((await created.json())["events_url"])
        parser, head = EventParser(), list[ServerSentEvent]()
        while len(head) < 2:
            head += parser.feed(await stream.content.readany())
        await asyncio.to_thread(gated_executor.entered.wait, 20)  # the job is running
        redis = connect(server.url())
        await blocked_in_xread(redis)  # and its stream waits in the shared XREAD

        server.stop()
        server.args = ("--maxmemory", "1")  # empty, and refusing writes: no group can be made
        server.start()
        rest = await read_events(stream, parser=parser)
        seen = head + rest
        assert seen[-1].event == "error" and seen[-1].id == seen[-2].id, "the error event carries no id"
        body = orjson.loads(rest[-1].data)
        assert (body["code"], body["retryable"]) == ("job_lost", True)

        async def not_ready() -> ClientResponse | None:
            ready = await client.get("/readyz")
            assert ready.status in (200, 503)
            return ready if ready.status == 503 else None

        ready = await until(not_ready, limit_s=20, what="/readyz 503")
        assert (await ready.json())["broker"] is True, "Redis answers, but no job can be taken"
        refused = await client.post("/jobs", data=form(pdf("s01")))
        assert refused.status == 503

        await redis.config_set("maxmemory", 0)
        gated_executor.gate.set()
        await until(lambda: _ready(client), limit_s=20, what="/readyz 200")
        created = await client.post("/jobs", data=form(pdf("s03")))
        assert created.status == 202
        events = await asyncio.wait_for(read_events(await client.get((await created.json())["events_url"])), 30)
        assert events[-1].event == "done"
        await redis.aclose()
    finally:
        server.stop()
