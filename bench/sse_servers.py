"""The same idle streams and event sequence from three servers, for bench/compare.py.

    python bench/sse_servers.py service|aiohttp-sse|sse-starlette --port P --heartbeat 15 --events 1000
        [--broker redis://127.0.0.1:6379/9]

``service`` is this project's app (``create_app``, its views and event log): job ``idle`` never
ends, job ``events`` holds ``--events`` events, both served by ``GET /jobs/{id}/events``.
``aiohttp-sse`` (``EventSourceResponse.send``) and ``sse-starlette`` (FastAPI + uvicorn) serve
``GET /jobs/idle/events`` (pings only) and ``GET /jobs/events/events`` (the same events, then the end).
Every server answers ``GET /healthz``. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import event_sequence, raise_fd_limit


def service_app(heartbeat_s: float, n_events: int, broker: str) -> web.Application:
    from compliance_sse.app import create_app, get_event_log
    from compliance_sse.eventlog.base import JobRecord
    from compliance_sse.settings import Settings

    prefix = f"csse-bench-{secrets.token_hex(4)}"
    settings = Settings(heartbeat_s=heartbeat_s, broker=broker, redis_prefix=prefix, server_worker=False)
    app = create_app(settings)

    async def fill(app: web.Application) -> None:
        log = get_event_log(app)
        for job_id in ("idle", "events"):
            await log.create_job(JobRecord(job_id=job_id, tenant="default", doc_name="bench.pdf", sha256="0" * 64))
        await log.append("idle", "job", b'{"job_id":"idle"}')
        for event, _id, data in event_sequence(n_events):
            await log.append("events", event, data)

    async def forget(app: web.Application) -> None:
        log = get_event_log(app)
        client = getattr(log, "client", None)
        if client is not None:  # Redis: delete this run's keys (its prefix is unique)
            async for key in client.scan_iter(match=f"{prefix}*", count=1000):
                await client.delete(key)

    app.on_startup.insert(len(app.on_startup) - 1, fill)  # after the event log exists, before gc.freeze()
    app.on_cleanup.insert(0, forget)  # before the event log closes
    return app


def aiohttp_sse_app(heartbeat_s: float, n_events: int) -> web.Application:
    from aiohttp_sse import sse_response

    events = event_sequence(n_events)

    async def idle(request: web.Request) -> web.StreamResponse:
        async with sse_response(request, ping_interval=heartbeat_s) as resp:
            await resp.wait()
        return resp

    async def stream(request: web.Request) -> web.StreamResponse:
        async with sse_response(request, ping_interval=heartbeat_s) as resp:
            for event, event_id, data in events:
                await resp.send(data.decode(), id=event_id, event=event)
        return resp

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/jobs/idle/events", idle)
    app.router.add_get("/jobs/events/events", stream)
    app.router.add_get("/healthz", healthz)
    return app


def starlette_app(heartbeat_s: float, n_events: int) -> Any:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from sse_starlette.sse import EventSourceResponse

    events = event_sequence(n_events)
    app = FastAPI()

    @app.get("/jobs/idle/events")
    async def idle() -> EventSourceResponse:
        async def forever() -> AsyncIterator[dict[str, str]]:
            await asyncio.Event().wait()
            yield {}

        return EventSourceResponse(forever(), ping=int(heartbeat_s) or 1)

    @app.get("/jobs/events/events")
    async def stream() -> EventSourceResponse:
        async def gen() -> AsyncIterator[dict[str, str]]:
            for event, event_id, data in events:
                yield {"event": event, "id": event_id, "data": data.decode()}

        return EventSourceResponse(gen(), ping=int(heartbeat_s) or 1)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("service", "aiohttp-sse", "sse-starlette"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--heartbeat", type=float, default=15.0)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--broker", default="memory")
    args = parser.parse_args()
    raise_fd_limit()
    if args.kind == "sse-starlette":
        import uvicorn

        app = starlette_app(args.heartbeat, args.events)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", backlog=4096, access_log=False)
        return
    if args.kind == "service":
        app = service_app(args.heartbeat, args.events, args.broker)
    else:
        app = aiohttp_sse_app(args.heartbeat, args.events)
    web.run_app(app, host="127.0.0.1", port=args.port, backlog=4096, access_log=None, print=None)


if __name__ == "__main__":
    main()
