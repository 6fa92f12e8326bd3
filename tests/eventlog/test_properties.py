"""Property (issue 15): any interleaving of appends, disconnects and resumes gives every event once, in order."""

from __future__ import annotations

import asyncio
import uuid

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance_sse.eventlog.base import EventLog, JobRecord
from compliance_sse.eventlog.memory import InMemoryEventLog
from compliance_sse.eventlog.redis import RedisEventLog
from compliance_sse.jobs import new_job_id
from tests.redis_server import delete_prefix

# A script: for each event to append, how many events the reader takes before it disconnects
# and resumes with the last id it saw (0: it keeps reading).
SCRIPTS = st.lists(st.tuples(st.sampled_from(["progress", "flag"]), st.integers(0, 3)), min_size=0, max_size=25)


async def _run(log: EventLog, script: list[tuple[str, int]], final: str) -> None:
    job_id = new_job_id()
    await log.create_job(JobRecord(job_id=job_id, tenant="t", doc_name="d.pdf"))
    await log.get_job(job_id)
    appended: list[str] = []
    received: list[str] = []
    drops = [drop for _name, drop in script]

    async def reader() -> None:
        last: str | None = None
        while True:
            budget = drops.pop(0) if drops else 0
            taken = 0
            async for entry in log.read(job_id, last):
                received.append(entry.id)
                last = entry.id
                if entry.final:
                    return
                taken += 1
                if budget and taken >= budget:
                    break  # a disconnect; the next loop resumes after ``last``

    task = asyncio.create_task(reader())
    for n, (name, _drop) in enumerate(script):
        appended.append(await log.append(job_id, name, orjson.dumps({"n": n})))
        await asyncio.sleep(0)  # let the reader interleave
    appended.append(await log.append(job_id, final, b"{}"))
    await asyncio.wait_for(task, 20)
    assert received == appended, "every event exactly once, in order"


@settings(max_examples=60, deadline=None)
@given(script=SCRIPTS, final=st.sampled_from(["done", "error"]))
def test_memory_log_delivers_every_event_once_in_order(script: list[tuple[str, int]], final: str) -> None:
    async def main() -> None:
        log = InMemoryEventLog()
        await _run(log, script, final)
        await log.close()

    asyncio.run(main())


@settings(max_examples=30, deadline=None)
@given(script=SCRIPTS, final=st.sampled_from(["done", "error"]))
def test_redis_log_delivers_every_event_once_in_order(
    redis_url: str, script: list[tuple[str, int]], final: str
) -> None:
    prefix = f"csse-test:{uuid.uuid4().hex[:12]}"

    async def main() -> None:
        log = RedisEventLog.from_url(redis_url, prefix=prefix)
        try:
            await _run(log, script, final)
        finally:
            await log.close()

    try:
        asyncio.run(main())
    finally:
        delete_prefix(redis_url, prefix)
