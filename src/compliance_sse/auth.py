"""API keys, tenants and the signed, expiring ``?token=`` of a job's URLs.

With ``CSSE_API_KEYS`` set, a request names its tenant with a key (``Authorization: Bearer``
or ``X-API-Key``), or, on one job's read-only URLs, with a token that :class:`UrlSigner`
made for that job and tenant: a browser ``EventSource`` cannot send headers. Keys are
compared as SHA-256 digests with :func:`hmac.compare_digest`, every configured key each
time, so neither the time taken nor the key's length tells which one came close. A key is
never logged: the access log prints no ``Authorization``/``X-API-Key`` header and no query.

A token is ``<expires>.<tenant, base64url>.<HMAC-SHA256, base64url>`` over the job id, the
tenant and the expiry: changing any part, or using it on another job, breaks the signature.
Without ``CSSE_URL_SECRET`` the HMAC key is derived from the API keys, so every replica
configured with the same keys accepts the others' tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from aiohttp.typedefs import Middleware

from .errors import Unauthorized

__all__ = [
    "DEFAULT_TENANT",
    "PUBLIC_PATHS",
    "TENANT",
    "ApiKeys",
    "UrlSigner",
    "auth_middleware",
    "derive_url_secret",
    "tenant_of",
]

DEFAULT_TENANT = "default"
"""The tenant of every job while no API keys are configured."""

PUBLIC_PATHS = frozenset({"/", "/healthz", "/readyz", "/metrics"})
"""Paths that never need a key (probes, the scraper, the demo page). Static files under ``/static/`` neither."""

TENANT = web.RequestKey("tenant", str)

_TOKEN_PATH = re.compile(r"^/jobs/(?P<job_id>[^/]+)(?:/events|/report|/report\.md)?$")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def tenant_of(request: web.Request) -> str:
    """The caller's tenant, set by :func:`auth_middleware` (one tenant until keys are configured)."""
    return str(request.get(TENANT, DEFAULT_TENANT))


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


class ApiKeys:
    """The configured ``key -> tenant`` table, looked up in constant time."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self._digests = [(_digest(key), tenant) for key, tenant in keys.items()]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def tenant(self, given: str) -> str | None:
        """The tenant of ``given``, or ``None`` when it is no configured key."""
        probe = _digest(given)
        found = None
        for digest, tenant in self._digests:  # no early exit: the time does not depend on which key matched
            if hmac.compare_digest(digest, probe):
                found = tenant
        return found


def derive_url_secret(keys: Mapping[str, str]) -> bytes:
    """The token HMAC key when ``CSSE_URL_SECRET`` is unset: the same on every replica with the same keys."""
    material = "\n".join(sorted(f"{key}:{tenant}" for key, tenant in keys.items()))
    return hmac.new(b"compliance-sse url token", material.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UrlSigner:
    """Makes and checks the ``?token=`` of a job's ``events_url`` and ``report_url``.

    ``ttl_s`` is how long a token is accepted after it was made (seconds); ``clock`` is wall-clock
    time (``time.time``), since replicas compare expiries they did not make.
    """

    def __init__(self, secret: bytes, *, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        if not secret:
            raise ValueError("the URL token secret must not be empty")
        self._secret = secret
        self._ttl_s = ttl_s
        self._clock = clock

    def _sign(self, job_id: str, tenant: str, expires: int) -> str:
        message = f"{job_id}\n{tenant}\n{expires}".encode()
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())

    def token(self, job_id: str, tenant: str) -> str:
        expires = int(self._clock() + self._ttl_s)
        return f"{expires}.{_b64(tenant.encode())}.{self._sign(job_id, tenant, expires)}"

    def verify(self, token: str, job_id: str) -> str | None:
        """The tenant the token was made for, or ``None`` if it is malformed, altered, expired or another job's."""
        try:
            expires_text, tenant_text, signature = token.split(".")
            expires = int(expires_text)
            tenant = _unb64(tenant_text).decode()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(signature, self._sign(job_id, tenant, expires)):
            return None
        return tenant if self._clock() < expires else None

    def urls(self, job_id: str, tenant: str) -> dict[str, str]:
        """``events_url`` and ``report_url``, each carrying a token for this job only."""
        query = f"?token={self.token(job_id, tenant)}"
        return {"events_url": f"/jobs/{job_id}/events{query}", "report_url": f"/jobs/{job_id}/report{query}"}


def _presented_key(request: web.Request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("X-API-Key") or None


def _is_public(request: web.Request) -> bool:
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return True  # a CORS preflight: browsers never attach credentials to it
    return request.path in PUBLIC_PATHS or request.path.startswith("/static/")


def auth_middleware(keys: ApiKeys, signer: UrlSigner) -> Middleware:
    """Set the request's tenant from its key or its job token; ``401 unauthorized`` otherwise."""

    @web.middleware
    async def middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if _is_public(request):
            return await handler(request)
        key = _presented_key(request)
        tenant = keys.tenant(key) if key is not None else None
        if key is None and (token := request.query.get("token")) and request.method in ("GET", "HEAD"):
            match = _TOKEN_PATH.match(request.path)
            tenant = signer.verify(token, match["job_id"]) if match else None
        if tenant is None:
            raise Unauthorized()
        request[TENANT] = tenant
        return await handler(request)

    return middleware
