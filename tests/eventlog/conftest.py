"""One ``event_log`` fixture, parametrised over every implementation (``redis_url`` comes from the root conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from compliance_sse.eventlog.base import EventLog
from compliance_sse.eventlog.memory import InMemoryEventLog
from compliance_sse.eventlog.redis import RedisEventLog

Clock = list[float]


@pytest.fixture
def clock() -> Clock:
    return [1_000_000.0]


def _memory(request: pytest.FixtureRequest, clock: Clock, ttl_s: float) -> EventLog:
    return InMemoryEventLog(ttl_s=ttl_s, clock=lambda: clock[0])


def _redis(request: pytest.FixtureRequest, clock: Clock, ttl_s: float) -> EventLog:
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    return RedisEventLog.from_url(url, prefix=prefix, ttl_s=ttl_s, clock=lambda: clock[0])


FACTORIES: dict[str, Callable[[pytest.FixtureRequest, Clock, float], EventLog]] = {
    "memory": _memory,
    "redis": _redis,
}


@pytest.fixture(params=sorted(FACTORIES))
async def event_log(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[EventLog]:
    log = FACTORIES[request.param](request, clock, 60.0)
    yield log
    await log.close()
