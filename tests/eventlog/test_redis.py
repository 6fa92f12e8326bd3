"""What the Redis event log adds to the contract: stream ids, the two tails, fencing, outages."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from compliance_sse.errors import BadRequest, JobLost, NotFound
from compliance_sse.eventlog import redis_tail
from compliance_sse.eventlog.base import JobRecord, LogEvent
from compliance_sse.eventlog.redis import FIRST_REPLAY_BATCH, REPLAY_BATCH, LeaseLost, RedisEventLog, Tail
from compliance_sse.eventlog.redis_connection import connect
from compliance_sse.eventlog.redis_errors import RedisUnavailable
from compliance_sse.eventlog.redis_leased import LeasedLog
from compliance_sse.jobs import new_job_id
from tests.polling import until
from tests.redis_server import blocked_in_xread, redis_server

MakeLog = Callable[..., RedisEventLog]


@pytest.fixture
async def make_log(redis_url: str, redis_prefix: str) -> AsyncIterator[MakeLog]:
    logs: list[RedisEventLog] = []

    def make(url: str = redis_url, **kw: Any) -> RedisEventLog:
        name = kw.pop("client_name", None)
        pool = kw.pop("max_connections", 4 if kw.get("tail") != "per_listener" else None)
        client = connect(url, client_name=name, max_connections=pool)
        log = RedisEventLog(client, owns_client=True, prefix=redis_prefix, **kw)
        logs.append(log)
        return log

    yield make
    for log in logs:
        await log.close()


async def _job(log: RedisEventLog) -> str:
    job_id = new_job_id()
    await log.create_job(JobRecord(job_id=job_id, tenant="t", doc_name="d.pdf"))
    return job_id


async def _drain(log: RedisEventLog, job_id: str, after: str | None = None) -> list[LogEvent]:
    async with asyncio.timeout(20):
        return [e async for e in log.read(job_id, after)]


async def _client_names(log: RedisEventLog, name: str) -> int:
    clients = await log.client.client_list()
    return sum(1 for c in clients if c.get("name") == name)


def _sid(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


async def test_ids_are_stream_ids_and_other_replicas_read_them(make_log: MakeLog) -> None:
    a, b = make_log(), make_log()
    job_id = await _job(a)
    ids = [await a.append(job_id, "progress", b'{"i":%d}' % i) for i in range(3)]
    ids.append(await a.append(job_id, "done", b"{}"))
    assert all(len(i.split("-")) == 2 for i in ids)
    assert [_sid(i) for i in ids] == sorted({_sid(i) for i in ids})
    await b.get_job(job_id)  # what every view does first (tenant check); read() relies on it
    assert [e.id for e in await _drain(b, job_id, ids[1])] == ids[2:]
    assert await _drain(b, job_id, ids[-1]) == []


@pytest.mark.parametrize("bad", ["3", "1-2-3", "abc", "-1-0", "1" * 21 + "-0", "1-0\n", "é-1"])
async def test_last_event_id_must_look_like_a_stream_id(make_log: MakeLog, bad: str) -> None:
    log = make_log()
    job_id = await _job(log)
    with pytest.raises(BadRequest) as info:
        log.read(job_id, bad)
    assert info.value.code == "invalid_last_event_id"


async def test_read_checks_the_record_this_process_saw(make_log: MakeLog) -> None:
    a, b = make_log(), make_log()
    job_id = await _job(a)
    with pytest.raises(NotFound):
        b.read(job_id)  # b never looked the job up
    await b.get_job(job_id)
    b.read(job_id)


async def test_appends_after_the_end_and_from_a_lost_lease_are_refused(make_log: MakeLog) -> None:
    log = make_log()
    job_id = await _job(log)

    def worker(lease: str) -> LeasedLog:
        return LeasedLog(log, job_id, lease)  # a fresh view each time: Redis, not the view, must refuse

    assert await worker("worker-a").take() == (True, None, 0)
    await worker("worker-a").append(job_id, "progress", b"{}")
    await worker("worker-b").take()  # the job was reclaimed
    with pytest.raises(LeaseLost):
        await worker("worker-a").append(job_id, "progress", b"{}")
    with pytest.raises(LeaseLost):
        await worker("worker-a").update_job(job_id, stage="extract")
    with pytest.raises(LeaseLost):
        await worker("worker-a").set_report(job_id, b"{}")
    final = await worker("worker-b").append(job_id, "done", b"{}")
    with pytest.raises(RuntimeError):
        await worker("worker-b").append(job_id, "error", b"{}")
    assert await worker("worker-c").take() == (True, final, 2)
    ttl = await log.client.pttl(log.key("ev", job_id))
    assert 0 < ttl <= 60_000 * 60


@pytest.mark.parametrize("tail", ["shared", "per_listener"])
async def test_readers_joining_at_any_moment_get_exactly_the_rest(make_log: MakeLog, tail: Tail) -> None:
    """Readers start at random ids while the writer appends: each gets every later event once, in order."""
    writer, reader = make_log(), make_log(tail=tail)
    job_ids = [await _job(writer) for _ in range(3)]
    for job_id in job_ids:
        await reader.get_job(job_id)
    written: dict[str, list[str]] = {j: [] for j in job_ids}
    rng = random.Random(7)
    tasks: list[tuple[str, int, asyncio.Task[list[LogEvent]]]] = []
    for step in range(120):
        job_id = job_ids[step % 3]
        written[job_id].append(await writer.append(job_id, "progress", b'{"n":%d}' % step))
        if rng.random() < 0.3:
            start = rng.randrange(len(written[job_id]) + 1)
            after = written[job_id][start - 1] if start else None
            tasks.append((job_id, start, asyncio.create_task(_drain(reader, job_id, after))))
        if rng.random() < 0.2:
            await asyncio.sleep(0)
    for job_id in job_ids:
        written[job_id].append(await writer.append(job_id, "done", b"{}"))
    for job_id, start, task in tasks:
        assert [e.id for e in await task] == written[job_id][start:]


async def test_the_shared_tail_serves_every_listener_on_one_connection(make_log: MakeLog) -> None:
    name = f"csse-test-{uuid.uuid4().hex[:8]}"
    writer, reader = make_log(), make_log(tail="shared", client_name=name)
    job_ids = [await _job(writer) for _ in range(40)]
    for job_id in job_ids:
        await writer.append(job_id, "job", b"{}")
        await reader.get_job(job_id)
    tasks = [asyncio.create_task(_drain(reader, job_id)) for job_id in job_ids]
    await until(lambda: reader.tail_stats["waiters"] == 40, limit_s=10)
    assert reader.tail_stats["connections"] == 1
    assert await _client_names(reader, name) <= 5  # the tail's, and the command pool's (capped at 4)
    for job_id in job_ids:
        await writer.append(job_id, "done", b"{}")
    results = await asyncio.wait_for(asyncio.gather(*tasks), 20)
    assert all([e.event for e in r] == ["job", "done"] for r in results)
    assert reader.tail_stats["waiters"] == 0


async def test_the_shared_tail_opens_one_connection_per_streams_per_read(make_log: MakeLog) -> None:
    writer, reader = make_log(), make_log(tail="shared", streams_per_read=4)
    job_ids = [await _job(writer) for _ in range(10)]
    for job_id in job_ids:
        await reader.get_job(job_id)
    tasks = [asyncio.create_task(_drain(reader, job_id)) for job_id in job_ids]
    await until(lambda: reader.tail_stats["waiters"] == 10, limit_s=10)
    await until(lambda: reader.tail_stats["connections"] == 3, limit_s=10)
    for job_id in job_ids:
        await writer.append(job_id, "done", b"{}")
    assert all([e.event for e in r] == ["done"] for r in await asyncio.wait_for(asyncio.gather(*tasks), 20))
    await until(lambda: reader.tail_stats["connections"] == 0, limit_s=10)  # idle shards let go


async def test_per_listener_tail_holds_a_connection_per_listener(make_log: MakeLog) -> None:
    name = f"csse-test-{uuid.uuid4().hex[:8]}"
    writer, reader = make_log(), make_log(tail="per_listener", client_name=name)
    job_ids = [await _job(writer) for _ in range(20)]
    for job_id in job_ids:
        await reader.get_job(job_id)
    tasks = [asyncio.create_task(_drain(reader, job_id)) for job_id in job_ids]
    async with asyncio.timeout(10):
        while await _client_names(reader, name) < 20:  # noqa: ASYNC110 - the count is Redis's
            await asyncio.sleep(0.01)
    for job_id in job_ids:
        await writer.append(job_id, "done", b"{}")
    await asyncio.wait_for(asyncio.gather(*tasks), 20)


async def test_a_reader_too_slow_for_its_backlog_catches_up_from_the_stream(make_log: MakeLog) -> None:
    writer, reader = make_log(), make_log(tail="shared")
    job_id = await _job(writer)
    await writer.append(job_id, "job", b"{}")
    await reader.get_job(job_id)
    events = reader.read(job_id)
    first = await anext(events)
    assert first.event == "job"
    # The reader waits live now; append more than its backlog holds without consuming any.
    consumer = asyncio.ensure_future(anext(events))
    await until(lambda: reader.tail_stats["waiters"] == 1, limit_s=10)
    ids = [await writer.append(job_id, "progress", b'{"n":%d}' % i) for i in range(1500)]
    ids.append(await writer.append(job_id, "done", b"{}"))
    got = [await consumer]
    got += [e async for e in events]
    assert [e.id for e in got] == ids


async def test_a_reader_joining_a_stream_the_tail_is_ahead_on_reads_the_gap(
    make_log: MakeLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = make_log(), make_log(tail="shared")
    job_id = await _job(writer)
    await reader.get_job(job_id)
    ids = [await writer.append(job_id, "job", b"{}")]
    first = reader.read(job_id)
    assert (await anext(first)).id == ids[0]
    ahead = asyncio.ensure_future(anext(first))
    await until(lambda: reader.tail_stats["waiters"] == 1, limit_s=10)
    replay = reader._replay_batch

    async def replay_then_append(job: str, last: str, count: int) -> Any:
        result = await replay(job, last, count)
        # Between this reader's replay and its subscription, the tail delivers a new event.
        ids.append(await writer.append(job_id, "progress", b"{}"))
        await asyncio.wait_for(ahead, 10)
        return result

    monkeypatch.setattr(reader, "_replay_batch", replay_then_append)
    second = reader.read(job_id)
    got = [await anext(second)]
    monkeypatch.undo()
    ids.append(await writer.append(job_id, "done", b"{}"))
    got += [e async for e in second]
    assert [e.id for e in got] == ids
    assert [e.id async for e in first] == ids[2:]


@pytest.mark.parametrize("tail", ["shared", "per_listener"])
async def test_live_readers_resume_when_redis_comes_back_within_the_grace(make_log: MakeLog, tail: Tail) -> None:
    with redis_server(persist=True) as server:
        writer, reader = make_log(server.url()), make_log(server.url(), tail=tail, grace_s=30)
        job_id = await _job(writer)
        first = await writer.append(job_id, "job", b"{}")
        await reader.get_job(job_id)
        events = reader.read(job_id)
        assert (await anext(events)).id == first
        pending = asyncio.ensure_future(anext(events))
        server.stop()
        assert not pending.done()
        server.start()
        second = await writer.append(job_id, "done", b"{}")
        assert (await asyncio.wait_for(pending, 20)).id == second
        assert [e async for e in events] == []


async def test_a_reader_joining_while_the_idle_tail_lets_its_connection_go_is_served(
    make_log: MakeLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last reader leaves, the tail closes its connection, and a new reader joins during that close."""
    writer, reader = make_log(), make_log(tail="shared")
    closing, closed = asyncio.Event(), asyncio.Event()
    drop = redis_tail._TailShard._drop_connection

    async def slow_drop(shard: Any) -> None:
        if shard._conn is not None and not closed.is_set():
            closing.set()
            await closed.wait()
        await drop(shard)

    monkeypatch.setattr(redis_tail._TailShard, "_drop_connection", slow_drop)
    first, second = await _job(writer), await _job(writer)
    for job_id in (first, second):
        await reader.get_job(job_id)
    live = asyncio.create_task(_drain(reader, first))
    await until(lambda: reader.tail_stats["waiters"] == 1, limit_s=10)
    await writer.append(first, "done", b"{}")
    assert [e.event for e in await live] == ["done"]
    await asyncio.wait_for(closing.wait(), 10)  # no reader left: the tail is letting its connection go
    joining = asyncio.create_task(_drain(reader, second))
    await until(lambda: reader.tail_stats["waiters"] == 1, limit_s=10)
    closed.set()
    await writer.append(second, "done", b"{}")
    assert [e.event for e in await joining] == ["done"], "the tail follows the stream that joined"


@pytest.mark.parametrize("tail", ["shared", "per_listener"])
async def test_live_readers_get_broker_unavailable_after_the_grace(make_log: MakeLog, tail: Tail) -> None:
    with redis_server() as server:
        writer, reader = make_log(server.url()), make_log(server.url(), tail=tail, grace_s=0.2)
        job_id = await _job(writer)
        await writer.append(job_id, "job", b"{}")
        await reader.get_job(job_id)
        events = reader.read(job_id)
        await anext(events)
        pending = asyncio.ensure_future(anext(events))
        server.stop()
        with pytest.raises(RedisUnavailable):
            await asyncio.wait_for(pending, 20)
        assert not await reader.ping()
        with pytest.raises(RedisUnavailable):
            await reader.get_job(job_id)
        with pytest.raises(RedisUnavailable):
            await writer.append(job_id, "progress", orjson.dumps({}))


@pytest.mark.parametrize("tail", ["shared", "per_listener"])
async def test_a_live_reader_of_a_job_redis_restarted_without_ends_with_job_lost(make_log: MakeLog, tail: Tail) -> None:
    """Issue 15: it got heartbeats until CSSE_STREAM_MAX_S instead."""
    with redis_server() as server:
        # The shared tail rechecks its readers' jobs when Redis answers again; a per-listener
        # reader finds out at its next periodic check.
        check_s = 60 if tail == "shared" else 0.5
        writer = make_log(server.url())
        reader = make_log(server.url(), tail=tail, grace_s=30, lost_check_s=check_s, client_name="lost-reader")
        job_id = await _job(writer)
        await writer.append(job_id, "job", b"{}")
        await reader.get_job(job_id)
        events = reader.read(job_id)
        await anext(events)
        pending = asyncio.ensure_future(anext(events))
        await blocked_in_xread(writer.client, "lost-reader")
        server.stop()
        server.start()  # no persistence: the job is gone
        with pytest.raises(JobLost) as lost:
            await asyncio.wait_for(pending, 20)
        assert lost.value.retryable and lost.value.code == "job_lost"


@pytest.mark.parametrize("tail", ["shared", "per_listener"])
async def test_a_live_reader_notices_its_job_vanished_without_an_outage(make_log: MakeLog, tail: Tail) -> None:
    writer, reader = make_log(), make_log(tail=tail, lost_check_s=0.05, block_s=0.05)
    job_id = await _job(writer)
    await writer.append(job_id, "job", b"{}")
    await reader.get_job(job_id)
    events = reader.read(job_id)
    await anext(events)
    pending = asyncio.ensure_future(anext(events))
    await writer.client.delete(writer.key("job", job_id), writer.key("ev", job_id))
    with pytest.raises(JobLost):
        await asyncio.wait_for(pending, 20)


@pytest.mark.parametrize("tail", ["shared", "per_listener"])
async def test_a_resume_reads_the_backlog_in_lists_a_short_first_one_then_long_ones(
    make_log: MakeLog, tail: Tail
) -> None:
    log = make_log(tail=tail)
    job_id = await _job(log)
    ids = [await log.append(job_id, "progress", b"{}") for _ in range(1 + FIRST_REPLAY_BATCH + REPLAY_BATCH + 5)]
    async with asyncio.timeout(20):
        batches = log.read_batches(job_id, ids[0])
        got = [await anext(batches) for _ in range(3)]
        assert [len(b) for b in got] == [FIRST_REPLAY_BATCH, REPLAY_BATCH, 5]
        assert [e.id for b in got for e in b] == ids[1:]
        ids.append(await log.append(job_id, "progress", b"{}"))
        ids.append(await log.append(job_id, "done", b"{}"))
        live = [e.id for b in [b async for b in batches] for e in b]
    assert live == ids[-2:]


async def test_a_batch_ends_at_the_final_event(make_log: MakeLog) -> None:
    log = make_log()
    job_id = await _job(log)
    first = await log.append(job_id, "job", b"{}")
    ids = [await log.append(job_id, "progress", b"{}"), await log.append(job_id, "done", b"{}")]
    async with asyncio.timeout(20):
        batches = [b async for b in log.read_batches(job_id, first)]
    assert [[e.id for e in b] for b in batches] == [ids]
    assert batches[-1][-1].final
