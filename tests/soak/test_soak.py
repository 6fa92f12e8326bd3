"""The soak: steady load on a real ``serve`` process for ``CSSE_SOAK_S`` seconds, with random faults.

Workers upload small PDFs and follow each job's stream to its final event; at random they drop
the stream and resume with ``Last-Event-ID`` (as often as three times a job), or read it slowly.
Meanwhile the Groq stand-in answers some requests with errors (500, 429, 503, a wrong shape,
a slow answer), and the test's own ``redis-server`` is restarted (``SHUTDOWN SAVE``, then
started on its data). At the end each job's events as its reader assembled them are compared with
a full replay of the job: no event may be lost or repeated. The figures (jobs done, errors by
code, lost and repeated events, descriptors, tasks, Redis connections and RSS at start and end)
are printed; ``make soak`` runs it for ``SOAK_S`` seconds (600 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio
from pytest_aiohttp import AiohttpServer

from compliance_sse.sse.parser import EventParser
from tests.conftest import form
from tests.fakegroq import FakeGroq, start_fake_groq
from tests.pdfs import text_pdf
from tests.redis_server import RedisServer, redis_server

from . import soak_seconds
from .service import Service
from .test_leaks import FDS_TOLERANCE, REDIS_CONNS_CAP, RSS_TOLERANCE_MB, TASKS_TOLERANCE, quiet, service_env

SOAK_S = soak_seconds()
pytestmark = [pytest.mark.soak, pytest.mark.timeout(SOAK_S + 600)]
WORKERS = 6
GROQ_FAULTS = ("server_error", "rate_limit", "unavailable", "invalid_then_valid", "slow")
SENTENCES = (
    "Payment in cash through an offshore account.",
    "The supplier operates in Crimea.",
    "Investors are promised a guaranteed return of 20 percent.",
    "A facilitation payment speeds up customs.",
    "The parties meet every quarter to review the plan.",
    "Deliveries are due within thirty days.",
)
RSS_EVERY_S = 60.0
FOLLOW_LIMIT_S = 180.0
"""The longest one job may take to follow to its end, faults included."""


@dataclass
class Tally:
    jobs: Counter[str] = field(default_factory=Counter)  # final event: done, or error:<code>
    refused: Counter[str] = field(default_factory=Counter)  # uploads and resumes answered with an error code
    stream_errors: Counter[str] = field(default_factory=Counter)  # retryable error events that end a stream only
    faults: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    repeated: int = 0
    samples: list[str] = field(default_factory=list)  # the first jobs whose events differ from their replay
    rss: list[str] = field(default_factory=list)  # the service's RSS each minute, with the jobs ended by then

    def lines(self) -> list[str]:
        done = self.jobs["done"]
        errors = {k.removeprefix("error:"): v for k, v in self.jobs.items() if k != "done"}
        return [
            f"jobs done {done}, jobs ended in error by code {errors or '{}'}",
            f"refused by code {dict(self.refused)}, streams ended for a resume by code {dict(self.stream_errors)}",
            f"faults {dict(self.faults)}",
            f"lost events {self.lost}, repeated events {self.repeated}",
            *self.samples,
        ]


async def _code(resp: aiohttp.ClientResponse) -> str:
    with contextlib.suppress(ValueError, aiohttp.ClientError):
        return str((await resp.json(content_type=None)).get("code"))
    return f"http_{resp.status}"


async def follow(
    session: aiohttp.ClientSession, base: str, events_url: str, rng: random.Random, tally: Tally
) -> list[str] | None:
    """The ids of a job's events as a reader gets them, with drops, resumes and slow reads; None if the job went."""
    ids: list[str] = []
    drops = rng.choice((0, 0, 1, 2, 3))
    while True:
        headers = {"Last-Event-ID": ids[-1]} if ids else {}
        slow = rng.random() < 0.1
        tally.faults["slow readers"] += slow
        async with session.get(base + events_url, headers=headers) as resp:
            if resp.status != 200:
                tally.refused[f"resume {await _code(resp)}"] += 1
                if resp.status in (404, 410):
                    return None
                await asyncio.sleep(0.5)  # a 503 while Redis restarts: try again, as a client does
                continue
            ending = await read(resp, ids, rng.randint(1, 6) if drops else None, slow, tally)
        if ending in ("done", "error"):
            return ids
        if ending == "dropped":
            drops -= 1
            tally.faults["client drops"] += 1


async def read(resp: aiohttp.ClientResponse, ids: list[str], drop_after: int | None, slow: bool, tally: Tally) -> str:
    """Read events into ``ids``: the final event's name, ``dropped`` after ``drop_after`` events, or ``ended``."""
    parser, got, prev = EventParser(), 0, None
    async for chunk in resp.content.iter_chunked(64 if slow else 65536):
        if slow:
            await asyncio.sleep(0.005)
        for event in parser.feed(chunk):
            # The parser keeps the last id for frames without one (the spec's last event ID), as a browser does.
            has_id, prev = event.id is not None and event.id != prev, event.id
            if event.event == "heartbeat":
                continue
            if not has_id:
                if event.event == "error":  # an error without an id ends the stream, not the job: resume
                    tally.stream_errors[str(orjson.loads(event.data).get("code"))] += 1
                    continue
                tally.repeated += 1  # the same id twice in one stream
            ids.append(str(event.id))
            got += 1
            if event.event in ("done", "error"):
                code = orjson.loads(event.data).get("code")
                tally.jobs["done" if event.event == "done" else f"error:{code}"] += 1
                return event.event
            if drop_after is not None and got >= drop_after:
                return "dropped"
    return "ended"


async def replay(session: aiohttp.ClientSession, base: str, events_url: str) -> list[str]:
    """Every id of a finished job, from the start (tried again while Redis restarts: a 503, or a stream cut
    short by a retryable ``error`` without an id)."""
    for _ in range(60):
        async with session.get(base + events_url) as resp:
            assert resp.status in (200, 503), await resp.text()
            parser = EventParser()
            events = parser.feed(await resp.read()) + parser.flush()
        ids = list(dict.fromkeys(e.id for e in events if e.id is not None))  # ids stick to id-less frames
        # The final event has an id of its own; a stream error after the last id only repeats that id.
        if len(events) > 1 and events[-1].event in ("done", "error") and events[-1].id not in (None, events[-2].id):
            return ids
        await asyncio.sleep(0.5)
    pytest.fail(f"{events_url} did not replay to its final event within 30 s")


def compare(got: list[str], full: list[str], tally: Tally) -> None:
    repeated = len(got) - len(set(got)) + len(set(got) - set(full))
    lost = len(set(full) - set(got))
    tally.repeated += repeated
    tally.lost += lost
    if (repeated or lost) and len(tally.samples) < 5:
        tally.samples.append(f"got {got}\nreplay {full}")


async def worker(n: int, service: Service, deadline: float, tally: Tally) -> None:
    rng = random.Random(n)
    base = f"http://127.0.0.1:{service.port}"
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            pdf = text_pdf(*rng.sample(SENTENCES, rng.randint(1, 3)), f"Document {n}-{rng.random()}.")
            try:
                async with session.post(base + "/jobs", data=form(pdf)) as resp:
                    if resp.status != 202:
                        tally.refused[f"upload {await _code(resp)}"] += 1
                        await asyncio.sleep(0.5)
                        continue
                    job: dict[str, Any] = await resp.json()
                async with asyncio.timeout(FOLLOW_LIMIT_S):
                    got = await follow(session, base, job["events_url"], rng, tally)
                    if got is None:
                        tally.jobs["gone"] += 1
                        continue
                    compare(got, await replay(session, base, job["events_url"]), tally)
            except aiohttp.ClientConnectionError as exc:
                tally.refused[f"connection {type(exc).__name__}"] += 1


async def groq_faults(fake: FakeGroq, deadline: float, tally: Tally) -> None:
    rng = random.Random("groq")
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        mode = rng.choice(GROQ_FAULTS)
        fake.script.append(mode)
        tally.faults[f"groq {mode}"] += 1


async def restart_redis(server: RedisServer, deadline: float, every_s: float, tally: Tally) -> None:
    """``SHUTDOWN SAVE`` (nothing written after the save is lost), then start again on the saved data."""
    loop = asyncio.get_running_loop()
    while loop.time() + every_s < deadline:
        await asyncio.sleep(every_s)
        # The save takes longer as the data grows (an hour's soak: over 5 s, redis-py's default wait).
        client = redis.asyncio.Redis.from_url(server.url(0), socket_timeout=120)
        with contextlib.suppress(redis.ConnectionError):
            await client.shutdown(save=True)
        await client.aclose()
        await asyncio.to_thread(server.stop)  # the process has exited: this reaps it
        await asyncio.to_thread(server.start)
        tally.faults["redis restarts"] += 1


async def sample_rss(service: Service, deadline: float, tally: Tally) -> None:
    """The service's RSS every minute, to tell a leak (growth per job) from memory that levels off."""
    loop = asyncio.get_running_loop()
    while loop.time() + RSS_EVERY_S < deadline:
        await asyncio.sleep(RSS_EVERY_S)
        tally.rss.append(f"{service.rss_mb():.1f} MB after {sum(tally.jobs.values()):,} jobs")
        print(f"RSS {tally.rss[-1]}", flush=True)  # as it goes: a long run that fails still shows its curve


async def test_soak_steady_load_with_faults_loses_and_repeats_no_event_and_leaks_nothing(
    tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    fake = await start_fake_groq(aiohttp_server)
    tally = Tally()
    with redis_server(persist=True) as server:
        service = Service(tmp_path, redis_url=server.url(0), **service_env(fake))
        await service.start()
        try:
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(worker(n, service, loop.time() + 5, Tally()) for n in range(WORKERS)))  # warm-up
            start = await quiet(service, active_jobs=0)
            deadline = loop.time() + SOAK_S
            await asyncio.gather(
                *(worker(n, service, deadline, tally) for n in range(WORKERS)),
                groq_faults(fake, deadline, tally),
                restart_redis(server, deadline, max(15.0, SOAK_S / 6), tally),
                sample_rss(service, deadline, tally),
            )
            await quiet(service, active_jobs=0)
            end = await service.settled(start, fds=FDS_TOLERANCE, tasks=TASKS_TOLERANCE, conns=REDIS_CONNS_CAP)
        finally:
            fake.release()
            code = await service.stop()
    print("\n".join(["", f"soak of {SOAK_S:g} s, {WORKERS} workers, Redis broker:", *tally.lines()]))
    print(f"start: {start.line()}\nend:   {end.line()}")
    print("RSS each minute: " + ", ".join(tally.rss or ["(run shorter than a minute)"]))
    assert code == 0
    assert tally.lost == 0 and tally.repeated == 0
    assert tally.jobs["done"] > 0 and tally.jobs["gone"] == 0
    assert end.rss_mb - start.rss_mb < RSS_TOLERANCE_MB
