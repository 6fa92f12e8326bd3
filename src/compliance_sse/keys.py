"""Every ``web.AppKey`` of the application, in one place."""

from __future__ import annotations

import concurrent.futures
import weakref

from aiohttp import web

from .analyzers.base import Analyzer
from .auth import UrlSigner
from .eventlog.base import EventLog
from .jobs import JobManager
from .metrics import Metrics
from .settings import Settings
from .sse.response import EventStreamResponse, HeartbeatScheduler

__all__ = [
    "ANALYZER",
    "ANALYZE_EXECUTOR",
    "EVENT_LOG",
    "HEARTBEATS",
    "JOBS",
    "METRICS",
    "SETTINGS",
    "STREAMS",
    "TENANT_STREAMS",
    "URL_SIGNER",
]

SETTINGS = web.AppKey("settings", Settings)
EVENT_LOG = web.AppKey("event_log", EventLog)
ANALYZER = web.AppKey("analyzer", Analyzer)
ANALYZE_EXECUTOR = web.AppKey("analyze_executor", concurrent.futures.Executor)
JOBS = web.AppKey("jobs", JobManager)
METRICS = web.AppKey("metrics", Metrics)
HEARTBEATS = web.AppKey("heartbeats", HeartbeatScheduler)
STREAMS = web.AppKey("streams", weakref.WeakSet[EventStreamResponse])
URL_SIGNER = web.AppKey("url_signer", UrlSigner)
TENANT_STREAMS = web.AppKey("tenant_streams", dict[str, int])
"""Open event streams per tenant, for ``CSSE_TENANT_MAX_STREAMS``."""
