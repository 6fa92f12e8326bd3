"""``compliance-sse analyze``: exit codes, JSON and Markdown on stdout, progress on stderr."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from compliance_sse import app as app_module
from compliance_sse.__main__ import main
from compliance_sse.analyzers.base import Analyzer
from compliance_sse.app import create_app
from compliance_sse.cli import ProgressRenderer
from compliance_sse.client import DoneEvent, ErrorEvent, FlagEvent, HeartbeatEvent, JobEvent, ProgressEvent
from compliance_sse.settings import Settings

from .conftest import ROOT, WritePdf
from .test_client import StubAnalyzer

UseRisk = Callable[[float], None]
MakeServer = Callable[..., Awaitable[TestServer]]

PROGRESS_LINE = re.compile(r"^(\w+) +\d+\.\d% {2}ETA \S+ {2}findings \d+( {2}page \d+/\d+)?$")


@pytest.fixture
def use_risk(monkeypatch: pytest.MonkeyPatch) -> UseRisk:
    """In-process runs use a :class:`StubAnalyzer` with this risk in place of the settings' analyzer."""

    def use(risk: float) -> None:
        @contextlib.asynccontextmanager
        async def open_analyzer(settings: Settings, **_: Any) -> AsyncIterator[Analyzer]:
            yield StubAnalyzer(risk=risk)

        monkeypatch.setattr(app_module, "open_analyzer", open_analyzer)

    return use


@pytest.fixture
def make_server(aiohttp_server: AiohttpServer) -> MakeServer:
    async def make(risk: float = 0.5) -> TestServer:
        settings = Settings(heartbeat_s=30, max_active_jobs=8)
        return await aiohttp_server(create_app(settings, analyzer=StubAnalyzer(risk=risk)))

    return make


# --- in-process ------------------------------------------------------------------------------------


def test_json_report_alone_on_stdout_and_plain_progress_lines_on_stderr(
    use_risk: UseRisk, write_pdf: WritePdf, capsys: pytest.CaptureFixture[str]
) -> None:
    use_risk(0.3)
    assert main(["analyze", str(write_pdf("s18", "thirty.pdf"))]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["doc_name"] == "thirty.pdf" and report["analyzer"] == "stub" and report["page_count"] == 30
    assert report["risk_level"] == "LOW" and len(report["flags"]) == 11
    assert "\r" not in err and "\x1b" not in err
    lines = err.splitlines()
    assert lines[0].startswith("job ") and lines[-1] == "done: risk LOW (0.30), 11 findings, 30 pages"
    progress = [line for line in lines[1:-1] if PROGRESS_LINE.match(line)]
    assert progress == lines[1:-1], "every other line is a progress line"
    stages = [line.split()[0] for line in progress]
    assert list(dict.fromkeys(stages)) == ["queued", "ingest", "extract", "analyze", "report"]
    # One line per stage change and per 10 % crossed: at most 5 + 10, though 30 pages send 30 events.
    assert len(progress) <= 15
    assert "findings 11" in progress[-1]


def test_markdown_report(use_risk: UseRisk, write_pdf: WritePdf, capsys: pytest.CaptureFixture[str]) -> None:
    use_risk(0.65)
    assert main(["analyze", str(write_pdf("s03", "paper.pdf")), "--format", "md"]) == 0
    out, _err = capsys.readouterr()
    assert out.startswith("# Compliance report: paper.pdf\n")
    assert "**Risk: HIGH**" in out and "## Summary" in out and "A stub summary." in out
    assert "| # | severity | category | finding | pages |" in out
    assert re.search(r"^> p\. 3: ", out, re.MULTILINE), "evidence is quoted with its page"


@pytest.mark.parametrize(("risk", "threshold", "status"), [(0.7, "0.6", 1), (0.6, "0.6", 1), (0.59, "0.6", 0)])
def test_fail_on_risk_exits_1_at_or_over_the_threshold(
    use_risk: UseRisk,
    write_pdf: WritePdf,
    capsys: pytest.CaptureFixture[str],
    risk: float,
    threshold: str,
    status: int,
) -> None:
    use_risk(risk)
    assert main(["analyze", str(write_pdf("s01")), "--fail-on-risk", threshold]) == status
    out, err = capsys.readouterr()
    assert json.loads(out)["overall_risk"] == risk, "the report is printed either way"
    assert (f"is at or over --fail-on-risk {threshold}" in err) == (status == 1)


@pytest.mark.parametrize(
    ("prefix", "extra", "code"),
    [
        ("s27", [], "not_a_pdf"),
        ("s11", [], "password_required"),
        ("s11", ["--password", "nope"], "wrong_password"),
        ("s12", [], "no_text"),
        ("s23", [], "invalid_pdf"),
    ],
)
def test_errors_exit_2_with_their_code_on_stderr_and_nothing_on_stdout(
    use_risk: UseRisk,
    write_pdf: WritePdf,
    capsys: pytest.CaptureFixture[str],
    prefix: str,
    extra: list[str],
    code: str,
) -> None:
    use_risk(0.1)
    assert main(["analyze", str(write_pdf(prefix)), *extra, "--fail-on-risk", "0.05"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1].startswith(f"error: {code}: ")
    assert "Traceback" not in err


def test_in_process_the_upload_cap_applies_as_on_the_server(
    use_risk: UseRisk, write_pdf: WritePdf, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_risk(0.1)
    path = write_pdf("s18")
    monkeypatch.setenv("CSSE_MAX_UPLOAD_MB", str(path.stat().st_size / 2 / (1024 * 1024)))
    assert main(["analyze", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[-1].startswith("error: upload_too_large: The upload is larger than ")


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(tmp_path / "nowhere.pdf")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"error: file_not_found: no such file: {tmp_path / 'nowhere.pdf'}\n"


def test_the_password_opens_an_encrypted_pdf(
    use_risk: UseRisk, write_pdf: WritePdf, capsys: pytest.CaptureFixture[str]
) -> None:
    use_risk(0.2)
    assert main(["analyze", str(write_pdf("s11")), "--password", "openpassword"]) == 0
    assert json.loads(capsys.readouterr().out)["page_count"] == 1


@pytest.mark.parametrize("value", ["1.5", "-0.1", "high"])
def test_fail_on_risk_must_be_a_number_in_0_1(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["analyze", "x.pdf", "--fail-on-risk", value])
    assert info.value.code == 2
    assert "--fail-on-risk" in capsys.readouterr().err


def test_in_process_with_the_analyzer_the_settings_select(
    write_pdf: WritePdf, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("compliance_sse.analyzers.rules", reason="the rules analyzer is not in this tree yet")
    status = main(["analyze", str(write_pdf("s03")), "--fail-on-risk", "1"])
    out, err = capsys.readouterr()
    assert status in (0, 1), err
    assert json.loads(out)["analyzer"] == "rules"


# --- through a server ----------------------------------------------------------------------------


async def test_server_mode_submits_and_follows_the_job(
    make_server: MakeServer, write_pdf: WritePdf, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await make_server(risk=0.8)
    url = str(server.make_url("/"))
    # main() runs its own event loop, so it runs on a thread while this loop serves.
    status = await asyncio.to_thread(main, ["analyze", str(write_pdf("s03")), "--server", url, "--fail-on-risk", "0.6"])
    out, err = capsys.readouterr()
    assert status == 1
    report = json.loads(out)
    assert report["analyzer"] == "stub" and report["risk_level"] == "CRITICAL"
    assert err.splitlines()[0] == f"job {report['job_id']}"
    assert "done: risk CRITICAL (0.80)" in err

    status = await asyncio.to_thread(main, ["analyze", str(write_pdf("s11")), "--server", url, "--format", "md"])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.splitlines()[-1].startswith("error: password_required: ")


async def test_server_mode_with_no_server_exits_2(write_pdf: WritePdf, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    status = await asyncio.to_thread(main, ["analyze", str(write_pdf("s01")), "--server", f"http://127.0.0.1:{port}"])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith("error: connection_refused: ")


async def test_a_real_process_keeps_the_report_on_stdout_and_progress_on_stderr(
    make_server: MakeServer, write_pdf: WritePdf
) -> None:
    server = await make_server(risk=0.4)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "compliance_sse",
        "analyze",
        str(write_pdf("s03", "memo.pdf")),
        "--server",
        str(server.make_url("/")),
        "--format",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)["doc_name"] == "memo.pdf"
    lines = err.decode().splitlines()
    assert lines[0].startswith("job ") and lines[-1].startswith("done: risk MEDIUM (0.40)")
    assert all(PROGRESS_LINE.match(line) for line in lines[1:-1])


# --- the renderer on a terminal -----------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_one_line_is_redrawn_with_stage_percent_eta_and_findings() -> None:
    term = _Terminal()
    now = [0.0]
    renderer = ProgressRenderer(term, clock=lambda: now[0])
    flag: dict[str, Any] = {"severity": 3, "title": "t", "category": "aml"}

    def tick(event: Any) -> None:
        now[0] += 1.0
        renderer.render(event)

    tick(JobEvent(id="1", job_id="abc", events_url="/e", report_url="/r"))
    tick(ProgressEvent(id="2", stage="extract", message="m", percent=41.0, eta_s=75.0, page=12, pages=30))
    tick(FlagEvent(id="3", flag=flag))
    tick(HeartbeatEvent(ts=1.0, stage="extract", elapsed_s=3.0))
    tick(DoneEvent(id="4", report={"overall_risk": 0.65, "risk_level": "HIGH", "flags": [flag], "page_count": 30}))
    text = term.getvalue()
    assert text.startswith("job abc\n\r")
    redraws = text.split("\r")[1:]
    assert redraws[0] == "extract   [##########--------------]   41.0%  ETA 1m15s  findings 0  page 12/30\x1b[K"
    assert redraws[1].startswith("extract   [##########--------------]   41.0%  ETA 1m15s  findings 1")
    assert "[########################]  100.0%" in redraws[-1]
    assert text.endswith("\x1b[K\ndone: risk HIGH (0.65), 1 findings, 30 pages\n")


def test_on_a_terminal_redraws_are_throttled_but_stage_changes_are_not() -> None:
    term = _Terminal()
    renderer = ProgressRenderer(term, clock=lambda: 5.0)
    for pct in (10.0, 11.0, 12.0):
        renderer.render(ProgressEvent(id=None, stage="extract", message="", percent=pct))
    renderer.render(ProgressEvent(id=None, stage="analyze", message="", percent=80.0))
    renderer.render(ErrorEvent(id="9", code="no_text", error="e", stage="analyze", retryable=False))
    text = term.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
