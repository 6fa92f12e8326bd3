"""A queued job's PDF password: in Redis under its own short-lived key, gone once a worker starts the job."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from compliance_sse.eventlog.base import EventLog
from compliance_sse.pipeline.models import Job
from tests.broker.test_queue import Broker, Script
from tests.polling import until

SECRET = "hunter2-correct-horse"


class Recording(Script):
    """A :class:`Script` that records the password each run was given."""

    def __init__(self, steps: int = 12, hold_at: int | None = None) -> None:
        super().__init__(steps, hold_at)
        self.passwords: list[str | None] = []

    async def __call__(self, job: Job, log: EventLog) -> None:
        self.passwords.append(job.password)
        await super().__call__(job, log)


@pytest.fixture
async def broker(redis_url: str, redis_prefix: str) -> AsyncIterator[Broker]:
    broker = Broker(redis_url, redis_prefix, password_ttl_s=30)
    await broker.queue.start()
    yield broker
    await broker.close()


async def redis_holds(broker: Broker, needle: str) -> list[str]:
    """Every key of the test's prefix whose value (string, hash or stream) contains ``needle``."""
    client: Any = broker.log.client
    found = []
    async for key in client.scan_iter(match=f"{broker.log.prefix}:*"):
        kind = (await client.type(key)).decode()
        values: list[Any] = []
        if kind == "string":
            values = [await client.get(key)]
        elif kind == "hash":
            values = list((await client.hgetall(key)).values())
        elif kind == "stream":
            values = [v for _id, fields in await client.xrange(key) for v in fields.values()]
        if any(needle.encode() in v for v in values if isinstance(v, bytes)):
            found.append(key.decode())
    return found


async def error_of(broker: Broker, job_id: str) -> dict[str, object]:
    events = await broker.events(job_id)
    assert events[-1].event == "error"
    body: dict[str, object] = orjson.loads(events[-1].data)
    return body


async def test_the_password_waits_under_its_own_key_with_a_short_ttl(broker: Broker) -> None:
    job_id = await broker.submit(password=SECRET)
    key = broker.queue.password_key(job_id)
    assert await redis_holds(broker, SECRET) == [key]
    assert 0 < await broker.log.client.pttl(key) <= 30_000
    assert await broker.log.client.pttl(broker.queue.input_key(job_id)) > 30_000  # the PDF stays longer


async def test_the_password_is_gone_from_redis_once_the_job_starts(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    script = Recording(hold_at=4)
    await broker.consumer(script, cache=broker.cache)
    job_id = await broker.submit(password=SECRET)
    await asyncio.wait_for(script.reached.wait(), 20)
    assert script.passwords == [SECRET]
    assert not await broker.log.client.exists(broker.queue.password_key(job_id))
    assert await redis_holds(broker, SECRET) == []
    script.gate.set()
    assert (await broker.events(job_id))[-1].event == "done"
    await until(lambda: broker.consumers[0].active == 0, limit_s=20)
    assert await redis_holds(broker, SECRET) == []  # nor in the cache: a job with a password is never cached
    assert SECRET not in caplog.text


async def test_a_job_given_back_on_shutdown_keeps_its_password(broker: Broker) -> None:
    script = Recording(hold_at=4)
    first = await broker.consumer(script, claim_idle_s=30)
    job_id = await broker.submit(password=SECRET)
    await asyncio.wait_for(script.reached.wait(), 20)
    await first.close(grace_s=0)
    assert 0 < await broker.log.client.pttl(broker.queue.password_key(job_id)) <= 30_000
    await broker.consumer(script, claim_idle_s=30)
    assert (await broker.events(job_id))[-1].event == "done"
    assert script.passwords == [SECRET, SECRET]
    assert await redis_holds(broker, SECRET) == []


async def test_a_job_whose_worker_died_asks_for_the_password_again(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """The dead worker took the password with it: the rerun ends with ``password_required``
    (the page then asks for it and uploads again) instead of running without it."""
    script = Recording(hold_at=4)
    first = await broker.consumer(script, claim_idle_s=0.3)
    job_id = await broker.submit(password=SECRET)
    await asyncio.wait_for(script.reached.wait(), 20)
    first.abandon()
    await broker.consumer(script, claim_idle_s=0.3)
    body = await error_of(broker, job_id)
    assert body["code"] == "password_required" and "start again" in str(body["error"])
    assert script.passwords == [SECRET]
    assert (await broker.log.get_job(job_id)).status == "failed"
    await until(lambda: broker.consumers[1].active == 0, limit_s=20)
    assert await broker.log.client.xlen(broker.queue.key) == 0
    assert SECRET not in caplog.text


async def test_a_password_that_outlived_its_ttl_in_the_queue_is_asked_for_again(
    redis_url: str, redis_prefix: str
) -> None:
    broker = Broker(redis_url, redis_prefix, password_ttl_s=0.05)
    await broker.queue.start()
    try:
        job_id = await broker.submit(password=SECRET)

        async def expired() -> bool:
            return not await broker.log.client.exists(broker.queue.password_key(job_id))

        await until(expired, limit_s=10, every_s=0.01, what="the password's TTL")
        script = Recording()
        await broker.consumer(script)
        assert (await error_of(broker, job_id))["code"] == "password_required"
        assert script.runs == 0
    finally:
        await broker.close()


async def test_a_job_without_a_password_is_unaffected(broker: Broker) -> None:
    script = Recording()
    await broker.consumer(script)
    job_id = await broker.submit()
    assert (await broker.events(job_id))[-1].event == "done"
    assert script.passwords == [None]
    assert not await broker.log.client.exists(broker.queue.password_key(job_id))
