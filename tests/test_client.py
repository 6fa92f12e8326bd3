"""The Python client against a real server, a cutting proxy, and tiny misbehaving servers."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from compliance_sse.analyzers.base import AnalysisContext, Analyzer
from compliance_sse.app import create_app
from compliance_sse.client import (
    ClientError,
    ComplianceClient,
    DoneEvent,
    ErrorEvent,
    Event,
    FlagEvent,
    HeartbeatEvent,
    HTTPStatusError,
    JobEvent,
    JobFailed,
    ProgressEvent,
    ProtocolError,
    ReconnectFailed,
    UnknownEvent,
    analyze_file,
    event_from_sse,
)
from compliance_sse.pipeline.models import AnalysisResult, Evidence, ExtractedPage, Finding
from compliance_sse.settings import Settings
from compliance_sse.sse.models import ServerSentEvent

from .conftest import WritePdf, read_events
from .proxy import CuttingProxy, cut_position


class StubAnalyzer(Analyzer):
    """Deterministic findings: one on page 1 and every ``every``-th page; ``risk`` as given.

    With ``ticks``, page n is analysed only after the n-th release: the test paces the job.
    """

    name = "stub"

    def __init__(self, *, risk: float = 0.5, every: int = 3, ticks: asyncio.Semaphore | None = None) -> None:
        self.risk = risk
        self.every = every
        self.ticks = ticks

    async def analyze(self, pages: AsyncIterator[ExtractedPage], ctx: AnalysisContext) -> AnalysisResult:
        findings = []
        async for page in pages:
            if self.ticks is not None:
                await self.ticks.acquire()
            if page.number % self.every == 0 or page.number == 1:
                quote = " ".join(page.text.split()[:4])
                finding = Finding(
                    id=f"stub.page-{page.number}",
                    category="aml",
                    title=f"Marker on page {page.number}",
                    severity=1 + page.number % 5,
                    why_it_matters="A test finding.",
                    recommendation="Nothing to do.",
                    evidence=[Evidence(page=page.number, quote=quote)] if quote else [],
                    rule_id="stub.page",
                    source="stub",
                )
                findings.append(finding)
                await ctx.on_finding(finding)
            await ctx.on_progress(page.number, ctx.page_count, f"Analysed page {page.number}")
        return AnalysisResult(findings=findings, overall_risk=self.risk, summary="A stub summary.")


class Recorder:
    """An injectable ``sleep`` that records the delays asked for and only yields to the loop."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


class Top:
    """An ``rng`` whose full jitter always picks the top of the range."""

    def uniform(self, a: float, b: float) -> float:
        return b


MakeServer = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def make_server(aiohttp_server: AiohttpServer) -> MakeServer:
    async def make(analyzer: Analyzer | None = None, **kw: Any) -> TestServer:
        settings = Settings(**{"heartbeat_s": 30, "max_active_jobs": 8, **kw})
        app = create_app(settings, analyzer=analyzer or StubAnalyzer())
        return await aiohttp_server(app)

    return make


async def clean_read(server: TestServer, job_id: str) -> list[Event]:
    """The job's events read straight from the server in one go, without heartbeats."""
    async with aiohttp.ClientSession() as session, session.get(server.make_url(f"/jobs/{job_id}/events")) as resp:
        events = await read_events(resp)
    return [event_from_sse(e) for e in events if e.event != "heartbeat"]


def frame(id: str | None, event: str, data: object) -> bytes:
    lines = [f"id: {id}"] if id is not None else []
    lines += [f"event: {event}", f"data: {orjson.dumps(data).decode()}"]
    return ("\n".join(lines) + "\n\n").encode()


JOB = {"job_id": "j1", "events_url": "/jobs/j1/events", "report_url": "/jobs/j1/report"}
REPORT = {"job_id": "j1", "doc_name": "x.pdf", "overall_risk": 0.3, "risk_level": "LOW", "flags": []}


async def stream(request: web.Request, *frames: bytes) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
    await resp.prepare(request)
    for data in frames:
        await resp.write(data)
    return resp


async def fake_server(aiohttp_server: AiohttpServer, **routes: Callable[[web.Request], Awaitable[Any]]) -> TestServer:
    app = web.Application()
    if "events" in routes:
        app.router.add_get("/jobs/{job_id}/events", routes["events"])
    if "status" in routes:
        app.router.add_get("/jobs/{job_id}", routes["status"])
    if "submit" in routes:
        app.router.add_post("/jobs", routes["submit"])
    return await aiohttp_server(app)


# --- against the real service ------------------------------------------------------------------


async def test_analyze_yields_every_event_once_and_ends_with_done(make_server: MakeServer, write_pdf: WritePdf) -> None:
    server = await make_server()
    async with ComplianceClient(str(server.make_url("/"))) as client:
        got = [e async for e in client.analyze(write_pdf("s03", "paper.pdf"))]
    assert isinstance(got[0], JobEvent) and isinstance(got[-1], DoneEvent)
    assert got == await clean_read(server, got[0].job_id)
    progress = [e for e in got if isinstance(e, ProgressEvent)]
    assert progress[0].stage == "queued" and {"extract", "report"} <= {p.stage for p in progress}
    assert [p.percent for p in progress] == sorted(p.percent for p in progress)
    flags = [e for e in got if isinstance(e, FlagEvent)]
    assert flags and all(f.category == "aml" for f in flags)
    done = got[-1]
    assert done.report["doc_name"] == "paper.pdf" and done.risk_level == "MEDIUM" and done.overall_risk == 0.5


@pytest.mark.parametrize("seed", [7, 2024])
async def test_many_random_cuts_in_one_job_lose_and_repeat_nothing(
    make_server: MakeServer, write_pdf: WritePdf, seed: int
) -> None:
    # Page n of 30 is analysed (a flag and a progress event) only after the proxy's 2n-th cut, so at
    # least 60 cuts land while the job is live; heartbeats every 2 ms keep bytes flowing in between.
    ticks = asyncio.Semaphore(0)
    server = await make_server(StubAnalyzer(risk=0.65, every=1, ticks=ticks), heartbeat_s=0.002, retry_ms=5)
    sleep = Recorder()
    assert server.port is not None
    proxy = CuttingProxy(
        server.port, seed=seed, max_cuts=100, byte_range=(1, 900), newline_range=(1, 30), read_range=(1, 6)
    )
    received: list[Event] = []

    async def pace() -> None:
        for n in range(1, 31):
            await proxy.wait_cuts(2 * n)
            ticks.release()

    async with (
        proxy,
        ComplianceClient(proxy.url, heartbeat_s=2, max_attempts=100, sleep=sleep, rng=random.Random(seed)) as client,
    ):
        pacer = asyncio.create_task(pace())
        async with asyncio.timeout(60):
            async for event in client.analyze(write_pdf("s18", "thirty-pages.pdf")):
                received.append(event)
        assert pacer.done()

    assert isinstance(received[0], JobEvent) and isinstance(received[-1], DoneEvent)
    assert received == await clean_read(server, received[0].job_id)
    ids = [e.id for e in received if not isinstance(e, HeartbeatEvent)]
    assert len(ids) == len(set(ids))
    assert len([e for e in received if isinstance(e, FlagEvent)]) == 30
    stream_cuts = [cut for cut in proxy.cuts if cut.on_event_stream]
    assert len(stream_cuts) >= 55
    positions = Counter(cut.position for cut in stream_cuts)
    assert {"mid_line", "mid_event", "between_events"} <= set(positions), positions
    # Each stream cut after its headers is reopened after a delay; aiohttp itself resends a GET
    # once, at once, when the server hangs up before answering (RFC 9112 section 9.3.1).
    assert len(sleep.delays) >= sum(cut.position != "headers" for cut in stream_cuts)


async def test_events_resumes_an_existing_job_and_ends_after_the_final_event(
    make_server: MakeServer, write_pdf: WritePdf
) -> None:
    server = await make_server()
    async with ComplianceClient(str(server.make_url("/"))) as client:
        full = [e async for e in client.analyze(write_pdf("s03"))]
        job_id = full[0].job_id  # type: ignore[union-attr]
        middle = full[len(full) // 2]
        rest = [e async for e in client.events(job_id, last_event_id=middle.id)]  # type: ignore[union-attr]
        assert rest == full[len(full) // 2 + 1 :]
        assert [e async for e in client.events(job_id)] == full
        final_id = full[-1].id  # type: ignore[union-attr]
        assert [e async for e in client.events(job_id, last_event_id=final_id)] == []
        report = await client.report(job_id)
        assert report == dict(full[-1].report)  # type: ignore[union-attr]
        assert (await client.report_markdown(job_id)).startswith("# Compliance report: doc.pdf")


async def test_an_unknown_job_is_an_error_without_retries(make_server: MakeServer) -> None:
    server = await make_server()
    sleep = Recorder()
    async with ComplianceClient(str(server.make_url("/")), sleep=sleep) as client:
        with pytest.raises(HTTPStatusError) as info:
            _ = [e async for e in client.events("no-such-job")]
        assert info.value.code == "not_found" and info.value.status == 404
        with pytest.raises(HTTPStatusError) as info:
            await client.report("no-such-job")
        assert info.value.code == "not_found"
    assert sleep.delays == []


async def test_a_job_error_is_the_last_event(make_server: MakeServer, write_pdf: WritePdf) -> None:
    server = await make_server()
    async with ComplianceClient(str(server.make_url("/"))) as client:
        got = [e async for e in client.analyze(write_pdf("s11"))]
        assert isinstance(got[-1], ErrorEvent) and got[-1].code == "password_required"
        ok = [e async for e in client.analyze(write_pdf("s11"), password="openpassword")]
        assert isinstance(ok[-1], DoneEvent)


async def test_sync_wrapper_returns_the_report_or_raises_job_failed(
    make_server: MakeServer, write_pdf: WritePdf
) -> None:
    server = await make_server()
    base = str(server.make_url("/"))
    seen: list[Event] = []
    # analyze_file runs its own event loop, so it runs on another thread while this loop serves.
    report = await asyncio.to_thread(analyze_file, write_pdf("s01", "one.pdf"), base, on_event=seen.append)
    assert report["doc_name"] == "one.pdf" and report["analyzer"] == "stub"
    assert isinstance(seen[0], JobEvent) and isinstance(seen[-1], DoneEvent)
    with pytest.raises(JobFailed) as info:
        await asyncio.to_thread(analyze_file, write_pdf("s11"), base)
    assert info.value.code == "password_required" and isinstance(info.value, ClientError)


# --- against servers that misbehave on purpose ---------------------------------------------------


async def test_a_stalled_stream_is_reopened_with_the_last_event_id(aiohttp_server: AiohttpServer) -> None:
    asked: list[str | None] = []
    never = asyncio.Event()

    async def events(request: web.Request) -> web.StreamResponse:
        asked.append(request.headers.get("Last-Event-ID"))
        if len(asked) == 1:
            resp = await stream(request, b"retry: 40\n\n", frame("1732550000000-0", "job", JOB))
            await never.wait()  # silent until the client gives up on us (the handler is then cancelled)
            return resp
        return await stream(request, b"retry: 40\n\n", frame("1732550000000-1", "done", REPORT))

    server = await fake_server(aiohttp_server, events=events)
    sleep = Recorder()
    async with ComplianceClient(str(server.make_url("/")), heartbeat_s=0.02, sleep=sleep, rng=Top()) as client:
        got = [e async for e in client.events("j1")]
    assert asked == [None, "1732550000000-0"]
    assert got == [JobEvent(id="1732550000000-0", **JOB), DoneEvent(id="1732550000000-1", report=REPORT)]
    assert sleep.delays == [pytest.approx(0.04)]  # the server's retry: 40 ms, first attempt


async def test_retry_after_is_honoured_on_upload_and_on_the_stream(
    aiohttp_server: AiohttpServer, write_pdf: WritePdf
) -> None:
    calls = Counter[str]()
    busy = {"detail": "busy", "code": "overloaded", "request_id": "r"}

    async def submit(request: web.Request) -> web.Response:
        calls["submit"] += 1
        await request.read()
        if calls["submit"] == 1:
            return web.json_response(busy, status=503, headers={"Retry-After": "7"})
        return web.json_response({**JOB, "status": "queued"}, status=202)

    async def events(request: web.Request) -> web.StreamResponse:
        calls["events"] += 1
        if calls["events"] == 1:
            return web.json_response(busy, status=503, headers={"Retry-After": "7"})
        return await stream(request, frame("1", "job", JOB), frame("2", "done", REPORT))

    server = await fake_server(aiohttp_server, submit=submit, events=events)
    sleep = Recorder()
    async with ComplianceClient(str(server.make_url("/")), sleep=sleep, rng=Top()) as client:
        got = [e async for e in client.analyze(write_pdf("s01"))]
    assert [type(e) for e in got] == [JobEvent, DoneEvent]
    assert sleep.delays == [7, 7]
    assert calls == {"submit": 2, "events": 2}


async def test_upload_refused_without_retry_after_is_not_repeated(
    aiohttp_server: AiohttpServer, write_pdf: WritePdf
) -> None:
    calls = 0

    async def submit(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        await request.read()
        return web.json_response({"detail": "nope", "code": "internal"}, status=500)

    server = await fake_server(aiohttp_server, submit=submit)
    async with ComplianceClient(str(server.make_url("/")), sleep=Recorder()) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.submit(write_pdf("s01"))
    assert calls == 1 and info.value.code == "internal" and info.value.status == 500


async def test_backoff_grows_with_full_jitter_up_to_a_cap_then_gives_up(aiohttp_server: AiohttpServer) -> None:
    async def events(request: web.Request) -> web.Response:
        return web.json_response({"detail": "gateway", "code": "bad_gateway"}, status=502)

    server = await fake_server(aiohttp_server, events=events)
    sleep = Recorder()
    client = ComplianceClient(
        str(server.make_url("/")), retry_s=1, max_delay_s=4, max_attempts=5, sleep=sleep, rng=Top()
    )
    async with client:
        with pytest.raises(ReconnectFailed) as info:
            _ = [e async for e in client.events("j1", last_event_id="41")]
    assert sleep.delays == [1, 2, 4, 4]
    assert info.value.code == "reconnect_failed" and info.value.attempts == 5
    assert info.value.last_event_id == "41"
    assert "502" in str(info.value.__cause__)
    jittered = Recorder()
    async with ComplianceClient(
        str(server.make_url("/")), retry_s=1, max_delay_s=4, max_attempts=4, sleep=jittered, rng=random.Random(3)
    ) as client:
        with pytest.raises(ReconnectFailed):
            _ = [e async for e in client.events("j1")]
    assert [0 <= d <= top for d, top in zip(jittered.delays, [1, 2, 4], strict=True)] == [True] * 3


async def test_a_server_that_replays_too_much_yields_nothing_twice(aiohttp_server: AiohttpServer) -> None:
    asked: list[str | None] = []
    all_frames = [frame("a-1", "job", JOB)]
    all_frames += [
        frame(f"a-{i}", "progress", {"stage": "extract", "message": "m", "percent": i * 10, "eta_s": None})
        for i in range(2, 5)
    ]
    all_frames.append(frame("a-5", "done", REPORT))

    async def events(request: web.Request) -> web.StreamResponse:
        # Ignores Last-Event-ID: always from the start, one event more each time, then hangs up.
        asked.append(request.headers.get("Last-Event-ID"))
        return await stream(request, *all_frames[: len(asked)])

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"job_id": "j1", "status": "running"})

    server = await fake_server(aiohttp_server, events=events, status=status)
    async with ComplianceClient(str(server.make_url("/")), sleep=Recorder()) as client:
        got = [e async for e in client.events("j1")]
    assert [e.id for e in got] == ["a-1", "a-2", "a-3", "a-4", "a-5"]  # type: ignore[union-attr]
    assert asked == [None, "a-1", "a-2", "a-3", "a-4"]


async def test_heartbeats_never_move_the_position(aiohttp_server: AiohttpServer) -> None:
    asked: list[str | None] = []
    beat = frame(None, "heartbeat", {"ts": 1.5, "stage": "extract", "elapsed_s": 2.0})

    async def events(request: web.Request) -> web.StreamResponse:
        asked.append(request.headers.get("Last-Event-ID"))
        if len(asked) == 1:
            return await stream(request, frame("1", "job", JOB), beat)  # then the connection ends
        return await stream(request, beat, frame("2", "done", REPORT))

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"job_id": "j1", "status": "running"})

    server = await fake_server(aiohttp_server, events=events, status=status)
    async with ComplianceClient(str(server.make_url("/")), heartbeats=True, sleep=Recorder()) as client:
        got = [e async for e in client.events("j1")]
    heartbeat = HeartbeatEvent(ts=1.5, stage="extract", elapsed_s=2.0)
    assert got == [JobEvent(id="1", **JOB), heartbeat, heartbeat, DoneEvent(id="2", report=REPORT)]
    assert asked == [None, "1"]
    async with ComplianceClient(str(server.make_url("/")), sleep=Recorder()) as client:
        assert [type(e) for e in [e async for e in client.events("j1", "1")]] == [DoneEvent]


async def test_an_answer_that_is_not_an_event_stream_is_a_protocol_error(aiohttp_server: AiohttpServer) -> None:
    async def events(request: web.Request) -> web.Response:
        return web.Response(text="<html>login</html>", content_type="text/html")

    server = await fake_server(aiohttp_server, events=events)
    async with ComplianceClient(str(server.make_url("/")), sleep=Recorder()) as client:
        with pytest.raises(ProtocolError) as info:
            _ = [e async for e in client.events("j1")]
    assert info.value.code == "bad_response"


async def test_the_api_key_is_sent_as_a_bearer_token(aiohttp_server: AiohttpServer) -> None:
    auth: list[str | None] = []

    async def events(request: web.Request) -> web.StreamResponse:
        auth.append(request.headers.get("Authorization"))
        return await stream(request, frame("1", "done", REPORT))

    server = await fake_server(aiohttp_server, events=events)
    async with ComplianceClient(str(server.make_url("/")), "k-123") as client:
        assert len([e async for e in client.events("j1")]) == 1
    assert auth == ["Bearer k-123"]


# --- typed events and the proxy's own bookkeeping --------------------------------------------------


def test_typed_events_are_built_from_parsed_events() -> None:
    progress = ServerSentEvent(
        data='{"stage":"extract","message":"p","percent":12.5,"eta_s":null,"page":2,"pages":9,"new":1}',
        event="progress",
        id="7",
    )
    assert event_from_sse(progress) == ProgressEvent(
        id="7", stage="extract", message="p", percent=12.5, eta_s=None, page=2, pages=9
    )
    error = ServerSentEvent(data='{"error":"e","code":"no_text","stage":"extract","retryable":false}', event="error")
    assert event_from_sse(error) == ErrorEvent(id=None, code="no_text", error="e", stage="extract", retryable=False)
    assert event_from_sse(ServerSentEvent(data="x", event="later", id="8")) == UnknownEvent(
        id="8", event="later", data="x"
    )
    for bad in ('{"stage":"x"}', "[]", "not json"):
        with pytest.raises(ProtocolError):
            event_from_sse(ServerSentEvent(data=bad, event="progress", id="9"))


@pytest.mark.parametrize(
    ("forwarded", "position"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/ev", "headers"),
        (b'HTTP/1.1 200 OK\r\n\r\nretry: 5\n\nid: 1\nevent: job\ndata: {"a', "mid_line"),
        (b"HTTP/1.1 200 OK\r\n\r\nretry: 5\n\nid: 1\nevent: job\n", "mid_event"),
        (b"HTTP/1.1 200 OK\r\n\r\nretry: 5\n\nid: 1\nevent: job\ndata: {}\n\n", "between_events"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nretry: 5\n\n\r\n5\r\nid: 1", "mid_line"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nretry: 5\n\n\r\n1", "between_events"),
    ],
)
def test_cut_positions_are_classified(forwarded: bytes, position: str) -> None:
    assert cut_position(forwarded) == position
