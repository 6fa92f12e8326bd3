"""The service in LLM mode: the app's own AsyncGroq, over HTTP, to a local chat-completions server."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from pytest_aiohttp import AiohttpClient, AiohttpServer

from compliance_sse.app import create_app
from compliance_sse.settings import Settings

from .conftest import form, read_events
from .fakegroq import FakeGroq, start_fake_groq


async def test_groq_mode_reports_model_and_usage(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, pdf: Callable[[str], bytes]
) -> None:
    fake = await start_fake_groq(aiohttp_server)
    client = await aiohttp_client(
        create_app(Settings(groq_api_key="gsk_test", groq_base_url=fake.base_url, groq_model="fake-model"))
    )
    resp = await client.post("/analyze_sse", data=form(pdf("s03")))
    events = await read_events(resp)
    assert events[-1].event == "done", events[-1]
    report = orjson.loads(events[-1].data)
    assert report["analyzer"] == "groq" and report["model"] == "fake-model"
    assert report["extra"]["usage"]["total_tokens"] > 0
    assert fake.requests >= 1
    sent = orjson.dumps(fake.bodies[0]).decode()
    assert "<page n=" in sent, "the document goes to the model as delimited data"
    metrics = await (await client.get("/metrics")).text()
    assert f'csse_groq_requests_total{{model="fake-model",outcome="ok"}} {float(fake.requests)}' in metrics
    prompt = report["extra"]["usage"]["prompt_tokens"]
    assert f'csse_groq_tokens_total{{kind="prompt",model="fake-model"}} {float(prompt)}' in metrics


async def test_a_failing_model_ends_the_job_with_analyzer_unavailable(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, pdf: Callable[[str], bytes]
) -> None:
    fake = await start_fake_groq(aiohttp_server, FakeGroq(mode="auth"))
    client = await aiohttp_client(create_app(Settings(groq_api_key="gsk_bad", groq_base_url=fake.base_url)))
    resp = await client.post("/analyze_sse", data=form(pdf("s01")))
    events = await read_events(resp)
    assert events[-1].event == "error"
    error = orjson.loads(events[-1].data)
    assert error["code"] == "analyzer_unavailable" and error["retryable"] is False
    assert "gsk_bad" not in error["error"] and "401" not in error["error"]
    plain = await client.post("/analyze", data=form(pdf("s01")))
    assert plain.status == 502
    assert (await plain.json())["code"] == "analyzer_unavailable"
