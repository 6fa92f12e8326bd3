"""The demo page: HTML, CSS and JavaScript modules shipped as package data.

No build step: the files in ``static/`` are served as they are. Assets live under
``/static/<version>/``, where the version is a digest of every file, so they can be
cached for good (``immutable``) while ``GET /`` is revalidated on every load
(``no-cache`` with an ``ETag``); a new release changes the version, so a page never
mixes the modules of two releases. Every answer carries a Content-Security-Policy
that allows scripts and styles from this origin only: the page has no inline script,
no inline style and no ``style=`` attribute (scripts set styles through the CSSOM,
which CSP does not restrict).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

from .errors import NotFound
from .keys import PAGE, SETTINGS
from .settings import Settings

__all__ = ["CSP", "PAGE", "Page", "asset", "index", "load_page", "page_ctx"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    content_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class Page:
    """The rendered ``index.html`` and every asset, read once when the app starts."""

    version: str
    index: _Asset
    assets: dict[str, _Asset]


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def load_page(settings: Settings) -> Page:
    """Read ``static/`` (blocking file I/O: call it off the event loop) and render the index."""
    files = {
        entry.name: entry.read_bytes()
        for entry in resources.files("compliance_sse").joinpath("static").iterdir()
        if entry.is_file() and not entry.name.startswith(".")
    }
    template = files.pop("index.html").decode()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    digest.update(template.encode())
    version = digest.hexdigest()[:12]
    values = {
        "static": f"/static/{version}",
        "max_upload_bytes": str(settings.max_upload_bytes),
        "auth": "required" if settings.api_keys else "none",
    }
    rendered = template
    for key, value in values.items():
        rendered = rendered.replace("{{" + key + "}}", html.escape(value))
    body = rendered.encode()
    assets = {}
    for name, data in files.items():
        suffix = "." + name.rpartition(".")[2]
        content_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        assets[name] = _Asset(data, content_type, _etag(data))
    return Page(version=version, index=_Asset(body, "text/html", _etag(body)), assets=assets)


async def page_ctx(app: web.Application) -> AsyncIterator[None]:
    app[PAGE] = await asyncio.to_thread(load_page, app[SETTINGS])
    yield


def _answer(request: web.Request, item: _Asset, cache_control: str) -> web.Response:
    headers = {"ETag": item.etag, "Cache-Control": cache_control, **_SECURITY_HEADERS}
    if item.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    charset = "utf-8" if item.content_type.startswith("text/") or item.content_type.endswith("+xml") else None
    return web.Response(body=item.body, content_type=item.content_type, charset=charset, headers=headers)


async def index(request: web.Request) -> web.Response:
    """``GET /``: the page, revalidated on every load."""
    return _answer(request, request.app[PAGE].index, "no-cache")


async def asset(request: web.Request) -> web.Response:
    """``GET /static/{version}/{name}``: a file of this release, cacheable for good."""
    page = request.app[PAGE]
    item = page.assets.get(request.match_info["name"])
    if item is None or request.match_info["version"] != page.version:
        raise NotFound("No such file.")
    return _answer(request, item, "public, max-age=31536000, immutable")
