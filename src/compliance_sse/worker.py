"""``compliance-sse worker``: take jobs from the Redis queue until SIGTERM.

The worker is the service without its API: the same ``create_app`` resources (event log,
extractor, analyzer, queue consumer), with only ``/healthz``, ``/readyz`` and ``/metrics``
served on ``CSSE_WORKER_PORT`` (``/readyz`` turns 503 once it stops taking jobs).
On SIGTERM or SIGINT it takes no new job, gives running jobs the grace period of
``JobManager.close`` to finish, and puts the others back on the queue (unacknowledged and
marked idle, so another worker takes them at once).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal

from aiohttp import web

from .app import create_app, get_jobs
from .routes import setup_health_routes
from .settings import Settings

__all__ = ["run_worker"]

log = logging.getLogger(__name__)

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Consume jobs until a signal arrives (or ``stop`` is set), then shut down gracefully.

    Raises ``ValueError`` when ``settings.broker`` is ``memory``: there is no queue to take from.
    """
    if settings.broker == "memory":
        raise ValueError("compliance-sse worker needs a queue: set CSSE_BROKER=redis://...")
    stop = stop or asyncio.Event()
    app = create_app(dataclasses.replace(settings, server_worker=True), routes=setup_health_routes)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    loop = asyncio.get_running_loop()
    for sig in _SIGNALS:
        loop.add_signal_handler(sig, _on_signal, stop, sig)
    try:
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.worker_port).start()
        log.info(
            "worker started: up to %d jobs at a time; /healthz, /readyz and /metrics on http://%s:%d",
            settings.max_active_jobs,
            settings.host,
            settings.worker_port,
        )
        await stop.wait()
        get_jobs(app).drain()
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
        await runner.cleanup()
    log.info("worker stopped")


def _on_signal(stop: asyncio.Event, sig: signal.Signals) -> None:
    if stop.is_set():
        log.info("already stopping: running jobs finish or go back to the queue")
        return
    log.info("%s: taking no new job; running jobs finish or go back to the queue", sig.name)
    stop.set()
