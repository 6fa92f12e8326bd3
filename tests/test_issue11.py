"""Issue 11, protocol defects found from outside: resuming at the end, ids the log never issued, the client's
id-less terminal events, and the validation of ``GET /jobs``. On both brokers where the server is concerned."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from compliance_sse.__main__ import build_parser, main
from compliance_sse.app import create_app
from compliance_sse.cli import ProgressRenderer
from compliance_sse.client import ComplianceClient, DoneEvent, ErrorEvent, HeartbeatEvent, ProgressEvent
from compliance_sse.logs import setup_logging
from compliance_sse.settings import Settings

from .conftest import GatedExecutor, Pdf, WritePdf, form, read_events

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture(params=["memory", "redis"])
def make_client(request: pytest.FixtureRequest, aiohttp_client: AiohttpClient) -> MakeClient:
    broker: dict[str, Any] = {}
    if request.param == "redis":
        broker = {
            "broker": request.getfixturevalue("redis_url"),
            "redis_prefix": request.getfixturevalue("redis_prefix"),
        }

    async def make(**kw: Any) -> Client:
        executor = kw.pop("extract_executor", None)
        settings = Settings(**{"heartbeat_s": 30, "max_active_jobs": 4, **broker, **kw})
        app = create_app(settings, extract_executor=executor)
        return await aiohttp_client(app, server_kwargs={"handler_cancellation": True})

    return make


async def _finished_job(client: Client, data: bytes) -> tuple[str, list[str]]:
    resp = await client.post("/analyze_sse", data=form(data))
    assert resp.status == 200
    ids = [e.id or "" for e in await read_events(resp) if e.event != "heartbeat"]
    return resp.headers["X-Job-Id"], ids


def _later(event_id: str) -> str:
    """An id of the log's shape well after ``event_id`` (``"7"`` -> ``"996"``, ``"<ms>-0"`` -> 11 days on)."""
    if "-" in event_id:
        ms, _, _seq = event_id.partition("-")
        return f"{int(ms) + 10**9}-0"
    return str(int(event_id) + 989)


@pytest.mark.parametrize("prefix", ["s01", "s23"])  # ends with done, ends with error (invalid_pdf)
async def test_resuming_after_the_final_event_is_204(make_client: MakeClient, pdf: Pdf, prefix: str) -> None:
    """WHATWG: a 204 makes a browser's EventSource stop reconnecting."""
    client = await make_client()
    job_id, ids = await _finished_job(client, pdf(prefix))
    url = f"/jobs/{job_id}/events"
    for resp in (
        await client.get(url, headers={"Last-Event-ID": ids[-1]}),
        await client.get(url, params={"last_event_id": ids[-1]}),
    ):
        assert resp.status == 204
        assert await resp.read() == b""
        assert resp.headers["X-Job-Id"] == job_id
    before_last = await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": ids[-2]})
    assert [e.id for e in await read_events(before_last)] == ids[-1:]


async def _refused(client: Client, job_id: str, last_event_id: str) -> None:
    resp = await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": last_event_id})
    assert resp.status == 400, last_event_id
    assert (await resp.json())["code"] == "invalid_last_event_id"


async def test_an_id_past_the_last_event_is_400(make_client: MakeClient, pdf: Pdf) -> None:
    client = await make_client()
    job_id, ids = await _finished_job(client, pdf("s01"))
    await _refused(client, job_id, _later(ids[-1]))


async def test_an_id_past_the_last_event_of_a_live_job_is_400(
    make_client: MakeClient, pdf: Pdf, gated_executor: GatedExecutor
) -> None:
    client = await make_client(extract_executor=gated_executor)
    resp = await client.post("/analyze_sse", data=form(pdf("s01")))
    (first,) = await read_events(resp, limit=1)
    job_id = resp.headers["X-Job-Id"]
    await _refused(client, job_id, _later(first.id or ""))
    gated_executor.gate.set()
    assert (await read_events(resp))[-1].event == "done"


async def test_redis_refuses_ids_of_another_job_or_never_issued(
    redis_url: str, redis_prefix: str, aiohttp_client: AiohttpClient, pdf: Pdf
) -> None:
    settings = Settings(heartbeat_s=30, broker=redis_url, redis_prefix=redis_prefix)
    client = await aiohttp_client(create_app(settings))
    first, first_ids = await _finished_job(client, pdf("s01"))
    second, second_ids = await _finished_job(client, pdf("s03"))
    await _refused(client, first, second_ids[1])
    await _refused(client, second, first_ids[1])
    await _refused(client, first, "1-0")
    ms, _, seq = first_ids[1].partition("-")
    await _refused(client, first, f"{ms}-{int(seq) + 100}")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "999"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": "-1"}, "cursor"),
    ],
)
async def test_a_bad_limit_or_cursor_is_400(make_client: MakeClient, query: dict[str, str], reason: str) -> None:
    client = await make_client()
    resp = await client.get("/jobs", params=query)
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == "bad_request"
    assert reason in body["detail"]


async def test_good_limits_and_cursors_page_through_jobs(make_client: MakeClient, pdf: Pdf) -> None:
    client = await make_client()
    for _ in range(3):
        await _finished_job(client, pdf("s01"))
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await client.get("/jobs", params=params)).json()
        seen += [job["job_id"] for job in page["jobs"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert len(seen) == len(set(seen)) == 3
    assert (await client.get("/jobs", params={"limit": "200"})).status == 200


# --- the Python client -----------------------------------------------------------------------------


def _frame(event_id: str | None, event: str, data: object) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {orjson.dumps(data).decode()}\n\n".encode()


async def _no_sleep(delay: float) -> None:
    raise AssertionError(f"the client waited {delay} s to reconnect instead of ending")


async def test_the_client_never_drops_an_id_less_terminal_event(aiohttp_server: AiohttpServer) -> None:
    """The server sends ``error`` without an id when the log fails under a stream (Redis went away); the
    parser gives it the previous id, which must not make it look like a repeat."""
    progress = {"stage": "extract", "message": "m", "percent": 10, "eta_s": None}
    failure = {
        "error": "The broker is unavailable.",
        "code": "broker_unavailable",
        "stage": "extract",
        "retryable": True,
    }

    async def events(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(_frame("1", "progress", progress) + _frame(None, "error", failure))
        return resp

    app = web.Application()
    app.router.add_get("/jobs/{job_id}/events", events)
    server = await aiohttp_server(app)
    async with ComplianceClient(str(server.make_url("/")), sleep=_no_sleep) as client:
        got = [e async for e in client.events("j1")]
    assert isinstance(got[0], ProgressEvent)
    assert isinstance(got[-1], ErrorEvent) and got[-1].code == "broker_unavailable"
    assert len(got) == 2


async def test_the_client_stops_at_204(aiohttp_server: AiohttpServer) -> None:
    asked: list[str | None] = []

    async def events(request: web.Request) -> web.Response:
        asked.append(request.headers.get("Last-Event-ID"))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/jobs/{job_id}/events", events)
    server = await aiohttp_server(app)
    async with ComplianceClient(str(server.make_url("/")), sleep=_no_sleep) as client:
        assert [e async for e in client.events("j1", last_event_id="9")] == []
    assert asked == ["9"]


# --- what a new user meets ---------------------------------------------------------------------------


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CSSE_", "GROQ_"))}
    return subprocess.run(
        [sys.executable, "-m", "compliance_sse", "serve"],
        env={**clean, "CSSE_HOST": "127.0.0.1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"CSSE_PORT": "abc"}, "CSSE_PORT"),
        ({"CSSE_MAX_UPLOAD_MB": "-1"}, "CSSE_MAX_UPLOAD_MB"),
        ({"CSSE_HEARTBEAT_S": "0"}, "CSSE_HEARTBEAT_S"),
        ({"CSSE_ANALYZER": "groq", "CSSE_PORT": "0"}, "GROQ_API_KEY"),
    ],
)
def test_serve_with_a_bad_setting_prints_one_line_and_exits_2(env: dict[str, str], names: str) -> None:
    run = _serve(env)
    assert run.returncode == 2
    assert run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line.startswith("compliance-sse serve: ") and names in line


def test_serve_on_a_busy_port_prints_one_line_and_exits_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        run = _serve({"CSSE_PORT": str(busy.getsockname()[1])})
    assert run.returncode == 2
    (line,) = run.stderr.splitlines()
    assert "in use" in line and "CSSE_PORT" in line


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("server", "code", "words"),
    [
        (f"http://127.0.0.1:{_free_port()}", "connection_refused", "is the server running"),
        ("http://no-such-host.invalid:8000", "unknown_host", "cannot be resolved"),
        ("127.0.0.1:8000", "bad_server_url", "http://"),
    ],
)
def test_the_cli_tells_connection_failures_apart(
    write_pdf: WritePdf, capsys: pytest.CaptureFixture[str], server: str, code: str, words: str
) -> None:
    assert main(["analyze", str(write_pdf("s01")), "--server", server]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"error: {code}: ") and words in line


def test_the_cli_tells_about_password(write_pdf: WritePdf, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(write_pdf("s11"))]) == 2
    assert "--password" in capsys.readouterr().err.splitlines()[-1]


async def test_the_cli_says_it_waits_while_the_server_answers_503(
    aiohttp_server: AiohttpServer, write_pdf: WritePdf
) -> None:
    posts = 0

    async def submit(request: web.Request) -> web.Response:
        nonlocal posts
        posts += 1
        await request.read()
        if posts == 1:
            body = {"detail": "busy", "code": "overloaded", "request_id": "r"}
            return web.json_response(body, status=503, headers={"Retry-After": "7"})
        urls = {"events_url": "/jobs/j1/events", "report_url": "/jobs/j1/report"}
        return web.json_response({"job_id": "j1", "status": "queued", **urls}, status=202)

    async def events(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(_frame("1", "done", {"overall_risk": 0.0, "risk_level": "MINIMAL", "flags": []}))
        return resp

    app = web.Application()
    app.router.add_post("/jobs", submit)
    app.router.add_get("/jobs/{job_id}/events", events)
    server = await aiohttp_server(app)
    term = io.StringIO()
    renderer = ProgressRenderer(term, tty=False)
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    client = ComplianceClient(str(server.make_url("/")), on_wait=renderer.waiting, sleep=sleep)
    async with client:
        got = [e async for e in client.analyze(write_pdf("s01"))]
    assert isinstance(got[-1], DoneEvent) and slept == [7.0]
    assert term.getvalue() == "waiting 7s before trying again: the server is busy (overloaded)\n"


def test_a_slow_page_shows_that_work_goes_on() -> None:
    plain = io.StringIO()
    renderer = ProgressRenderer(plain, tty=False)
    renderer.render(ProgressEvent(id="2", stage="extract", message="m", percent=20.0, eta_s=None, page=1, pages=1))
    renderer.render(HeartbeatEvent(ts=1.0, stage="extract", elapsed_s=75.0))
    assert plain.getvalue().splitlines()[-1] == "extract: still working, 1m15s since the upload"


async def test_one_access_line_per_request_and_one_line_per_finished_job(
    make_client: MakeClient, pdf: Pdf, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client()
    with caplog.at_level(logging.INFO):
        await _finished_job(client, pdf("s01"))
        await client.get("/jobs", params={"limit": "0"}, headers={"X-Request-Id": "rid-1"})
    access = [r for r in caplog.records if r.name == "compliance_sse.access"]
    assert [(r.fields["method"], r.fields["path"], r.fields["status"]) for r in access] == [  # type: ignore[attr-defined]
        ("POST", "/analyze_sse", 200),
        ("GET", "/jobs", 400),
    ]
    assert access[-1].getMessage().startswith("GET /jobs 400 ") and access[-1].getMessage().endswith(" rid-1")
    jobs = [r for r in caplog.records if getattr(r, "fields", {}).get("outcome") == "done"]
    assert len(jobs) == 1 and jobs[0].getMessage().startswith("job ")


def test_json_log_lines_carry_the_fields() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging("json")
    handler = root.handlers[0]
    try:
        record = logging.LogRecord("compliance_sse.access", logging.INFO, __file__, 1, "GET / 200", (), None)
        record.fields = {"status": 200, "request_id": "r"}
        line = orjson.loads(handler.format(record))
        assert line["message"] == "GET / 200" and line["status"] == 200 and line["request_id"] == "r"
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    args = build_parser().parse_args(["serve", "--log-format", "json"])
    assert args.log_format == "json"
