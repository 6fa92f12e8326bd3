"""The result cache: the same PDF bytes, analyzer and model give the same report, at once.

Per tenant: ``cached: true`` on a report must never tell one tenant that another uploaded
the same document. :class:`MemoryResultCache` serves the memory broker; the Redis broker
has ``broker.cache.ResultCache`` with the same methods.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

__all__ = ["DEFAULT_MAX_ENTRIES", "MemoryResultCache", "ReportCache"]

DEFAULT_MAX_ENTRIES = 1000
"""Reports a :class:`MemoryResultCache` keeps at most; the least recently used go first."""


class ReportCache(Protocol):
    async def get(self, tenant: str, sha256: str, analyzer: str, model: str | None) -> bytes | None: ...

    async def put(self, tenant: str, sha256: str, analyzer: str, model: str | None, report: bytes) -> None: ...


class MemoryResultCache:
    """Reports in this process, kept ``ttl_s`` seconds, ``max_entries`` at most."""

    def __init__(
        self,
        *,
        ttl_s: float = 86400,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str, str, str], tuple[float, bytes]] = OrderedDict()

    async def get(self, tenant: str, sha256: str, analyzer: str, model: str | None) -> bytes | None:
        key = (tenant, sha256, analyzer, model or "-")
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    async def put(self, tenant: str, sha256: str, analyzer: str, model: str | None, report: bytes) -> None:
        key = (tenant, sha256, analyzer, model or "-")
        self._entries[key] = (self._clock() + self._ttl_s, report)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
