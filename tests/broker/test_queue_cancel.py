"""Closing the queue always ends its monitor, even when Python 3.11 drops a cancellation inside redis-py."""

from __future__ import annotations

import asyncio

from compliance_sse.broker.queue import JobQueue
from compliance_sse.eventlog.redis import RedisEventLog
from compliance_sse.eventlog.redis_connection import connect


async def test_close_ends_a_monitor_cancelled_in_the_middle_of_a_redis_call(redis_url: str, redis_prefix: str) -> None:
    """With ``poll_s=0`` the monitor is nearly always inside a Redis call: about one cancel in
    25 lands as redis-py's ``wait_for`` completes a send and is dropped (CPython gh-86296), and
    a close() that cancelled once waited forever."""
    log = RedisEventLog(connect(redis_url), owns_client=True, prefix=redis_prefix)
    try:
        for step in range(80):
            queue = JobQueue(log, poll_s=0)
            await queue.start()
            for _ in range(step % 7):
                await asyncio.sleep(0)
            await asyncio.wait_for(queue.close(), 60)
    finally:
        await log.close()
