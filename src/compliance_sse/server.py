"""The HTTP server around the app: aiohttp's, with its answer to a request it cannot read made ours.

aiohttp answers a malformed request (a bare CR in a header, a bad chunk size, a header or path
over 8 KB) before any middleware runs: a ``text/plain`` 400 quoting the parser's message with
the request's bytes, no ``X-Request-Id``, and a traceback at ERROR per request, so anyone can
flood the log. :class:`ServiceRunner` serves the app with a protocol whose ``handle_error``
answers the contract's JSON error instead, echoes nothing, and logs one WARNING line,
rate-limited (:class:`RateLimitedLog`). ``compliance-sse serve`` runs through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from .app import get_jobs
from .middlewares import REQUEST_ID, SERVER_NAME, json_response
from .settings import ConfigError

__all__ = ["LISTEN_BACKLOG", "RateLimitedLog", "ServiceRunner", "serve"]

log = logging.getLogger(__name__)

LISTEN_BACKLOG = 1024
"""Connections the kernel queues before ``accept``. aiohttp's 128 overflows when thousands of streams
reconnect together (a gateway restart), and each dropped SYN waits 1, 3, 7 s before the client tries again;
the kernel caps it at ``net.core.somaxconn``."""


class RateLimitedLog:
    """At most ``per_interval`` lines per ``interval_s`` seconds; then one line says how many were dropped."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        per_interval: int = 10,
        interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._per_interval = per_interval
        self._interval_s = interval_s
        self._clock = clock
        self._window = -interval_s
        self._count = 0
        self._dropped = 0

    def warning(self, msg: str, *args: object) -> None:
        now = self._clock()
        if now - self._window >= self._interval_s:
            if self._dropped:
                self._logger.warning(
                    "%d similar lines were not logged in the last %g s", self._dropped, self._interval_s
                )
            self._window, self._count, self._dropped = now, 0, 0
        if self._count < self._per_interval:
            self._count += 1
            self._logger.warning(msg, *args)
        else:
            self._dropped += 1


_MALFORMED = RateLimitedLog(log)


class _Protocol(RequestHandler):
    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        """The contract's JSON error; never the parser's message, which quotes the request's bytes."""
        if request.writer.output_size > 0:
            raise ConnectionError("the response has started; the connection is closed")
        if isinstance(exc, ConnectionError):
            raise ConnectionError("the client has gone; the connection is closed")  # aiohttp drops it quietly
        rid = secrets.token_hex(8)
        if status >= 500:
            log.error("request %s failed in the server: %s", rid, type(exc).__name__ if exc else "no response")
            body = {"detail": "Something went wrong on our side.", "code": "internal", "request_id": rid}
        else:
            _MALFORMED.warning(
                "malformed HTTP request from %s answered %d (%s; request %s)",
                request.remote,
                status,
                type(exc).__name__ if exc else "unreadable",
                rid,
            )
            body = {"detail": "The request is not valid HTTP.", "code": "bad_request", "request_id": rid}
        response = json_response(body, status=status, headers={REQUEST_ID: rid, "Server": SERVER_NAME})
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _Protocol(self, loop=self._loop, **self._kwargs)


class ServiceRunner(web.AppRunner):
    """An ``AppRunner`` whose connections answer unreadable requests as the service does (see the module)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _Server(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **server._kwargs,
        )


async def serve(
    app: web.Application, *, host: str, port: int, shutdown_timeout: float = 15, drain_s: float = 0, **kw: Any
) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM, drain for ``drain_s`` seconds, then shut down.

    ``web.run_app`` closes the listener at the signal, so a gateway still routing here gets refused
    connections. During the drain ``/readyz`` answers 503 and no job is taken while the port keeps
    serving, so the gateway sees the 503 and moves traffic; then the listener closes, open streams
    get a final comment and end (clients resume elsewhere with Last-Event-ID), and running jobs get
    ``app.JOB_GRACE_S`` to finish (memory) or go back to the queue (Redis). A second signal ends the
    drain at once.
    """
    runner = ServiceRunner(app, handler_cancellation=True, shutdown_timeout=shutdown_timeout, access_log=None, **kw)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=LISTEN_BACKLOG)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {os.strerror(exc.errno) if exc.errno else exc}; "
                "set CSSE_PORT or --port to a free port"
            ) from None
        print(f"======== Running on http://{host}:{port} ========", file=sys.stderr)
        stop, hurry = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            if stop.is_set():
                log.info("%s again: ending the drain now", sig.name)
                hurry.set()
                return
            log.info("%s: draining for %g s (readyz answers 503, no new job), then closing", sig.name, drain_s)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            await stop.wait()
            get_jobs(app).drain()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(drain_s):
                    await hurry.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    finally:
        await runner.cleanup()
