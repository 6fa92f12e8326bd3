"""CORS for ``CSSE_CORS_ORIGINS``, with aiohttp-cors.

A listed origin (or any, with ``*``) may send ``Last-Event-ID``, ``Authorization`` and
``X-API-Key`` and read ``X-Job-Id``, ``X-Request-Id`` and ``Retry-After``; a preflight
(``OPTIONS``) needs no key. An origin not listed gets no CORS header, so the browser keeps
the answer from the page. No credentials mode: keys travel in headers, never in cookies.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiohttp_cors
from aiohttp import web

__all__ = ["ALLOWED_HEADERS", "EXPOSED_HEADERS", "setup_cors"]

ALLOWED_HEADERS = ("Authorization", "Content-Type", "Last-Event-ID", "X-API-Key", "X-Request-Id")
EXPOSED_HEADERS = ("Retry-After", "X-Job-Id", "X-Request-Id")
_PREFLIGHT_MAX_AGE_S = 600


def setup_cors(app: web.Application, origins: Iterable[str]) -> None:
    """Allow ``origins`` on every route registered so far (call it after the routes)."""
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=False,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_methods=("GET", "POST"),
        max_age=_PREFLIGHT_MAX_AGE_S,
    )
    cors = aiohttp_cors.setup(app, defaults=dict.fromkeys(origins, options))
    for route in list(app.router.routes()):
        if route.method in ("GET", "POST"):
            cors.add(route)
    app.on_response_prepare.append(_vary_on_origin)


async def _vary_on_origin(request: web.Request, response: web.StreamResponse) -> None:
    # aiohttp-cors echoes the request's Origin: a shared cache must key the answer on it.
    if "Access-Control-Allow-Origin" in response.headers and "Origin" not in response.headers.get("Vary", ""):
        response.headers.add("Vary", "Origin")
