"""Many jobs at once against a model that takes 1 s: bounded in flight, fast overall, the loop never blocked.

"Never blocked" is checked twice: a probe task measures how late the loop wakes it (lag), and blockbuster
turns any blocking call made on the loop into an error while the jobs run.

The figures measured (wall time, peak in flight, worst loop lag) are printed; run with ``-s`` to see them.
Wall-clock time is reported, not asserted: CI machines are noisy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import groq
import pytest
from blockbuster import blockbuster_ctx
from pytest_aiohttp import AiohttpServer

from compliance_sse.analyzers.groq import GroqAnalyzer
from tests.fakegroq import FakeGroq, KeywordRules, Recorder, pages_of, start_fake_groq

JOBS = 50
BOUND = 8
ANSWER_S = 1.0
MAX_LAG_S = 0.5
PROBE_S = 0.01


@pytest.fixture
async def fake(aiohttp_server: AiohttpServer) -> AsyncIterator[FakeGroq]:
    fake = await start_fake_groq(aiohttp_server)
    fake.delay_s = ANSWER_S
    yield fake
    fake.release()


@pytest.fixture
async def client(fake: FakeGroq) -> AsyncIterator[groq.AsyncGroq]:
    client = groq.AsyncGroq(api_key="test-key", base_url=fake.base_url, max_retries=0, timeout=30.0)
    yield client
    await client.close()


class LagProbe:
    """Measures how late the event loop wakes a task that asked to sleep ``PROBE_S``."""

    def __init__(self) -> None:
        self.max_lag = 0.0
        self.samples = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            before = loop.time()
            await asyncio.sleep(PROBE_S)  # the probe itself, not synchronisation
            self.max_lag = max(self.max_lag, loop.time() - before - PROBE_S)
            self.samples += 1

    def stop(self) -> None:
        self._stop.set()


def _document(i: int) -> tuple[str, ...]:
    return (
        f"Memo {i}. The supplier asks that invoice {i} be settled in cash at the port office.",
        f"Goods for order {i} will be routed through Sevastopol, Crimea before delivery.",
    )


async def test_fifty_jobs_share_the_bound_and_the_loop_stays_free(fake: FakeGroq, client: groq.AsyncGroq) -> None:
    semaphore = asyncio.Semaphore(BOUND)  # one per app, shared by every job
    analyzer = GroqAnalyzer(
        client, model="llama-3.3-70b-versatile", rules=KeywordRules(), concurrency=semaphore, request_timeout_s=30
    )
    probe = LagProbe()
    probe_task = asyncio.create_task(probe.run())
    started = time.perf_counter()
    with blockbuster_ctx():  # any blocking call on the loop (file, socket, sleep) raises
        results = await asyncio.gather(
            *(analyzer.analyze(pages_of(*_document(i)), Recorder(2).ctx(f"doc{i}.pdf")) for i in range(JOBS))
        )
    wall = time.perf_counter() - started
    probe.stop()
    await probe_task

    print(
        f"\n{JOBS} jobs, model answering in {ANSWER_S:.1f} s, bound {BOUND}: wall {wall:.2f} s, "
        f"peak in flight {fake.peak}, requests {fake.requests}, "
        f"max loop lag {probe.max_lag * 1000:.1f} ms over {probe.samples} samples"
    )
    assert fake.requests == JOBS
    assert fake.peak == BOUND
    assert probe.max_lag < MAX_LAG_S
    assert probe.samples > 0
    for i, result in enumerate(results):
        assert {f.category for f in result.findings} == {"aml", "sanctions"}
        assert all(str(i) in ev.quote for f in result.findings for ev in f.evidence)  # no cross-talk between jobs
        assert result.extra["requests"] == 1


async def test_chunks_of_one_document_run_concurrently_under_the_bound(fake: FakeGroq, client: groq.AsyncGroq) -> None:
    fake.delay_s = 0.2
    analyzer = GroqAnalyzer(client, model="m", rules=KeywordRules(), concurrency=4, chunk_tokens=60)
    pages = [f"Page {n}: payment of invoice {n} is to be made in cash. " * 4 for n in range(1, 13)]  # ~57 tokens
    rec = Recorder(len(pages))
    started = time.perf_counter()
    result = await analyzer.analyze(pages_of(*pages), rec.ctx())
    wall = time.perf_counter() - started
    print(f"\n12 chunks of one document, answer 0.2 s, bound 4: wall {wall:.2f} s, peak in flight {fake.peak}")
    assert result.extra["chunks"] == 12
    assert fake.peak == 4
    done = [p[0] for p in rec.progress]
    assert done == sorted(done) and done[-1] == 12
