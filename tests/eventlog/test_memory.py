"""What the in-memory log adds to the contract: compact finished jobs and a cap on retained jobs (issue 15)."""

from __future__ import annotations

import gc
import tracemalloc

import orjson
import pytest

from compliance_sse.errors import JobExpired
from compliance_sse.eventlog import memory
from compliance_sse.eventlog.base import JobRecord, LogEvent
from compliance_sse.eventlog.memory import InMemoryEventLog
from compliance_sse.jobs import new_job_id


def _flag(n: int) -> bytes:
    return orjson.dumps(
        {
            "id": f"flag-{n}",
            "category": "aml",
            "title": "Payment routed through a third party",
            "severity": 4,
            "why_it_matters": "Third-party payments are a classic layering technique. " * 3,
            "recommendation": "Ask for the commercial reason and verify the payee. " * 2,
            "evidence": [{"page": 1, "quote": "the fee is paid to an affiliate in another country " * 2}],
        }
    )


async def _finished_job(log: InMemoryEventLog, flags: int = 12) -> tuple[str, list[bytes]]:
    job_id = new_job_id()
    await log.create_job(JobRecord(job_id=job_id, tenant="t", doc_name="d.pdf"))
    sent = [b'{"job_id":"x"}'] + [_flag(n) for n in range(flags)]
    await log.append(job_id, "job", sent[0])
    for data in sent[1:]:
        await log.append(job_id, "flag", data)
    report = orjson.dumps({"summary": "s" * 200, "flags": [orjson.loads(f) for f in sent[1:]]})
    await log.set_report(job_id, report)
    await log.append(job_id, "done", report)
    return job_id, [*sent, report]


async def _read(log: InMemoryEventLog, job_id: str, after: str | None = None) -> list[LogEvent]:
    return [e async for e in log.read(job_id, after)]


async def test_a_finished_job_is_stored_compactly_and_reads_back_the_same() -> None:
    log = InMemoryEventLog()
    job_id, sent = await _finished_job(log)
    events = await _read(log, job_id)
    assert [e.data for e in events] == sent and [e.id for e in events] == [str(n) for n in range(1, len(sent) + 1)]
    assert [e.id for e in await _read(log, job_id, "5")] == [str(n) for n in range(6, len(sent) + 1)]
    assert await log.get_report(job_id) == sent[-1]

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(100):
            await _finished_job(log)
        gc.collect()
        per_job = (tracemalloc.get_traced_memory()[0] - before) / 100
    finally:
        tracemalloc.stop()
    raw = sum(len(d) for d in sent)
    assert per_job < raw / 2, f"a finished job holds {per_job:.0f} B for {raw} B of events and report"


async def test_a_resume_of_a_finished_job_hands_over_a_short_first_batch_and_builds_only_what_it_sends() -> None:
    log = InMemoryEventLog()
    job_id, sent = await _finished_job(log, flags=1000)
    built = 0
    real_event = memory._event

    def counting(index: int, line: bytes) -> LogEvent:
        nonlocal built
        built += 1
        return real_event(index, line)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(memory, "_event", counting)
        assert not await log.ended_at(job_id, "3")
        assert await log.ended_at(job_id, str(len(sent)))
        assert await log.get_report(job_id) == sent[-1]
        assert built == 0, "checking the end or reading the report built event objects"
        batches = log.read_batches(job_id, "3")
        first = await anext(batches)
        assert [e.id for e in first] == [str(n) for n in range(4, 4 + len(first))] and len(first) <= 16
        assert built == len(first), "the first batch of a replay waited for the whole backlog to be built"
        rest = [e async for batch in batches for e in batch]
    assert [e.data for e in first + rest] == sent[3:]


async def test_past_max_retained_jobs_the_oldest_finished_go_first() -> None:
    log = InMemoryEventLog(max_retained_jobs=3)
    running = new_job_id()
    await log.create_job(JobRecord(job_id=running, tenant="t", doc_name="d.pdf"))
    finished = [(await _finished_job(log, flags=1))[0] for _ in range(5)]
    for job_id in finished[:2]:
        with pytest.raises(JobExpired):
            await log.get_job(job_id)
    for job_id in finished[2:]:
        assert (await _read(log, job_id))[-1].event == "done"
    assert (await log.get_job(running)).status == "queued", "a job that has not finished is never dropped"


def test_max_retained_jobs_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_retained_jobs"):
        InMemoryEventLog(max_retained_jobs=0)
