"""``compliance-sse worker``: take jobs from the Redis queue until SIGTERM.

The worker is the service without its HTTP listener: the same ``create_app`` resources
(event log, extractor, analyzer, queue consumer), started by an ``AppRunner`` that binds no
port. On SIGTERM or SIGINT it takes no new job, gives running jobs the grace period of
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
    app = create_app(dataclasses.replace(settings, server_worker=True))
    runner = web.AppRunner(app, handle_signals=False)
    loop = asyncio.get_running_loop()
    for sig in _SIGNALS:
        loop.add_signal_handler(sig, _on_signal, stop, sig)
    try:
        await runner.setup()
        log.info("worker started: up to %d jobs at a time", settings.max_active_jobs)
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
