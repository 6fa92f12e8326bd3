"""One ``event_log`` fixture, parametrised over every implementation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from compliance_sse.eventlog.base import EventLog
from compliance_sse.eventlog.memory import InMemoryEventLog

Clock = list[float]


@pytest.fixture
def clock() -> Clock:
    return [1_000_000.0]


def _memory(clock: Clock, ttl_s: float) -> EventLog:
    return InMemoryEventLog(ttl_s=ttl_s, clock=lambda: clock[0])


FACTORIES: dict[str, Callable[[Clock, float], EventLog]] = {"memory": _memory}


@pytest.fixture(params=sorted(FACTORIES))
async def event_log(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[EventLog]:
    log = FACTORIES[request.param](clock, 60.0)
    yield log
    await log.close()
