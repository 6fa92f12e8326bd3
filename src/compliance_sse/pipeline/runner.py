"""Run one job: extract -> analyze (as pages arrive) -> report, appending events to the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from ..analyzers.base import AnalysisContext, Analyzer
from ..errors import ComplianceError, InternalError
from ..eventlog.base import EventLog, LeaseLost
from ..events import DoneEvent, ErrorEvent, FlagEvent, LoggedEvent, ProgressEvent
from ..metrics import Metrics
from ..tasks import stop
from .models import ExtractedPage, Finding, Job, Report, risk_level

__all__ = ["JobRunner", "PageSource"]

log = logging.getLogger(__name__)

# Share of the progress bar per stage; extraction and analysis overlap.
_INGEST_END = 5.0
_EXTRACT_SHARE = 75.0
_ANALYZE_SHARE = 15.0
_REPORT_AT = 95.0


class _Extraction(Protocol):
    page_count: int

    def __aiter__(self) -> AsyncIterator[ExtractedPage]: ...


class PageSource(Protocol):
    """What the runner needs of an extractor (see :class:`~compliance_sse.pipeline.extract.Extractor`)."""

    def open(self, data: bytes, password: str | None = None) -> contextlib.AbstractAsyncContextManager[_Extraction]: ...


class _Progress:
    """Keeps percent monotonic and estimates the time left."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._started = clock()
        self._stage = "ingest"
        self._stage_started = self._started
        self.stage_seconds: dict[str, float] = {}
        self.percent = 0.0
        self.extract_frac = 0.0
        self.analyze_frac = 0.0

    def work_percent(self) -> float:
        return _INGEST_END + _EXTRACT_SHARE * self.extract_frac + _ANALYZE_SHARE * self.analyze_frac

    @property
    def stage(self) -> str:
        return self._stage

    @stage.setter
    def stage(self, stage: str) -> None:
        """Entering a stage closes the previous one's timer."""
        if stage != self._stage:
            self.close_stage()
            self._stage = stage

    def close_stage(self) -> None:
        now = self._clock()
        self.stage_seconds[self._stage] = self.stage_seconds.get(self._stage, 0.0) + now - self._stage_started
        self._stage_started = now

    def advance(self, percent: float) -> float:
        self.percent = round(max(self.percent, min(percent, 100.0)), 1)
        return self.percent

    def eta_s(self) -> float | None:
        done = (self.percent - _INGEST_END) / (100.0 - _INGEST_END)
        elapsed = self._clock() - self._started
        if done < 0.02 or elapsed < 0.05:
            return None
        return round(max(0.0, elapsed * (1 - done) / done), 1)


def _interrupted() -> InternalError:
    return InternalError(
        "The service stopped before the job finished; submit it again.", code="interrupted", retryable=True
    )


class JobRunner:
    """Runs jobs against one event log, extractor and analyzer.

    ``run_blocking`` runs an analyzer's CPU work off the loop. Every failure
    ends the job with an ``error`` event; nothing escapes :meth:`run` but
    cancellation.
    """

    def __init__(
        self,
        *,
        event_log: EventLog,
        extractor: PageSource,
        analyzer: Analyzer,
        max_analyze_chars: int = 200_000,
        run_blocking: Callable[[Callable[[], Any]], Any] | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = event_log
        self._extractor = extractor
        self._analyzer = analyzer
        self._max_chars = max_analyze_chars
        self._run_blocking = run_blocking
        self._clock = clock
        self._metrics = metrics

    def _record(self, progress: _Progress, outcome: str, code: str) -> None:
        if self._metrics is None:
            return
        progress.close_stage()
        self._metrics.jobs.labels(outcome=outcome, code=code).inc()
        for stage, seconds in progress.stage_seconds.items():
            self._metrics.stage_seconds.labels(stage=stage).observe(seconds)

    async def run(self, job: Job) -> None:
        started = self._clock()
        progress = _Progress(self._clock)

        async def emit(event: LoggedEvent) -> None:
            await self._log.append_event(job.job_id, event)

        async def step(
            stage: str, message: str, percent: float, page: int | None = None, pages: int | None = None
        ) -> None:
            progress.stage = stage
            pct = progress.advance(percent)
            eta_s = progress.eta_s()
            await emit(ProgressEvent(stage=stage, message=message, percent=pct, eta_s=eta_s, page=page, pages=pages))
            await self._log.update_job(job.job_id, stage=stage, percent=pct)

        try:
            await self._log.update_job(job.job_id, status="running", stage="ingest")
            await step("ingest", f"Received {job.doc_name} ({len(job.data):,} bytes)", _INGEST_END)
            report = await self._process(job, step, emit, progress, started)
            done = DoneEvent(report=report.to_dict())
            await self._log.set_report(job.job_id, done.encode())
            await self._log.update_job(
                job.job_id, status="done", stage="report", percent=100.0, overall_risk=report.overall_risk
            )
            await emit(done)
            self._record(progress, "done", "")
            log.info(
                "job %s done in %.2f s: %d pages, risk %.2f, %d findings",
                job.job_id,
                report.duration_s,
                report.page_count,
                report.overall_risk,
                len(report.flags),
                extra={"fields": {"job_id": job.job_id, "outcome": "done", "duration_s": report.duration_s}},
            )
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self._fail(job, progress, _interrupted())
            raise
        except ComplianceError as exc:
            await self._fail(job, progress, exc)
        except LeaseLost:
            raise  # another worker has the job now and finishes it: nothing to write, nothing went wrong
        except Exception:
            log.exception("job %s failed in stage %s", job.job_id, progress.stage)
            await self._fail(job, progress, InternalError())

    async def interrupted(self, job: Job) -> None:
        """End a job that never started (the service is closing): an ``interrupted`` error event."""
        with contextlib.suppress(Exception):
            await self._fail(job, _Progress(self._clock), _interrupted())

    async def _fail(self, job: Job, progress: _Progress, exc: ComplianceError) -> None:
        stage = progress.stage
        log.info(
            "job %s failed with %s in stage %s",
            job.job_id,
            exc.code,
            stage,
            extra={"fields": {"job_id": job.job_id, "outcome": "failed", "code": exc.code, "stage": stage}},
        )
        self._record(progress, "failed", exc.code)
        await self._log.update_job(job.job_id, status="failed", error_code=exc.code)
        await self._log.append_event(job.job_id, ErrorEvent.of(exc, stage))

    async def _process(self, job: Job, step: Any, emit: Any, progress: _Progress, started: float) -> Report:
        pages_q: asyncio.Queue[ExtractedPage | None] = asyncio.Queue()
        pages_without_text: list[int] = []
        page_errors: dict[int, str] = {}
        state = {"chars": 0, "truncated": False, "extracting": True}

        async def on_finding(finding: Finding) -> None:
            if finding.evidence:  # every flag quotes its page; a finding without a quote is not a flag
                await emit(FlagEvent(flag=finding.to_dict()))

        async def on_progress(done: int, total: int, message: str) -> None:
            if total > 0:
                progress.analyze_frac = max(progress.analyze_frac, min(done / total, 1.0))
            if not state["extracting"]:
                await step("analyze", message, progress.work_percent())

        async def pages() -> AsyncIterator[ExtractedPage]:
            while (page := await pages_q.get()) is not None:
                yield page

        progress.stage = "extract"  # an open that fails fails in this stage
        async with self._extractor.open(job.data, job.password) as extraction:
            page_count = extraction.page_count
            await step("extract", f"Opened the PDF: {page_count} pages", _INGEST_END, page=0, pages=page_count)
            ctx = AnalysisContext(
                doc_name=job.doc_name,
                page_count=page_count,
                on_finding=on_finding,
                on_progress=on_progress,
            )
            if self._run_blocking is not None:
                ctx.run_blocking = self._run_blocking
            analysis = asyncio.create_task(self._analyzer.analyze(pages(), ctx), name=f"analyze-{job.job_id}")
            extract_started = self._clock()
            try:
                async for page in extraction:
                    if not page.text.strip():
                        pages_without_text.append(page.number)
                    if page.error:
                        page_errors[page.number] = page.error
                    if analysis.done():
                        break  # the analyzer failed; its error is raised below
                    page = self._cap(page, state)
                    pages_q.put_nowait(page)
                    progress.extract_frac = page.number / max(page_count, 1)
                    await step(
                        "extract",
                        f"Extracted page {page.number} of {page_count}",
                        progress.work_percent(),
                        page=page.number,
                        pages=page_count,
                    )
                    if state["truncated"]:
                        break
            except BaseException:
                await stop(analysis)
                raise
            finally:
                pages_q.put_nowait(None)
        state["extracting"] = False
        extract_s = self._clock() - extract_started
        if self._metrics is not None and page_count and extract_s > 0:
            self._metrics.extract_pages_per_second.observe(page_count / extract_s)
        try:
            await step("analyze", "Analysing the text", progress.work_percent())
            result = await analysis
        except BaseException:
            await stop(analysis)  # a write failed (Redis went away): the analysis must not run on unwatched
            raise
        await step("report", "Writing the report", _REPORT_AT)
        notes = list(result.notes)
        if state["truncated"]:
            notes.append(
                f"Only the first {self._max_chars:,} characters were analysed; the rest of the document was not."
            )
        if pages_without_text:
            notes.append(f"{len(pages_without_text)} of {page_count} pages had no extractable text.")
        return Report(
            job_id=job.job_id,
            doc_name=job.doc_name,
            sha256=job.sha256,
            page_count=page_count,
            analyzer=self._analyzer.name,
            model=self._analyzer.model,
            summary=result.summary,
            overall_risk=round(result.overall_risk, 3),
            risk_level=risk_level(result.overall_risk),
            flags=sorted((f for f in result.findings if f.evidence), key=lambda f: (-f.severity, f.category, f.id)),
            pages_without_text=pages_without_text,
            truncated=bool(state["truncated"]),
            duration_s=round(self._clock() - started, 3),
            notes=notes,
            page_errors=page_errors,
            extra=result.extra,
        )

    def _cap(self, page: ExtractedPage, state: dict[str, Any]) -> ExtractedPage:
        """Cut the text at ``max_analyze_chars`` over the whole document."""
        room = self._max_chars - state["chars"]
        if len(page.text) <= room:
            state["chars"] += len(page.text)
            return page
        state["truncated"] = True
        state["chars"] = self._max_chars
        return ExtractedPage(number=page.number, text=page.text[: max(room, 0)], error=page.error)
