"""JobRunner with a scripted page source and analyzer: every way a job can end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import pytest

from compliance_sse.analyzers.base import AnalysisContext, Analyzer
from compliance_sse.errors import AnalyzerUnavailable, ExtractTimeout, NoText
from compliance_sse.eventlog.base import JobRecord, LeaseLost, LogEvent
from compliance_sse.eventlog.memory import InMemoryEventLog
from compliance_sse.metrics import Metrics
from compliance_sse.pipeline.models import AnalysisResult, Evidence, ExtractedPage, Finding, Job
from compliance_sse.pipeline.runner import JobRunner


class _Extraction:
    def __init__(self, pages: Sequence[ExtractedPage], fail: BaseException | None, gate: asyncio.Event | None) -> None:
        self.page_count = len(pages)
        self._pages, self._fail, self._gate = pages, fail, gate

    async def __aiter__(self) -> AsyncIterator[ExtractedPage]:
        for page in self._pages:
            yield page
            if self._gate is not None:
                await self._gate.wait()
        if self._fail is not None:
            raise self._fail


class ScriptedPages:
    """A page source (fake: unit tests only) yielding given pages, then raising ``fail``."""

    def __init__(self, *texts: str, fail: BaseException | None = None, gate: asyncio.Event | None = None) -> None:
        self.pages = [ExtractedPage(i, t) for i, t in enumerate(texts, 1)]
        self.fail, self.gate = fail, gate

    @contextlib.asynccontextmanager
    async def open(self, data: bytes, password: str | None = None) -> AsyncIterator[_Extraction]:
        yield _Extraction(self.pages, self.fail, self.gate)


class FlagEveryPage(Analyzer):
    name = "test"

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.seen: list[str] = []

    async def analyze(self, pages: AsyncIterator[ExtractedPage], ctx: AnalysisContext) -> AnalysisResult:
        findings = []
        async for page in pages:
            self.seen.append(page.text)
            if self.fail is not None:
                raise self.fail
            finding = Finding(
                id=f"f{page.number}",
                category="other",
                title="t",
                severity=3,
                why_it_matters="w",
                recommendation="r",
                evidence=[Evidence(page.number, page.text)],
            )
            findings.append(finding)
            await ctx.on_finding(finding)
            await ctx.on_progress(page.number, ctx.page_count, "analysed")
        return AnalysisResult(findings=findings, overall_risk=0.5, summary="s")


async def _run(pages: ScriptedPages, analyzer: Analyzer, **kw: Any) -> tuple[list[LogEvent], Metrics]:
    log = InMemoryEventLog()
    metrics = Metrics()
    await log.create_job(JobRecord(job_id="j", tenant="t", doc_name="d.pdf"))
    runner = JobRunner(event_log=log, extractor=pages, analyzer=analyzer, metrics=metrics, **kw)
    await runner.run(Job(job_id="j", data=b"%PDF-", doc_name="d.pdf", sha256="0"))
    return [e async for e in log.read("j")], metrics


def _data(event: LogEvent) -> dict[str, Any]:
    return dict(orjson.loads(event.data))


async def test_a_clean_run_reports_and_times_its_stages() -> None:
    events, metrics = await _run(ScriptedPages("one", "", "three"), FlagEveryPage())
    report = _data(events[-1])
    assert events[-1].event == "done"
    assert report["pages_without_text"] == [2] and report["analyzer"] == "test"
    assert [f["id"] for f in report["flags"]] == ["f1", "f2", "f3"]
    assert "1 of 3 pages had no extractable text." in report["notes"]
    assert metrics.value("csse_jobs_total", outcome="done", code="") == 1
    assert metrics.value("csse_stage_seconds_count", stage="extract") == 1
    assert metrics.value("csse_extract_pages_per_second_count") == 1


async def test_text_past_the_cap_is_not_analysed_and_the_report_says_so() -> None:
    analyzer = FlagEveryPage()
    events, _ = await _run(ScriptedPages("a" * 6, "b" * 6, "c" * 6), analyzer, max_analyze_chars=8)
    report = _data(events[-1])
    assert analyzer.seen == ["a" * 6, "bb"]
    assert report["truncated"] is True
    assert any("first 8 characters" in note for note in report["notes"])


async def test_no_text_anywhere_is_no_text() -> None:
    # The page source decides (Extraction raises NoText after the last page); the runner reports it.
    events, metrics = await _run(ScriptedPages(" ", "\n", fail=NoText()), FlagEveryPage())
    assert events[-1].event == "error"
    assert _data(events[-1])["code"] == "no_text"
    assert metrics.value("csse_jobs_total", outcome="failed", code="no_text") == 1


async def test_the_runner_leaves_the_no_text_decision_to_the_extraction() -> None:
    """Issue 11: "no text" is decided once, in the extraction; blank pages alone end in a report here."""
    events, _ = await _run(ScriptedPages(" ", "\n"), FlagEveryPage())
    assert events[-1].event == "done"
    assert _data(events[-1])["pages_without_text"] == [1, 2]


async def test_an_extraction_error_mid_document_ends_the_job_in_its_stage() -> None:
    events, _ = await _run(ScriptedPages("one", fail=ExtractTimeout()), FlagEveryPage())
    assert _data(events[-1]) == {
        "error": ExtractTimeout.default_detail,
        "code": "extract_timeout",
        "stage": "extract",
        "retryable": False,
    }


async def test_an_analyzer_failure_is_reported_with_its_code() -> None:
    failure = AnalyzerUnavailable("The model is rate limited; retry later.", retryable=True)
    events, _ = await _run(ScriptedPages("one", "two"), FlagEveryPage(fail=failure))
    error = _data(events[-1])
    assert (error["code"], error["retryable"]) == ("analyzer_unavailable", True)


async def test_a_bug_is_internal_and_its_text_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    events, _ = await _run(ScriptedPages("one"), FlagEveryPage(fail=KeyError("secret-internal-detail")))
    error = _data(events[-1])
    assert error["code"] == "internal"
    assert "secret-internal-detail" not in events[-1].data.decode()
    assert "job j failed" in caplog.text


async def test_a_cancelled_job_ends_as_interrupted_and_retryable() -> None:
    gate = asyncio.Event()
    log = InMemoryEventLog()
    await log.create_job(JobRecord(job_id="j", tenant="t", doc_name="d.pdf"))
    runner = JobRunner(event_log=log, extractor=ScriptedPages("one", "two", gate=gate), analyzer=FlagEveryPage())
    task = asyncio.create_task(runner.run(Job(job_id="j", data=b"", doc_name="d.pdf", sha256="0")))
    reader = log.read("j")
    async for event in reader:
        if event.event == "flag":
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rest = [e async for e in reader]
    assert rest[-1].event == "error"
    assert _data(rest[-1])["code"] == "interrupted" and _data(rest[-1])["retryable"] is True


class _ReclaimedLog(InMemoryEventLog):
    """A worker's log whose job another worker has taken over: every write is refused."""

    async def update_job(self, job_id: str, **changes: Any) -> None:
        raise LeaseLost(f"job {job_id} was reclaimed by another worker")

    async def append(self, job_id: str, event: str, data: bytes) -> str:
        raise LeaseLost(f"job {job_id} was reclaimed by another worker")


async def test_a_job_reclaimed_by_another_worker_stops_without_a_traceback_or_an_error_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = _ReclaimedLog()
    await log.create_job(JobRecord(job_id="j", tenant="t", doc_name="d.pdf"))
    runner = JobRunner(event_log=log, extractor=ScriptedPages("one"), analyzer=FlagEveryPage())
    with pytest.raises(LeaseLost):  # the queue consumer's to handle: the other worker finishes the job
        await runner.run(Job(job_id="j", data=b"%PDF-", doc_name="d.pdf", sha256="0"))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


class _WaitForever(Analyzer):
    name = "test"

    async def analyze(self, pages: AsyncIterator[ExtractedPage], ctx: AnalysisContext) -> AnalysisResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class _FailsAtAnalysing(InMemoryEventLog):
    """A log that goes away when the job reaches the analysis stage (Redis restarting, say)."""

    async def append(self, job_id: str, event: str, data: bytes) -> str:
        if b"Analysing the text" in data:
            raise AnalyzerUnavailable("The job store went away.", retryable=True)
        return await super().append(job_id, event, data)


async def test_a_failure_after_the_extraction_cancels_the_analysis_rather_than_leaving_it_running() -> None:
    log = _FailsAtAnalysing()
    await log.create_job(JobRecord(job_id="j", tenant="t", doc_name="d.pdf"))
    runner = JobRunner(event_log=log, extractor=ScriptedPages("one"), analyzer=_WaitForever())
    with contextlib.suppress(AnalyzerUnavailable):
        await runner.run(Job(job_id="j", data=b"%PDF-", doc_name="d.pdf", sha256="0"))
    left = [t for t in asyncio.all_tasks() if t.get_name() == "analyze-j"]
    assert all(t.done() for t in left), left  # else its exception is "never retrieved", or it runs on
