"""Every ``web.AppKey`` of the application, in one place.

A leaf: the value types are imported for the type checker only, so any module can import
its keys without importing (or cycling through) the modules that build the values.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .analyzers.base import Analyzer
    from .auth import UrlSigner
    from .eventlog.base import EventLog
    from .jobs import JobManager
    from .metrics import Metrics
    from .page import Page
    from .pipeline.extract import Extractor
    from .settings import Settings
    from .sse.response import EventStreamResponse, HeartbeatScheduler
    from .upload import UploadSlots

__all__ = [
    "ANALYZER",
    "ANALYZE_EXECUTOR",
    "EVENT_LOG",
    "EXTRACTOR",
    "GC_THRESHOLDS",
    "HEARTBEATS",
    "JOBS",
    "METRICS",
    "PAGE",
    "SETTINGS",
    "STREAMS",
    "TENANT_STREAMS",
    "UPLOADS",
    "URL_SIGNER",
]

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
EVENT_LOG: web.AppKey[EventLog] = web.AppKey("event_log")
ANALYZER: web.AppKey[Analyzer] = web.AppKey("analyzer")
ANALYZE_EXECUTOR = web.AppKey("analyze_executor", concurrent.futures.Executor)
EXTRACTOR: web.AppKey[Extractor] = web.AppKey("extractor")
JOBS: web.AppKey[JobManager] = web.AppKey("jobs")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
HEARTBEATS: web.AppKey[HeartbeatScheduler] = web.AppKey("heartbeats")
STREAMS: web.AppKey[set[EventStreamResponse]] = web.AppKey("streams")
"""Open event streams; the view adds and removes its own (a plain set: no weak reference per stream)."""
URL_SIGNER: web.AppKey[UrlSigner] = web.AppKey("url_signer")
GC_THRESHOLDS = web.AppKey("gc_thresholds", tuple[int, ...])
"""The collector's thresholds before start-up changed them, restored at cleanup."""
TENANT_STREAMS = web.AppKey("tenant_streams", dict[str, int])
"""Open event streams per tenant, for ``CSSE_TENANT_MAX_STREAMS``."""
PAGE: web.AppKey[Page] = web.AppKey("page")
"""The demo page, read once at start-up."""
UPLOADS: web.AppKey[UploadSlots] = web.AppKey("uploads")
"""Uploads being read, for ``CSSE_MAX_UPLOADS``."""
