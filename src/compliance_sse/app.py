"""The application factory: every resource created and closed in a ``cleanup_ctx``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from .analyzers.base import Analyzer
from .auth import ApiKeys, UrlSigner, auth_middleware, derive_url_secret
from .cache import MemoryResultCache
from .cors import setup_cors
from .eventlog.base import EventLog
from .eventlog.memory import InMemoryEventLog
from .jobs import JobManager
from .keys import (
    ANALYZE_EXECUTOR,
    ANALYZER,
    EVENT_LOG,
    EXTRACTOR,
    GC_THRESHOLDS,
    HEARTBEATS,
    JOBS,
    METRICS,
    SETTINGS,
    STREAMS,
    TENANT_STREAMS,
    UPLOADS,
    URL_SIGNER,
)
from .metrics import Metrics, watch_loop_lag
from .middlewares import neutral_server_header, request_middleware
from .page import page_ctx
from .pipeline.extract import Extractor, switch_interval
from .pipeline.models import Job
from .pipeline.runner import JobRunner
from .routes import setup_routes
from .settings import ConfigError, Settings
from .sse.response import HeartbeatScheduler
from .upload import UploadSlots

__all__ = ["create_app", "get_event_log", "get_jobs", "open_analyzer", "url_signer"]

log = logging.getLogger(__name__)

_SWEEP_S = 30.0
JOB_GRACE_S = 8.0
# How long shutdown waits for one resource to close (beyond the jobs' grace) before it goes on.
_CLOSE_LIMIT_S = 10.0
"""On shutdown, how long running jobs get to finish (s): with the drain, the process exits within drain + 10 s."""


def create_app(
    settings: Settings | None = None,
    *,
    analyzer: Analyzer | None = None,
    event_log: EventLog | None = None,
    extract_executor: concurrent.futures.Executor | None = None,
    routes: Callable[[web.Application], None] = setup_routes,
) -> web.Application:
    """Build the service. ``analyzer``, ``event_log`` and ``extract_executor`` replace the defaults."""
    settings = settings or Settings()
    signer = url_signer(settings)
    middlewares: list[Middleware] = [request_middleware]
    if settings.api_keys:
        middlewares.append(auth_middleware(ApiKeys(settings.api_keys), signer))
    # A compressed body is refused (415), never inflated by the parser on the loop.
    app = web.Application(middlewares=middlewares, handler_args={"auto_decompress": False})
    app[SETTINGS] = settings
    app[URL_SIGNER] = signer
    app[STREAMS] = set()
    app[TENANT_STREAMS] = {}
    app[UPLOADS] = UploadSlots(settings.max_uploads)
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_metrics_ctx)
    app.cleanup_ctx.append(_heartbeats_ctx)
    app.cleanup_ctx.append(_event_log_ctx(event_log))
    app.cleanup_ctx.append(_extractor_ctx(extract_executor))
    app.cleanup_ctx.append(_analyzer_ctx(analyzer))
    app.cleanup_ctx.append(_jobs_ctx)
    app.cleanup_ctx.append(page_ctx)
    app.on_startup.append(_freeze_heap)  # after every cleanup_ctx has run
    app.on_cleanup.append(_restore_gc_thresholds)
    app.on_response_prepare.append(neutral_server_header)
    app.on_shutdown.append(_close_streams)
    routes(app)
    if settings.cors_origins:
        setup_cors(app, settings.cors_origins)
    return app


async def _heartbeats_ctx(app: web.Application) -> AsyncIterator[None]:
    """One heartbeat scheduler (one task) for every stream of the app."""
    app[HEARTBEATS] = scheduler = HeartbeatScheduler()
    yield
    await _close_within("the heartbeat scheduler", scheduler.close(), _CLOSE_LIMIT_S)


_GC_YOUNG_THRESHOLD = 10_000


async def _freeze_heap(app: web.Application) -> None:
    """Move everything start-up made (modules, rules tables, the analyzer) out of the collector's sight.

    A full collection walks every tracked object; with thousands of open streams the long-lived
    start-up heap made those pauses reach hundreds of milliseconds (docs/BENCHMARKS.md).

    Then collect the youngest objects every 10,000 allocations instead of 700: 10,000 streams
    connecting (60 tracked objects each) set off 7 full collections of up to 0.7-2 s on a loaded
    machine, all while streams already open were due a heartbeat; with 10,000 there were none
    (full collections come after ten of the middle generation's, which come after ten young ones).
    """
    gc.collect()
    gc.freeze()
    app[GC_THRESHOLDS] = thresholds = gc.get_threshold()
    gc.set_threshold(_GC_YOUNG_THRESHOLD, *thresholds[1:])


async def _restore_gc_thresholds(app: web.Application) -> None:
    if GC_THRESHOLDS in app:
        gc.set_threshold(*app[GC_THRESHOLDS])


async def _metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """Scrape-time gauges, and the loop-lag watcher while the app runs."""
    metrics = app[METRICS]
    metrics.read("gauge", "csse_open_streams", "Open event streams.", lambda: len(app[STREAMS]))
    metrics.read("gauge", "csse_asyncio_tasks", "Tasks alive on the event loop.", lambda: len(asyncio.all_tasks()))
    metrics.read(
        "gauge", "csse_active_jobs", "Jobs running in this process.", lambda: app[JOBS].active if JOBS in app else 0
    )
    metrics.read(
        "gauge",
        "csse_extract_stray_threads",
        "Extraction threads still in a page after their job timed out.",
        lambda: app[EXTRACTOR].stats["stray_threads"] if EXTRACTOR in app else 0,
    )
    metrics.read(
        "counter",
        "csse_heartbeats_sent",
        "Heartbeat events written to streams.",
        lambda: app[HEARTBEATS].sent if HEARTBEATS in app else 0,
    )
    watcher = asyncio.create_task(watch_loop_lag(metrics), name="csse-loop-lag")
    yield
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher


def url_signer(settings: Settings) -> UrlSigner:
    """The signer of job URL tokens: ``CSSE_URL_SECRET``, or a key derived from the API keys."""
    secret = settings.url_secret.encode() if settings.url_secret else derive_url_secret(settings.api_keys)
    return UrlSigner(secret, ttl_s=settings.job_ttl_s)


def get_event_log(app: web.Application) -> EventLog:
    if EVENT_LOG not in app:
        raise RuntimeError("the event log is not set up: build the app with create_app() and start it")
    return app[EVENT_LOG]


def get_jobs(app: web.Application) -> JobManager:
    if JOBS not in app:
        raise RuntimeError("jobs are not set up: build the app with create_app() and start it")
    return app[JOBS]


def _event_log_ctx(given: EventLog | None) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        event_log = given or _default_event_log(settings)
        app[EVENT_LOG] = event_log
        sweeper = None
        if isinstance(event_log, InMemoryEventLog):
            sweeper = asyncio.create_task(_sweep(event_log, min(_SWEEP_S, settings.job_ttl_s)))
        yield
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        await _close_within("the event log", event_log.close(), _CLOSE_LIMIT_S)

    return ctx


def _default_event_log(settings: Settings) -> EventLog:
    if settings.broker == "memory":
        return InMemoryEventLog(ttl_s=settings.job_ttl_s, max_retained_jobs=settings.max_retained_jobs)
    from .eventlog.redis import RedisEventLog  # redis-py is the 'redis' extra

    return RedisEventLog.from_url(
        settings.broker, prefix=settings.redis_prefix, ttl_s=settings.job_ttl_s, grace_s=settings.broker_grace_s
    )


async def _sweep(event_log: InMemoryEventLog, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        event_log.sweep()


def _extractor_ctx(executor: concurrent.futures.Executor | None) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        extractor = Extractor(
            isolation=settings.extract_isolation,
            workers=settings.extract_workers,
            timeout_s=settings.extract_timeout_s,
            max_pages=settings.max_pages,
            executor=executor,
        )
        # pypdf (thread mode) and the rules analysis (both modes) run in threads and hold the GIL.
        with switch_interval():
            await extractor.start()
            app[EXTRACTOR] = extractor
            analyze_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="csse-analyze")
            app[ANALYZE_EXECUTOR] = analyze_pool
            yield
            await _close_within("the extractor", extractor.close(), _CLOSE_LIMIT_S)
            analyze_pool.shutdown(wait=False, cancel_futures=True)

    return ctx


def _analyzer_ctx(given: Analyzer | None) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if given is not None:
            app[ANALYZER] = given
            yield
            await given.close()
            return
        async with open_analyzer(app[SETTINGS], metrics=app[METRICS]) as analyzer:
            app[ANALYZER] = analyzer
            yield

    return ctx


@contextlib.asynccontextmanager
async def open_analyzer(settings: Settings, *, metrics: Metrics | None = None) -> AsyncIterator[Analyzer]:
    """The analyzer the settings select (rules, or Groq with the rules beside it), closed on exit."""
    if settings.analyzer_name != "groq":
        analyzer = await asyncio.to_thread(_rules_analyzer)  # reads its data files
        try:
            yield analyzer
        finally:
            await analyzer.close()
        return
    async with _groq_client(settings) as client:
        analyzer = await asyncio.to_thread(_groq_analyzer, settings, client, metrics)
        try:
            yield analyzer
        finally:
            await analyzer.close()


def _rules_analyzer() -> Analyzer:
    from .analyzers.rules import RulesAnalyzer

    return RulesAnalyzer()


@contextlib.asynccontextmanager
async def _groq_client(settings: Settings) -> AsyncIterator[Any]:
    """One ``AsyncGroq`` per app; the SDK's own retries are off so the analyzer's are the only ones."""
    if not settings.groq_api_key:
        raise ConfigError("CSSE_ANALYZER=groq needs GROQ_API_KEY (or CSSE_ANALYZER=rules for the offline analyzer)")
    try:
        # In a thread: importing the SDK reads files (httpx pulls in rich when it is installed).
        groq = await asyncio.to_thread(importlib.import_module, "groq")
    except ImportError as exc:
        raise RuntimeError("the groq analyzer needs the 'groq' extra: pip install 'compliance-sse[groq]'") from exc
    client = groq.AsyncGroq(
        api_key=settings.groq_api_key,
        base_url=settings.groq_base_url,
        max_retries=0,
        timeout=settings.groq_timeout_s,
    )
    try:
        yield client
    finally:
        await client.close()


def _groq_analyzer(settings: Settings, client: Any, metrics: Metrics | None) -> Analyzer:
    from .analyzers.groq import GroqAnalyzer, GroqCall

    def on_call(call: GroqCall) -> None:
        if metrics is None:
            return
        metrics.groq_requests.labels(model=call.model, outcome=call.outcome).inc()
        for kind, tokens in (("prompt", call.prompt_tokens), ("completion", call.completion_tokens)):
            metrics.groq_tokens.labels(model=call.model, kind=kind).inc(tokens)
        metrics.groq_request_seconds.labels(model=call.model).observe(call.duration_s)

    return GroqAnalyzer(
        client,
        model=settings.groq_model,
        rules=_rules_analyzer(),
        concurrency=asyncio.Semaphore(settings.groq_concurrency),
        request_timeout_s=settings.groq_timeout_s,
        on_call=on_call,
    )


async def _jobs_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    loop = asyncio.get_running_loop()
    pool = app[ANALYZE_EXECUTOR]

    async def run_blocking(fn: Callable[[], Any]) -> Any:
        return await loop.run_in_executor(pool, fn)

    def make_runner(event_log: EventLog) -> JobRunner:
        return JobRunner(
            event_log=event_log,
            extractor=app[EXTRACTOR],
            analyzer=app[ANALYZER],
            max_analyze_chars=settings.max_analyze_chars,
            run_blocking=run_blocking,
            metrics=app[METRICS],
        )

    jobs = _queue_jobs(app, make_runner) if settings.broker != "memory" else None
    if jobs is None:
        analyzer = app[ANALYZER]
        jobs = JobManager(
            event_log=app[EVENT_LOG],
            runner=make_runner(app[EVENT_LOG]),
            max_active=settings.max_active_jobs,
            max_queued=settings.max_queued_jobs,
            urls=_urls(settings, app[URL_SIGNER]),
            cache=MemoryResultCache(ttl_s=settings.cache_ttl_s) if settings.cache_ttl_s else None,
            analyzer_id=(analyzer.name, analyzer.model),
            tenant_max_jobs=settings.tenant_max_jobs,
        )
    app[JOBS] = jobs
    await jobs.start()
    yield
    await _close_within("the jobs", jobs.close(grace_s=JOB_GRACE_S), JOB_GRACE_S + _CLOSE_LIMIT_S)


def _queue_jobs(app: web.Application, make_runner: Callable[[EventLog], JobRunner]) -> JobManager | None:
    """Jobs through the Redis queue, with this process consuming too unless ``CSSE_SERVER_WORKER=0``."""
    from .broker.cache import ResultCache
    from .broker.queue import JobQueue, QueueConsumer
    from .eventlog.redis import RedisEventLog

    settings, event_log, analyzer = app[SETTINGS], app[EVENT_LOG], app[ANALYZER]
    if not isinstance(event_log, RedisEventLog):
        return None  # a test gave an event log of another kind: run jobs here
    analyzer_id = (analyzer.name, analyzer.model)
    queue = JobQueue(event_log, input_ttl_s=max(settings.job_ttl_s, 3600))
    cache = ResultCache(event_log.client, prefix=event_log.prefix, ttl_s=settings.cache_ttl_s)
    consumer = None
    if settings.server_worker:

        async def run(job: Job, job_log: EventLog) -> None:
            await make_runner(job_log).run(job)

        consumer = QueueConsumer(
            queue,
            event_log,
            run,
            max_active=settings.max_active_jobs,
            claim_idle_s=settings.claim_idle_s,
            max_attempts=settings.max_attempts,
            cache=cache if settings.cache_ttl_s else None,
            analyzer_id=analyzer_id,
        )
    return JobManager(
        event_log=event_log,
        max_active=settings.max_active_jobs,
        queue=queue,
        consumer=consumer,
        cache=cache if settings.cache_ttl_s else None,
        analyzer_id=analyzer_id,
        max_queued=settings.max_queued_jobs,
        urls=_urls(settings, app[URL_SIGNER]),
        tenant_max_jobs=settings.tenant_max_jobs,
    )


def _urls(settings: Settings, signer: UrlSigner) -> Callable[[str, str], dict[str, str]] | None:
    """Signed job URLs when keys are required; the plain paths otherwise."""
    return signer.urls if settings.api_keys else None


async def _close_streams(app: web.Application) -> None:
    """On shutdown, tell every open stream to reconnect, then end it (aiohttp-sse's graceful_shutdown)."""
    if JOBS in app:
        app[JOBS].drain()
    streams = [*app[STREAMS]]
    for stream in streams:
        with contextlib.suppress(Exception):
            await stream.send_comment("server shutting down; reconnect with Last-Event-ID")
        with contextlib.suppress(Exception):
            stream.stop_streaming()


async def _close_within(what: str, closing: Awaitable[object], limit_s: float) -> None:
    """Await one resource's close, but never let shutdown wait on it for ever.

    A dependency that stops answering (a paused Redis, a wedged connection) must not hold the
    process past its drain budget: after ``limit_s`` the close is cancelled, named in one WARNING
    line, and shutdown goes on with the next resource.
    """
    task = asyncio.ensure_future(closing)
    done, _ = await asyncio.wait({task}, timeout=limit_s)
    if not done:
        log.warning("%s did not close within %.0f s; shutdown goes on without it", what, limit_s)
        task.cancel()
        return
    task.result()
