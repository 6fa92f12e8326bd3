"""The job queue and its consumers, in one process: reclaim without duplicates, fresh claims, poison, requeue."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from compliance_sse.broker.cache import ResultCache
from compliance_sse.broker.queue import JobQueue, QueueConsumer, RunJob
from compliance_sse.errors import NotFound
from compliance_sse.eventlog.base import EventLog, LogEvent
from compliance_sse.eventlog.redis import LeaseLost, RedisEventLog
from compliance_sse.eventlog.redis_connection import connect
from compliance_sse.eventlog.redis_leased import LeasedLog
from compliance_sse.events import DoneEvent, FlagEvent, ProgressEvent
from compliance_sse.jobs import JobManager
from compliance_sse.pipeline.models import Job
from compliance_sse.upload import Upload
from tests.polling import until
from tests.redis_server import redis_server

PDF = b"%PDF-1.7\n" + b"0" * 64


class Script:
    """A deterministic fake job: ``steps`` progress events with a flag every third, then ``done``.

    Its first run can be held before step ``hold_at`` (``reached`` is set there) until ``gate``
    opens; ``extra_flag`` adds a flag on reruns only, as a non-deterministic analyzer might.
    """

    def __init__(self, steps: int = 12, hold_at: int | None = None, *, extra_flag: bool = False) -> None:
        self.steps = steps
        self.hold_at = hold_at
        self.extra_flag = extra_flag
        self.reached = asyncio.Event()
        self.gate = asyncio.Event()
        self.runs = 0

    async def __call__(self, job: Job, log: EventLog) -> None:
        self.runs += 1
        run = self.runs
        await log.update_job(job.job_id, status="running", stage="extract")
        for step in range(self.steps):
            if step == self.hold_at and run == 1:
                self.reached.set()
                await self.gate.wait()
            if step == 2 and run > 1 and self.extra_flag:
                await log.append_event(job.job_id, FlagEvent(flag={"id": "late-one"}))
            if step % 3 == 0:
                await log.append_event(job.job_id, FlagEvent(flag={"id": f"f{step}"}))
            percent = 100.0 * step / self.steps if run == 1 else 50.0 * step / self.steps
            await log.append_event(job.job_id, ProgressEvent(stage="extract", message=f"step {step}", percent=percent))
            await log.update_job(job.job_id, stage="extract", percent=percent)
        done = DoneEvent(report={"job_id": job.job_id, "overall_risk": 0.5, "flags": [{"id": "f0"}]})
        await log.set_report(job.job_id, done.encode())
        await log.update_job(job.job_id, status="done", percent=100.0)
        await log.append_event(job.job_id, done)


class Broker:
    """One Redis event log and queue, and consumers made on demand (closed afterwards)."""

    def __init__(self, url: str, prefix: str, **queue_kw: Any) -> None:
        self.log = RedisEventLog(connect(url), owns_client=True, prefix=prefix)
        self.queue = JobQueue(self.log, poll_s=0.05, **queue_kw)
        self.cache = ResultCache(self.log.client, prefix=prefix)
        self.consumers: list[QueueConsumer] = []

    async def consumer(self, run: RunJob, **kw: Any) -> QueueConsumer:
        kw = {"max_active": 2, "claim_idle_s": 0.3, "block_s": 0.05, **kw}
        consumer = QueueConsumer(self.queue, self.log, run, **kw)
        await consumer.start()
        self.consumers.append(consumer)
        return consumer

    def manager(self, **kw: Any) -> JobManager:
        return JobManager(event_log=self.log, max_active=2, queue=self.queue, **kw)

    async def submit(self, data: bytes = PDF, password: str | None = None, **kw: Any) -> str:
        upload = Upload(data=data, doc_name="d.pdf", password=password, sha256=hashlib.sha256(data).hexdigest())
        return (await self.manager(**kw).submit(upload, "t")).job_id

    async def events(self, job_id: str) -> list[LogEvent]:
        await self.log.get_job(job_id)
        async with asyncio.timeout(20):
            return [e async for e in self.log.read(job_id)]

    async def close(self) -> None:
        for consumer in self.consumers:
            await consumer.close(grace_s=0)
        await self.queue.close()
        await self.log.close()


@pytest.fixture
async def broker(redis_url: str, redis_prefix: str) -> AsyncIterator[Broker]:
    broker = Broker(redis_url, redis_prefix)
    await broker.queue.start()
    yield broker
    await broker.close()


def _shape(events: list[LogEvent]) -> list[tuple[str, Any]]:
    """What must match between runs: names, flag ids, progress steps."""
    out: list[tuple[str, Any]] = []
    for e in events:
        body = orjson.loads(e.data)
        out.append((e.event, body.get("id") if e.event == "flag" else body.get("message", body.get("stage"))))
    return out


async def test_a_queued_job_runs_on_a_consumer_and_is_acknowledged(broker: Broker) -> None:
    script = Script()
    await broker.consumer(script)
    job_id = await broker.submit()
    events = await broker.events(job_id)
    assert [e.event for e in events[:2]] == ["job", "progress"] and events[-1].event == "done"
    assert script.runs == 1
    await until(lambda: broker.consumers[0].active == 0, limit_s=20)
    assert await broker.log.client.xlen(broker.queue.key) == 0
    assert not await broker.log.client.exists(broker.queue.input_key(job_id))
    assert (await broker.log.get_job(job_id)).status == "done"


async def test_a_dead_workers_job_is_finished_by_another_without_duplicates(broker: Broker) -> None:
    reference = Script()
    await broker.consumer(reference)
    expected = _shape(await broker.events(await broker.submit(b"%PDF-reference")))
    await broker.consumers.pop().close()

    script = Script(hold_at=7)
    first = await broker.consumer(script)
    job_id = await broker.submit()
    await asyncio.wait_for(script.reached.wait(), 20)
    before = await broker.log.events(job_id)
    first.abandon()  # as SIGKILL would: no ack, no release, the claim goes stale
    await broker.consumer(script)
    events = await broker.events(job_id)
    assert script.runs == 2
    assert _shape(events) == expected
    assert events[: len(before)] == before, "what the dead worker appended stays as it was"
    ids = [e.id for e in events]
    assert len(set(ids)) == len(ids)
    percents = [orjson.loads(e.data)["percent"] for e in events if e.event == "progress"]
    assert percents == sorted(percents), "the rerun's lower percents are raised to what was sent"


async def test_a_flag_only_the_rerun_finds_is_appended_late_not_lost(broker: Broker) -> None:
    script = Script(hold_at=7, extra_flag=True)
    first = await broker.consumer(script)
    job_id = await broker.submit()
    await asyncio.wait_for(script.reached.wait(), 20)
    first.abandon()
    await broker.consumer(script)
    events = await broker.events(job_id)
    flags = [orjson.loads(e.data)["id"] for e in events if e.event == "flag"]
    assert sorted(flags) == sorted(["f0", "f3", "f6", "f9", "late-one"])
    assert len(flags) == len(set(flags))


async def test_a_long_job_keeps_its_claim_fresh_and_is_never_stolen(broker: Broker) -> None:
    script = Script(hold_at=3)
    await broker.consumer(script, claim_idle_s=0.2)
    job_id = await broker.submit()
    await asyncio.wait_for(script.reached.wait(), 20)
    thief = await broker.consumer(Script(), claim_idle_s=0.2)
    # The job is held for several claim_idle_s while the thief polls for idle claims.
    loop = asyncio.get_running_loop()
    held_until = loop.time() + 1.0
    await until(lambda: loop.time() > held_until, limit_s=20)
    assert thief.active == 0
    script.gate.set()
    assert (await broker.events(job_id))[-1].event == "done"
    assert script.runs == 1


async def test_a_consumer_never_reclaims_a_job_it_is_still_running(broker: Broker) -> None:
    """Its claims went stale while Redis was paused: XAUTOCLAIM hands its own running entry back to it."""
    script = Script(hold_at=3)
    consumer = QueueConsumer(broker.queue, broker.log, script, max_active=2, claim_idle_s=0.2, block_s=0.05)
    consumer._refresh_s = 60  # as if every refresh had failed while Redis did not answer
    await consumer.start()
    broker.consumers.append(consumer)
    job_id = await broker.submit()
    await asyncio.wait_for(script.reached.wait(), 20)
    loop = asyncio.get_running_loop()
    held_until = loop.time() + 1.0  # five claim_idle_s: the take loop polls for idle claims meanwhile
    await until(lambda: loop.time() > held_until, limit_s=20)
    assert script.runs == 1 and consumer.active == 1
    script.gate.set()
    events = await broker.events(job_id)
    assert events[-1].event == "done" and script.runs == 1
    await until(lambda: consumer.active == 0, limit_s=20)


async def test_a_stalled_worker_whose_job_was_reclaimed_can_no_longer_write(broker: Broker) -> None:
    job_id = await broker.submit()
    stalled = await broker.queue.claim("stalled", min_idle_ms=0, block_ms=100)
    assert stalled is not None and stalled.job_id == job_id
    stalled_log = LeasedLog(broker.log, job_id, "lease-stalled")
    await stalled_log.take()
    reclaimed = await broker.queue.claim("other", min_idle_ms=0, block_ms=100)
    assert reclaimed == stalled
    assert await broker.queue.refresh("stalled", [stalled.entry_id]) == [stalled.entry_id]
    assert await broker.queue.refresh("other", [stalled.entry_id]) == []
    await LeasedLog(broker.log, job_id, "lease-other").take()
    with pytest.raises(LeaseLost):
        await stalled_log.append(job_id, "progress", b"{}")


async def test_a_poison_job_ends_with_an_error_after_max_attempts(broker: Broker) -> None:
    job_id = await broker.submit()
    for n in range(2):  # two workers took it, and died with it
        claimed = await broker.queue.claim(f"dead-{n}", min_idle_ms=0, block_ms=100)
        assert claimed is not None
        await broker.queue.start_attempt(job_id)
    script = Script()
    await broker.consumer(script, max_attempts=2, claim_idle_s=0.1)
    events = await broker.events(job_id)
    assert script.runs == 0
    assert events[-1].event == "error"
    body = orjson.loads(events[-1].data)
    assert body["code"] == "internal" and body["retryable"] is False and "2 times" in body["error"]
    assert (await broker.log.get_job(job_id)).status == "failed"
    await until(lambda: broker.consumers[0].active == 0, limit_s=20)
    assert await broker.log.client.xlen(broker.queue.key) == 0


async def test_on_close_running_jobs_go_back_to_the_queue_without_an_error(broker: Broker) -> None:
    script = Script(hold_at=4)
    first = await broker.consumer(script, claim_idle_s=30)
    job_id = await broker.submit()
    await asyncio.wait_for(script.reached.wait(), 20)
    await first.close(grace_s=0)
    # Released entries are idle at once: a consumer with the same claim_idle_s takes it now.
    await broker.consumer(script, claim_idle_s=30)
    events = await broker.events(job_id)
    assert [e.event for e in events].count("error") == 0 and events[-1].event == "done"
    assert script.runs == 2


async def test_the_same_bytes_are_answered_from_the_cache(broker: Broker) -> None:
    script = Script()
    await broker.consumer(script, cache=broker.cache)
    first = await broker.submit()
    report = orjson.loads((await broker.events(first))[-1].data)
    await until(lambda: broker.consumers[0].active == 0, limit_s=20)
    second = await broker.submit(cache=broker.cache)
    events = await broker.events(second)
    assert script.runs == 1
    assert [e.event for e in events] == ["job", "progress", "flag", "done"]
    cached = orjson.loads(events[-1].data)
    assert cached == {**report, "job_id": second, "doc_name": "d.pdf", "cached": True}
    assert orjson.loads(await broker.log.get_report(second) or b"") == cached
    assert (await broker.log.get_job(second)).status == "done"


async def test_a_job_cut_off_by_an_outage_starts_again_when_redis_returns(redis_prefix: str) -> None:
    with redis_server(persist=True) as server:
        broker = Broker(server.url(), redis_prefix)
        await broker.queue.start()
        try:
            script = Script(hold_at=5)
            await broker.consumer(script, claim_idle_s=30)
            job_id = await broker.submit()
            await asyncio.wait_for(script.reached.wait(), 20)
            server.stop()
            script.gate.set()  # its next write meets the outage; the job is dropped, not failed
            await until(lambda: broker.consumers[0].active == 0, limit_s=20)
            server.start()
            # Given back as soon as Redis answers, it is taken again long before claim_idle_s (30 s).
            events = await asyncio.wait_for(broker.events(job_id), 20)
            assert events[-1].event == "done" and script.runs == 2
            assert [e.event for e in events].count("error") == 0
            assert len({e.id for e in events}) == len(events)
            progress = [orjson.loads(e.data) for e in events if e.event == "progress"]
            steps = [p["message"] for p in progress if p["message"].startswith("step ")]
            assert steps == [f"step {n}" for n in range(12)]
        finally:
            await broker.close()


async def test_redis_restarted_empty_the_consumer_makes_its_group_again_and_goes_on(
    redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 15: a job dropped in the outage was given back before the group existed again (NOGROUP, forever)."""
    with redis_server() as server:
        broker = Broker(server.url(), redis_prefix)
        await broker.queue.start()
        try:
            script = Script(hold_at=5)
            consumer = await broker.consumer(script, claim_idle_s=30)
            lost = await broker.submit()
            await asyncio.wait_for(script.reached.wait(), 20)
            server.stop()
            script.gate.set()  # its next write meets the outage: the job is dropped for release
            await until(lambda: consumer.active == 0, limit_s=20)
            server.start()  # no persistence: the queue, its group and the job are gone
            await until(lambda: broker.queue.healthy and consumer.taking, limit_s=20)
            fresh = await asyncio.wait_for(broker.submit(b"%PDF-after-the-restart"), 20)
            assert (await broker.events(fresh))[-1].event == "done"
            with pytest.raises(NotFound):
                await broker.log.get_job(lost)
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no traceback loop"
        finally:
            await broker.close()


async def test_a_job_that_vanished_while_it_ran_is_dropped_quietly(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(hold_at=3)
    consumer = await broker.consumer(script)
    job_id = await broker.submit()
    await asyncio.wait_for(script.reached.wait(), 20)
    await broker.log.client.delete(broker.log.key("job", job_id), broker.log.key("ev", job_id))
    script.gate.set()
    await until(lambda: consumer.active == 0, limit_s=20)
    await until(lambda: broker.queue.backlog == 0 and not consumer._running, limit_s=20)
    assert await broker.log.client.xlen(broker.queue.key) == 0, "its queue entry is acknowledged"
    gc.collect()  # a task that ended with an exception nobody retrieved is reported when collected
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
