"""The event-log contract, run against every implementation."""

from __future__ import annotations

import asyncio

import pytest

from compliance_sse.errors import BadRequest, JobExpired, NotFound
from compliance_sse.eventlog.base import EventLog, JobRecord, LogEvent
from compliance_sse.jobs import new_job_id


async def _job(event_log: EventLog, tenant: str = "t") -> str:
    job_id = new_job_id()
    await event_log.create_job(JobRecord(job_id=job_id, tenant=tenant, doc_name="d.pdf"))
    return job_id


async def _drain(event_log: EventLog, job_id: str, after: str | None = None) -> list[LogEvent]:
    return [e async for e in event_log.read(job_id, after)]


async def test_ids_increase_and_replay_after_any_id(event_log: EventLog) -> None:
    job_id = await _job(event_log)
    ids = [await event_log.append(job_id, "progress", b'{"n":%d}' % i) for i in range(5)]
    ids.append(await event_log.append(job_id, "done", b"{}"))
    assert len(set(ids)) == len(ids)
    events = await _drain(event_log, job_id)
    assert [e.id for e in events] == ids
    for i, last in enumerate(ids):
        assert [e.id for e in await _drain(event_log, job_id, last)] == ids[i + 1 :]


async def test_live_readers_get_events_appended_later(event_log: EventLog) -> None:
    job_id = await _job(event_log)
    await event_log.append(job_id, "job", b"{}")
    readers = [asyncio.create_task(_drain(event_log, job_id)) for _ in range(3)]
    await asyncio.sleep(0)
    for i in range(3):
        await event_log.append(job_id, "progress", b'{"i":%d}' % i)
    await event_log.append(job_id, "done", b"{}")
    results = await asyncio.wait_for(asyncio.gather(*readers), 10)
    assert all([e.event for e in r] == ["job", "progress", "progress", "progress", "done"] for r in results)


async def test_nothing_is_appended_after_the_final_event(event_log: EventLog) -> None:
    job_id = await _job(event_log)
    await event_log.append(job_id, "error", b"{}")
    with pytest.raises(RuntimeError):
        await event_log.append(job_id, "progress", b"{}")


async def test_unknown_job_and_bad_id(event_log: EventLog) -> None:
    with pytest.raises(NotFound):
        event_log.read("nope")
    with pytest.raises(NotFound):
        await event_log.get_job("nope")
    job_id = await _job(event_log)
    with pytest.raises(BadRequest) as info:
        event_log.read(job_id, "garbage\x00")
    assert info.value.code == "invalid_last_event_id"


async def test_records_reports_and_listing(event_log: EventLog, clock: list[float]) -> None:
    ids = []
    for _ in range(5):
        ids.append(await _job(event_log, "a"))
        clock[0] += 1
    other = await _job(event_log, "b")
    await event_log.update_job(ids[0], status="running", stage="extract", percent=12.5)
    record = await event_log.get_job(ids[0])
    assert (record.status, record.stage, record.percent) == ("running", "extract", 12.5)
    assert record.updated > record.created
    page, cursor = await event_log.list_jobs("a", limit=3, cursor=None)
    assert [r.job_id for r in page] == ids[::-1][:3]
    page2, cursor2 = await event_log.list_jobs("a", limit=3, cursor=cursor)
    assert [r.job_id for r in page2] == ids[::-1][3:] and cursor2 is None
    assert [r.job_id for r in (await event_log.list_jobs("b", limit=10, cursor=None))[0]] == [other]
    assert await event_log.get_report(ids[0]) is None
    await event_log.set_report(ids[0], b'{"r":1}')
    assert await event_log.get_report(ids[0]) == b'{"r":1}'


async def test_finished_jobs_expire_after_the_ttl(event_log: EventLog, clock: list[float]) -> None:
    job_id = await _job(event_log)
    running = await _job(event_log)
    await event_log.append(job_id, "done", b"{}")
    clock[0] += 61
    with pytest.raises(JobExpired):
        await event_log.get_job(job_id)
    with pytest.raises(JobExpired):
        event_log.read(job_id)
    assert (await event_log.get_job(running)).status == "queued", "a running job never expires"
