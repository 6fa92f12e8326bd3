"""The Redis broker's result cache (``compliance_sse.cache`` says why it is per tenant)."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from ..eventlog.redis_errors import command

__all__ = ["ResultCache"]


class ResultCache:
    """Reports at ``P:cache:<tenant hash>:<sha256>:<analyzer>:<model>``, kept ``ttl_s`` seconds.

    Per tenant, so that ``cached: true`` never reveals another tenant's upload (the tenant is
    hashed into the key: a tenant name may hold any character). Jobs submitted with a password
    are neither stored nor answered from here.
    """

    def __init__(self, client: Redis, *, prefix: str = "csse", ttl_s: float = 86400) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = max(1, int(ttl_s * 1000))

    def key(self, tenant: str, sha256: str, analyzer: str, model: str | None) -> str:
        owner = hashlib.sha256(tenant.encode()).hexdigest()[:16]
        return f"{self._prefix}:cache:{owner}:{sha256}:{analyzer}:{model or '-'}"

    async def get(self, tenant: str, sha256: str, analyzer: str, model: str | None) -> bytes | None:
        async with command():
            value = await self._client.get(self.key(tenant, sha256, analyzer, model))
        if value is None:
            return None
        return value if isinstance(value, bytes) else value.encode()

    async def put(self, tenant: str, sha256: str, analyzer: str, model: str | None, report: bytes) -> None:
        async with command():
            await self._client.set(self.key(tenant, sha256, analyzer, model), report, px=self._ttl_ms)
