"""The result cache: the same PDF bytes, analyzer and model give the same report, at once."""

from __future__ import annotations

from redis.asyncio import Redis

from .errors import map_redis_errors

__all__ = ["ResultCache"]


class ResultCache:
    """Reports by ``(sha256, analyzer, model)`` at ``P:cache:<sha256>:<analyzer>:<model>``, kept ``ttl_s`` seconds.

    Shared by every tenant: a report is derived from the bytes alone, which the uploader has.
    Jobs submitted with a password are neither stored nor answered from here.
    """

    def __init__(self, client: Redis, *, prefix: str = "csse", ttl_s: float = 86400) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = max(1, int(ttl_s * 1000))

    def key(self, sha256: str, analyzer: str, model: str | None) -> str:
        return f"{self._prefix}:cache:{sha256}:{analyzer}:{model or '-'}"

    async def get(self, sha256: str, analyzer: str, model: str | None) -> bytes | None:
        with map_redis_errors():
            value = await self._client.get(self.key(sha256, analyzer, model))
        if value is None:
            return None
        return value if isinstance(value, bytes) else value.encode()

    async def put(self, sha256: str, analyzer: str, model: str | None, report: bytes) -> None:
        with map_redis_errors():
            await self._client.set(self.key(sha256, analyzer, model), report, px=self._ttl_ms)
