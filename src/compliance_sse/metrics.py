"""The service's Prometheus metrics, with prometheus-client.

Each app owns a ``CollectorRegistry`` (never the library's process-global one), so two apps in
one test process never share counts. Every family is declared in :class:`Metrics`'s
constructor, so a fresh server already shows each ``# HELP``/``# TYPE`` line: a dashboard or an
alert can refer to a family before its first sample. Values that live elsewhere (open streams,
tasks, heartbeats sent by the scheduler) are read at scrape time through :meth:`Metrics.read`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "PAGES_PER_SECOND_BUCKETS", "STAGE_BUCKETS", "Metrics", "watch_loop_lag"]

STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
PAGES_PER_SECOND_BUCKETS = (1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
"""The ``Content-Type`` of :meth:`Metrics.render` (text format 0.0.4)."""

# ``*_created`` series (one per label set) only double what a scraper sees; the library's one switch is global.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]


class _ScrapeTime(Collector):
    """Families whose value is read from the app when scraped."""

    def __init__(self) -> None:
        self._families: list[tuple[str, str, str, Callable[[], float]]] = []

    def add(self, kind: str, name: str, help_text: str, read: Callable[[], float]) -> None:
        self._families.append((kind, name, help_text, read))

    def collect(self) -> Iterator[Metric]:
        for kind, name, help_text, read in self._families:
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(name, help_text, value=read())


class Metrics:
    """Every family the service exports (names in README's metrics table), on a registry of its own."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self._scrape_time = _ScrapeTime()
        registry.register(self._scrape_time)
        self.jobs = Counter(
            "csse_jobs", "Jobs finished, by outcome and error code.", ["outcome", "code"], registry=registry
        )
        self.stage_seconds = Histogram(
            "csse_stage_seconds", "Time jobs spent in each stage.", ["stage"], buckets=STAGE_BUCKETS, registry=registry
        )
        self.tenant_jobs = Counter("csse_tenant_jobs", "Jobs accepted, by tenant.", ["tenant"], registry=registry)
        self.upload_bytes = Counter("csse_upload_bytes", "Bytes of uploads accepted.", registry=registry)
        self.extract_pages_per_second = Histogram(
            "csse_extract_pages_per_second",
            "Extraction speed of each document, in pages per second.",
            buckets=PAGES_PER_SECOND_BUCKETS,
            registry=registry,
        )
        self.events_sent = Counter(
            "csse_events_sent", "Events written to streams, by event name.", ["event"], registry=registry
        )
        self.groq_requests = Counter(
            "csse_groq_requests", "Requests to Groq, by model and outcome.", ["model", "outcome"], registry=registry
        )
        self.groq_tokens = Counter(
            "csse_groq_tokens", "Tokens used at Groq, by model and kind.", ["model", "kind"], registry=registry
        )
        self.groq_request_seconds = Histogram(
            "csse_groq_request_seconds", "Duration of requests to Groq.", ["model"], registry=registry
        )
        self.event_loop_lag = Gauge(
            "csse_event_loop_lag_seconds",
            "How late the event loop woke a timer (last and max).",
            ["stat"],
            registry=registry,
        )
        for stat in ("last", "max"):
            self.event_loop_lag.labels(stat=stat)

    def read(self, kind: str, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Export ``read()`` as a ``counter`` or ``gauge`` named ``name``, called at every scrape."""
        self._scrape_time.add(kind, name, help_text, read)

    def render(self) -> bytes:
        """The registry in Prometheus text format (:data:`CONTENT_TYPE`)."""
        return prometheus_client.generate_latest(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """The current value of a sample (0 when it has none yet), e.g. ``value("csse_jobs_total", outcome=...)``."""
        return self.registry.get_sample_value(name, labels) or 0.0


async def watch_loop_lag(metrics: Metrics, every_s: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
    """Record how late the loop wakes a sleeper: ``csse_event_loop_lag_seconds`` (last and max)."""
    worst = 0.0
    while True:
        start = clock()
        await asyncio.sleep(every_s)
        lag = max(0.0, clock() - start - every_s)
        worst = max(worst, lag)
        metrics.event_loop_lag.labels(stat="last").set(lag)
        metrics.event_loop_lag.labels(stat="max").set(worst)
