"""The HTTP surface end to end: real extraction, the rules analyzer, the in-memory log."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from compliance_sse.app import create_app, get_event_log, get_jobs
from compliance_sse.keys import STREAMS
from compliance_sse.settings import Settings
from compliance_sse.sse.models import ServerSentEvent

from .conftest import GatedExecutor, event_ids, form, iter_events, read_events
from .polling import until

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient) -> MakeClient:
    async def make(**kw: Any) -> Client:
        executor = kw.pop("extract_executor", None)
        settings = Settings(**{"heartbeat_s": 30, "max_active_jobs": 8, **kw})
        app = create_app(settings, extract_executor=executor)
        return await aiohttp_client(app, server_kwargs={"handler_cancellation": True})

    return make


def data(event: ServerSentEvent) -> Any:
    return orjson.loads(event.data)


async def test_analyze_sse_streams_the_whole_lifecycle(make_client: MakeClient, pdf: Callable[[str], bytes]) -> None:
    client = await make_client(retry_ms=2500)
    resp = await client.post("/analyze_sse", data=form(pdf("s03"), name="paper.pdf"))
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["X-Accel-Buffering"] == "no"
    assert "Content-Encoding" not in resp.headers
    job_id = resp.headers["X-Job-Id"]
    first = await resp.content.readuntil(b"\n\n")
    assert first.startswith(b"retry: ") and 2500 <= int(first[7:]) < 5000, "jittered from CSSE_RETRY_MS"
    events = await read_events(resp)

    names = [e.event for e in events]
    assert names[0] == "job" and names[-1] == "done"
    assert data(events[0]) == {
        "job_id": job_id,
        "events_url": f"/jobs/{job_id}/events",
        "report_url": f"/jobs/{job_id}/report",
    }
    ids = [int(i) for i in event_ids(events)]
    assert ids == sorted(set(ids)), "ids strictly increase"
    progress = [data(e) for e in events if e.event == "progress"]
    stages = [p["stage"] for p in progress]
    assert stages[0] == "queued"
    assert {"ingest", "extract", "analyze", "report"} <= set(stages)
    assert stages.index("ingest") < stages.index("extract") < stages.index("analyze") < stages.index("report")
    percents = [p["percent"] for p in progress]
    assert percents == sorted(percents), "percent never goes down"
    pages = [(p["page"], p["pages"]) for p in progress if p["stage"] == "extract"]
    assert pages[-1] == (4, 4)
    report = data(events[-1])
    assert report["job_id"] == job_id and report["doc_name"] == "paper.pdf"
    assert report["page_count"] == 4 and report["analyzer"] == "rules"
    assert 0 <= report["overall_risk"] <= 1
    flags = [data(e) for e in events if e.event == "flag"]
    assert [f["id"] for f in flags] == [f["id"] for f in flags if f["id"] in {g["id"] for g in report["flags"]}]


async def test_extraction_runs_on_an_executor_thread_and_the_loop_stays_free(
    make_client: MakeClient, pdf: Callable[[str], bytes], gated_executor: GatedExecutor
) -> None:
    client = await make_client(extract_executor=gated_executor, heartbeat_s=0.05)
    resp = await client.post("/analyze_sse", data=form(pdf("s03")))
    events = iter_events(resp)
    # Extraction has started on the executor and is held there by the gate.
    await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, gated_executor.entered.wait), 10)
    health = await client.get("/healthz")
    assert health.status == 200
    seen: list[ServerSentEvent] = []
    async with asyncio.timeout(10):
        async for event in events:
            seen.append(event)
            if event.event == "heartbeat":
                break
    beat = seen.pop()
    assert "done" not in [e.event for e in seen]
    assert beat.id == seen[-1].id, "a heartbeat carries no id: the last id stays the last real event's"
    assert set(data(beat)) == {"ts", "stage", "elapsed_s"}
    gated_executor.gate.set()
    async with asyncio.timeout(30):
        async for event in events:
            if event.event == "done":
                break
    assert event.event == "done"
    assert gated_executor.thread_ids and threading.main_thread().ident not in gated_executor.thread_ids


async def _full_run(client: Client, body: bytes) -> tuple[str, list[ServerSentEvent]]:
    resp = await client.post("/analyze_sse", data=form(body))
    return resp.headers["X-Job-Id"], await read_events(resp)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("via", ["header", "query"])
async def test_resume_after_a_finished_job_replays_exactly_the_rest(
    make_client: MakeClient, pdf: Callable[[str], bytes], where: str, via: str
) -> None:
    client = await make_client()
    job_id, events = await _full_run(client, pdf("s03"))
    index = {"first": 0, "middle": len(events) // 2, "last": len(events) - 1}[where]
    last_id = events[index].id
    assert last_id is not None
    if via == "header":
        resp = await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": last_id})
    else:
        resp = await client.get(f"/jobs/{job_id}/events", params={"last_event_id": last_id})
    assert resp.status == (204 if where == "last" else 200)
    rest = await read_events(resp)
    assert [(e.id, e.event, e.data) for e in rest] == [(e.id, e.event, e.data) for e in events[index + 1 :]]


async def test_resume_a_live_job_then_follow_it(
    make_client: MakeClient, pdf: Callable[[str], bytes], gated_executor: GatedExecutor
) -> None:
    client = await make_client(extract_executor=gated_executor)
    resp = await client.post("/analyze_sse", data=form(pdf("s03")))
    job_id = resp.headers["X-Job-Id"]
    head = await read_events(resp, limit=2)
    assert [e.event for e in head] == ["job", "progress"]
    resp.close()  # the listener drops; the job goes on
    resumed = await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": head[-1].id or ""})
    gated_executor.gate.set()
    rest = await read_events(resumed)
    full = await read_events(await client.get(f"/jobs/{job_id}/events"))
    assert [e.id for e in head + rest] == [e.id for e in full]
    assert rest[-1].event == "done"


async def test_a_stream_ends_at_its_time_limit_and_the_job_goes_on(
    make_client: MakeClient, pdf: Callable[[str], bytes], gated_executor: GatedExecutor
) -> None:
    client = await make_client(extract_executor=gated_executor, stream_max_s=0.3)
    resp = await client.post("/analyze_sse", data=form(pdf("s03")))
    job_id = resp.headers["X-Job-Id"]
    body = await asyncio.wait_for(resp.content.read(), 30)  # ends while extraction is held
    assert b"event: job\n" in body
    assert body.endswith(b": stream time limit reached; reconnect with Last-Event-ID\n\n")
    gated_executor.gate.set()

    async def done() -> bool:
        return bool((await (await client.get(f"/jobs/{job_id}")).json())["status"] == "done")

    await until(done, limit_s=60, what="the job to finish without its stream")


async def test_two_listeners_each_get_every_event(
    make_client: MakeClient, pdf: Callable[[str], bytes], gated_executor: GatedExecutor
) -> None:
    client = await make_client(extract_executor=gated_executor)
    created = await client.post("/jobs", data=form(pdf("s03")))
    assert created.status == 202
    job_id = (await created.json())["job_id"]
    first = await client.get(f"/jobs/{job_id}/events")
    second = await client.get(f"/jobs/{job_id}/events")
    a_task = asyncio.create_task(read_events(first))
    b_task = asyncio.create_task(read_events(second))
    gated_executor.gate.set()
    a, b = await asyncio.gather(a_task, b_task)
    assert [(e.id, e.event, e.data) for e in a] == [(e.id, e.event, e.data) for e in b]
    assert a[-1].event == "done"


async def test_resuming_after_the_final_event_sends_nothing(
    make_client: MakeClient, pdf: Callable[[str], bytes]
) -> None:
    client = await make_client()
    job_id, events = await _full_run(client, pdf("s01"))
    resp = await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": events[-1].id or ""})
    assert resp.status == 204
    assert await read_events(resp) == []


async def test_post_jobs_status_list_and_reports(make_client: MakeClient, pdf: Callable[[str], bytes]) -> None:
    client = await make_client()
    ids = []
    for _ in range(3):
        resp = await client.post("/jobs", data=form(pdf("s01"), name="one.pdf"))
        body = await resp.json()
        assert resp.status == 202 and body["status"] == "queued"
        assert body["events_url"] == f"/jobs/{body['job_id']}/events"
        ids.append(body["job_id"])
        await read_events(await client.get(body["events_url"]))
    status = await (await client.get(f"/jobs/{ids[0]}")).json()
    assert status["status"] == "done" and status["percent"] == 100.0 and status["doc_name"] == "one.pdf"
    assert set(status) >= {"job_id", "status", "stage", "percent", "created", "updated", "doc_name"}
    page1 = await (await client.get("/jobs", params={"limit": "2"})).json()
    assert [j["job_id"] for j in page1["jobs"]] == ids[::-1][:2]
    page2 = await (await client.get("/jobs", params={"limit": "2", "cursor": page1["next_cursor"]})).json()
    assert [j["job_id"] for j in page2["jobs"]] == [ids[0]] and page2["next_cursor"] is None
    report = await (await client.get(f"/jobs/{ids[0]}/report")).json()
    assert report["job_id"] == ids[0]
    md = await client.get(f"/jobs/{ids[0]}/report.md")
    assert md.content_type == "text/markdown"
    assert (await md.text()).startswith("# Compliance report: one.pdf")


async def test_post_analyze_returns_the_report_or_the_error(
    make_client: MakeClient, pdf: Callable[[str], bytes]
) -> None:
    client = await make_client()
    ok = await client.post("/analyze", data=form(pdf("s01")))
    assert ok.status == 200
    assert (await ok.json())["page_count"] == 1
    locked = await client.post("/analyze", data=form(pdf("s11")))
    assert locked.status == 422
    body = await locked.json()
    assert body["code"] == "password_required" and body["request_id"] == locked.headers["X-Request-Id"]
    opened = await client.post("/analyze", data=form(pdf("s11"), password="openpassword"))
    assert opened.status == 200


async def test_document_errors_end_the_stream_with_an_error_event(
    make_client: MakeClient, pdf: Callable[[str], bytes]
) -> None:
    client = await make_client()
    resp = await client.post("/analyze_sse", data=form(pdf("s23")))
    events = await read_events(resp)
    assert events[-1].event == "error"
    assert data(events[-1]) == {
        "error": data(events[-1])["error"],
        "code": "invalid_pdf",
        "stage": "extract",
        "retryable": False,
    }
    status = await (await client.get(f"/jobs/{resp.headers['X-Job-Id']}")).json()
    assert status["status"] == "failed"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (None, 400, "missing_file"),
        (b"hello, not a pdf at all", 415, "not_a_pdf"),
        (b"x" * 2000 + b"%PDF-1.4\n", 415, "not_a_pdf"),
        (b"%PDF-" + b"0" * (3 * 1024 * 1024), 413, "upload_too_large"),
    ],
    ids=["no-file", "text", "header-too-late", "too-large"],
)
async def test_bad_uploads_get_their_codes(make_client: MakeClient, body: bytes | None, status: int, code: str) -> None:
    client = await make_client(max_upload_mb=2)
    payload: Any = form(body) if body is not None else {"other": "field"}
    for path in ("/analyze_sse", "/analyze", "/jobs"):
        resp = await client.post(path, data=payload if body is None else form(body))
        assert resp.status == status, path
        got = await resp.json()
        assert got == {"detail": got["detail"], "code": code, "request_id": resp.headers["X-Request-Id"]}
        assert "Traceback" not in got["detail"]
    assert get_jobs(client.app).active == 0


async def test_an_oversized_upload_is_refused_while_streaming(make_client: MakeClient) -> None:
    """No Content-Length: the cap is enforced on the bytes as they arrive."""
    client = await make_client(max_upload_mb=1)
    sent = 0

    async def body() -> Any:
        nonlocal sent
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n\r\n%PDF-1.7\n'
        for _ in range(64):
            sent += 64 * 1024
            yield b"0" * (64 * 1024)
        yield b"\r\n--b--\r\n"

    resp = await client.post(
        "/analyze_sse", data=body(), headers={"Content-Type": "multipart/form-data; boundary=b"}, chunked=True
    )
    assert resp.status == 413
    assert (await resp.json())["code"] == "upload_too_large"


async def test_leading_junk_before_the_header_is_accepted(make_client: MakeClient, pdf: Callable[[str], bytes]) -> None:
    client = await make_client()
    resp = await client.post("/analyze", data=form(pdf("s20")))
    assert resp.status == 200


async def test_unknown_jobs_and_bad_ids(make_client: MakeClient, pdf: Callable[[str], bytes]) -> None:
    client = await make_client()
    for path in ("/jobs/nope", "/jobs/nope/events", "/jobs/nope/report", "/jobs/nope/report.md", "/nowhere"):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert (await resp.json())["code"] == "not_found"
    job_id, _ = await _full_run(client, pdf("s01"))
    bad = await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": "not-an-id"})
    assert bad.status == 400
    assert (await bad.json())["code"] == "invalid_last_event_id"
    wrong_method = await client.delete("/healthz")
    assert wrong_method.status == 405 and (await wrong_method.json())["code"] == "method_not_allowed"


async def test_jobs_over_max_active_queue_and_503_only_when_the_queue_is_full(
    make_client: MakeClient, pdf: Callable[[str], bytes], gated_executor: GatedExecutor
) -> None:
    client = await make_client(extract_executor=gated_executor, max_active_jobs=1, max_queued_jobs=2)
    first = await client.post("/jobs", data=form(pdf("s01")))
    assert first.status == 202
    second = await client.post("/jobs", data=form(pdf("s01")))
    assert second.status == 202, "a job over max_active waits in the queue"
    jobs = get_jobs(client.app)
    await until(lambda: jobs.active == 1 and jobs.queued == 1)
    third = await client.post("/jobs", data=form(pdf("s01")))
    assert third.status == 503
    assert third.headers["Retry-After"].isdigit()
    assert (await third.json())["code"] == "overloaded"
    queued_id = (await second.json())["job_id"]
    assert (await (await client.get(f"/jobs/{queued_id}")).json())["status"] == "queued"
    gated_executor.gate.set()
    for resp in (first, second):
        events = await read_events(await client.get((await resp.json())["events_url"]))
        assert events[-1].event == "done"
    await until(lambda: jobs.active == 0 and jobs.queued == 0)
    fourth = await client.post("/jobs", data=form(pdf("s01")))
    assert fourth.status == 202


async def test_a_queued_job_ends_with_interrupted_on_shutdown(
    make_client: MakeClient, pdf: Callable[[str], bytes], gated_executor: GatedExecutor
) -> None:
    client = await make_client(extract_executor=gated_executor, max_active_jobs=1)
    await client.post("/jobs", data=form(pdf("s01")))
    queued = await (await client.post("/jobs", data=form(pdf("s01")))).json()
    jobs = get_jobs(client.app)
    await until(lambda: jobs.queued == 1)
    await jobs.close(grace_s=0)
    record = await get_event_log(client.app).get_job(queued["job_id"])
    assert record.status == "failed" and record.error_code == "interrupted"


async def test_request_id_is_echoed_or_made(make_client: MakeClient) -> None:
    client = await make_client()
    echoed = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith junk"})
    assert made.headers["X-Request-Id"] != "bad id\twith junk" and made.headers["X-Request-Id"]
    ready = await client.get("/readyz")
    assert ready.status == 200


async def test_expired_jobs_answer_410(make_client: MakeClient, pdf: Callable[[str], bytes]) -> None:
    client = await make_client(job_ttl_s=0.001)
    job_id, _ = await _full_run(client, pdf("s01"))
    event_log = get_event_log(client.app)
    await until(lambda: (event_log.sweep(), job_id not in event_log._jobs)[1])  # type: ignore[attr-defined]
    for suffix in ("", "/events", "/report"):
        resp = await client.get(f"/jobs/{job_id}{suffix}")
        assert resp.status == 410
        assert (await resp.json())["code"] == "job_expired"


async def test_a_dropped_listener_leaves_no_task_behind_and_the_job_goes_on(
    make_client: MakeClient, pdf: Callable[[str], bytes], gated_executor: GatedExecutor
) -> None:
    client = await make_client(extract_executor=gated_executor)
    resp = await client.post("/analyze_sse", data=form(pdf("s03")))
    job_id = resp.headers["X-Job-Id"]
    await read_events(resp, limit=2)
    before = asyncio.all_tasks()
    listeners = [await client.get(f"/jobs/{job_id}/events") for _ in range(3)]
    for listener in listeners:
        await read_events(listener, limit=2)
    added = [t.get_coro().__qualname__ for t in asyncio.all_tasks() - before]  # type: ignore[union-attr]
    # aiohttp's own: a task per connection and one for the request's handler; the stream adds none.
    assert sorted(added) == ["RequestHandler._handle_request"] * 3 + ["RequestHandler.start"] * 3
    for r in (resp, *listeners):
        r.close()
    await until(lambda: not client.app[STREAMS])
    await until(
        lambda: [t.get_name() for t in asyncio.all_tasks() if t.get_name().endswith(job_id)] == [f"job-{job_id}"]
    )
    gated_executor.gate.set()
    await until(lambda: get_jobs(client.app).active == 0)
    status = await (await client.get(f"/jobs/{job_id}")).json()
    assert status["status"] == "done", "the job finished without a listener"


async def test_metrics_count_jobs_by_outcome_and_time_their_stages(
    make_client: MakeClient, pdf: Callable[[str], bytes]
) -> None:
    client = await make_client()
    await _full_run(client, pdf("s01"))
    await _full_run(client, pdf("s23"))
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    text = await resp.text()
    assert 'csse_jobs_total{code="",outcome="done"} 1.0' in text
    assert 'csse_jobs_total{code="invalid_pdf",outcome="failed"} 1.0' in text
    assert 'csse_stage_seconds_count{stage="extract"} 2.0' in text
    assert "csse_open_streams 0.0" in text
    assert "# TYPE csse_asyncio_tasks gauge" in text


async def test_a_bug_in_a_handler_is_a_500_with_nothing_leaked(
    aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise ValueError("secret-internal-detail")

    app = create_app(Settings())
    app.router.add_get("/boom", boom)
    client = await aiohttp_client(app)
    resp = await client.get("/boom", headers={"X-Request-Id": "req-42"})
    assert resp.status == 500
    assert await resp.json() == {
        "detail": "Something went wrong on our side; it has been logged.",
        "code": "internal",
        "request_id": "req-42",
    }
    assert "secret-internal-detail" in caplog.text and "req-42" in caplog.text
