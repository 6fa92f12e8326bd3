"""GET / and its assets: package data, cache headers, a strict CSP, nothing inline."""

from __future__ import annotations

import re

from pytest_aiohttp import AiohttpClient

from compliance_sse.app import create_app
from compliance_sse.page import CSP
from compliance_sse.settings import Settings


async def test_index_is_revalidated_and_locked_down(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(Settings(analyzer="rules", max_upload_mb=3)))
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Content-Security-Policy"] == CSP
    assert "script-src 'self';" in CSP and "style-src 'self';" in CSP and "unsafe" not in CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = await response.text()
    assert f'data-max-upload-bytes="{3 * 1024 * 1024}"' in html
    assert 'data-auth="none"' in html
    # No inline script, no inline style: every <script> has a src, no <style>, no style= attribute.
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"

    again = await client.get("/", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304
    assert await again.read() == b""


async def test_assets_are_versioned_and_cached_for_good(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(Settings(analyzer="rules")))
    html = await (await client.get("/")).text()
    paths = sorted(set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html)))
    assert {p.rsplit("/", 1)[1] for p in paths} == {"app.css", "app.js", "favicon.svg"}
    for path in paths:
        response = await client.get(path)
        assert response.status == 200, path
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Security-Policy"] == CSP
    module = await client.get(paths[0].rsplit("/", 1)[0] + "/sse.js")  # imported by app.js
    assert module.content_type == "text/javascript"

    version = paths[0].split("/")[2]
    for bad in ("/static/0000/app.js", f"/static/{version}/nope.js", f"/static/{version}/index.html"):
        response = await client.get(bad)
        assert response.status == 404, bad
        assert (await response.json())["code"] == "not_found"


async def test_page_says_when_keys_are_needed(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(Settings(analyzer="rules", api_keys={"k1": "acme"})))
    response = await client.get("/")
    assert response.status == 200
    assert 'data-auth="required"' in await response.text()
