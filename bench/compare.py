"""The service side by side with what a user would pick instead: the seed's design, aiohttp-sse, sse-starlette.

    python bench/compare.py [--parts uploads,thirty,idle,serializer,onestream,replay,extract,growth] [--repeats 3]
    python bench/compare.py --render-only

Every part runs its configurations in the same run, ``--repeats`` times, and reports the median with the
spread (min-max) and the ratio to the baseline measured in that run. Each part's results replace that part's
in bench/results/compare.json (committed; the other parts keep theirs, with the date and load of their run);
``--write-docs`` (what ``make bench`` passes) rewrites that part's block in docs/BENCHMARKS.md and its plot in
docs/img/, and ``--render-only`` re-renders every block and plot from the json without running anything. Only
loopback is used; the open-file limit is raised for 10,000 idle streams.

Parts:

- ``uploads``: N concurrent 1-page uploads (``POST /analyze_sse``) against a 2 s Groq stand-in, the service
  (thread isolation, groq analyzer) vs the seed's design (bench/seed_app.py); /healthz p50/p99 from one
  connection meanwhile; time from a complete upload to the first event, one upload at a time (from an
  aiohttp client, and from a bare socket that writes the whole request at once) and during the burst. The
  seed serves one request at a time, so it is measured on ``--seed-uploads`` and its time for N is that
  per-upload time times N (``--seed-uploads 200`` measures it whole: ~7 minutes).
- ``idle``: ``--idle`` streams held open by one server process, heartbeat ``--heartbeat`` s: RSS per stream,
  heartbeat lateness (gap between two heartbeats of a stream minus the interval, seen by a separate
  client process), CPU while idle.
- ``serializer``: events/s formatting the same 1,000-event sequence, in process.
- ``onestream``: events/s one stream delivers to a reader that only counts bytes, end to end over loopback.
- ``replay``: time from a request with ``Last-Event-ID`` (random, in a 1,000-event job) to its first event,
  memory and Redis (needs a Redis on 127.0.0.1:6379; db 9, a unique key prefix, deleted afterwards).
- ``extract``: pages/s of pypdf and pdfplumber over the corpus.
- ``growth``: time and peak RSS of one job vs its pages (rules analyzer), and of N concurrent 1-page jobs
  vs N (2 s model).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import secrets
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    IMG,
    PY,
    ROOT,
    corpus_dir,
    cpu_s,
    event_sequence,
    free_port,
    make_document,
    med,
    pct,
    raise_fd_limit,
    rss_kib,
    spawn,
    stop,
    wait_http,
)

from compliance_sse.sse.parser import EventParser

PARTS = ("uploads", "thirty", "idle", "serializer", "onestream", "replay", "extract", "growth")
MARKERS = {"service": "event: heartbeat", "aiohttp-sse": ": ping", "sse-starlette": ": ping"}
REDIS_URL = "redis://127.0.0.1:6379/9"
RESULTS = ROOT / "bench" / "results" / "compare.json"
RESULTS_REL = RESULTS.relative_to(ROOT)


# --- processes -------------------------------------------------------------------------------------------


async def start_fake_groq(delay_s: float) -> tuple[Any, str]:
    port = free_port()
    proc = spawn([PY, str(ROOT / "bench" / "fakegroq_server.py"), "--port", str(port), "--delay", str(delay_s)])
    base = f"http://127.0.0.1:{port}"
    await _wait_port(port, proc)
    return proc, base


async def _wait_port(port: int, proc: Any, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


async def start_service(env: dict[str, str]) -> tuple[Any, str]:
    port = free_port()
    base_env = {"CSSE_PORT": str(port), "CSSE_HOST": "127.0.0.1", "CSSE_LOG_FORMAT": "text"}
    proc = spawn([PY, "-m", "compliance_sse", "serve"], {**base_env, **env})
    base = f"http://127.0.0.1:{port}"
    await wait_http(base + "/healthz", proc)
    return proc, base


async def start_seed(groq_base: str) -> tuple[Any, str]:
    port = free_port()
    env = {"GROQ_API_KEY": "bench", "GROQ_BASE_URL": groq_base}
    proc = spawn([PY, str(ROOT / "bench" / "seed_app.py"), "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    await wait_http(base + "/healthz", proc)
    return proc, base


async def start_sse_server(kind: str, heartbeat_s: float, events: int, broker: str = "memory") -> tuple[Any, str]:
    port = free_port()
    args = [PY, str(ROOT / "bench" / "sse_servers.py"), kind, "--port", str(port)]
    args += ["--heartbeat", str(heartbeat_s), "--events", str(events), "--broker", broker]
    proc = spawn(args)
    base = f"http://127.0.0.1:{port}"
    await wait_http(base + "/healthz", proc)
    return proc, base


def form(pdf: bytes, name: str = "doc.pdf") -> aiohttp.FormData:
    """The upload of ``pdf`` with a unique comment appended, so no result cache can answer for the analysis."""
    data = aiohttp.FormData()
    unique = pdf + f"%{secrets.token_hex(8)}\n".encode()
    data.add_field("file", io.BytesIO(unique), filename=name, content_type="application/pdf")
    return data


# --- uploads ---------------------------------------------------------------------------------------------


def upload_session(**kw: Any) -> aiohttp.ClientSession:
    """A client session that notes, per request, when the last chunk of the body went to the socket."""

    async def body_sent(_session: Any, ctx: Any, _params: Any) -> None:
        ctx.trace_request_ctx["sent"] = time.perf_counter()

    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(body_sent)
    return aiohttp.ClientSession(trace_configs=[trace], **kw)


async def _upload_and_follow(session: aiohttp.ClientSession, base: str, pdf: bytes) -> tuple[float, float, bool]:
    """Seconds to the first event from the request's start and from the complete upload (the body's last chunk
    handed to the socket; NaN without :func:`upload_session`); whether the stream ended with ``done``.
    """
    parser = EventParser()
    sent: dict[str, float] = {"sent": float("nan")}
    start = time.perf_counter()
    first = 0.0
    last = ""
    async with session.post(base + "/analyze_sse", data=form(pdf), trace_request_ctx=sent) as resp:
        if resp.status != 200:
            return float("nan"), float("nan"), False
        async for chunk in resp.content.iter_any():
            for event in parser.feed(chunk):
                if not first:
                    first = time.perf_counter()
                last = event.event
    return first - start, first - sent["sent"], last == "done"


async def _probe(base: str, stop_when: asyncio.Future[Any], out: list[float]) -> None:
    async with aiohttp.ClientSession() as probe:
        while not stop_when.done():
            t0 = time.perf_counter()
            async with probe.get(base + "/healthz") as resp:
                await resp.read()
            out.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.005)


async def burst(base: str, pdf: bytes, n: int) -> dict[str, Any]:
    """``n`` concurrent uploads followed to the end, with /healthz probed meanwhile."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with upload_session(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        work = asyncio.gather(*(_upload_and_follow(session, base, pdf) for _ in range(n)))
        healthz: list[float] = []
        probe = asyncio.create_task(_probe(base, work, healthz))
        results = await work
        wall = time.perf_counter() - started
        await probe
    firsts = [f * 1000 for _r, f, _ok in results if f == f]
    return {
        "wall_s": wall,
        "done": sum(ok for _r, _f, ok in results),
        "healthz_p50_ms": pct(healthz, 0.5),
        "healthz_p99_ms": pct(healthz, 0.99),
        "healthz_max_ms": max(healthz, default=float("nan")),
        "burst_first_p50_ms": pct(firsts, 0.5),
        "burst_first_p99_ms": pct(firsts, 0.99),
    }


async def first_event_alone(base: str, pdf: bytes, n: int) -> dict[str, float]:
    """Uploads one at a time: from the complete upload (and from the request's start) to the first event."""
    firsts, from_start = [], []
    async with upload_session() as session:
        for _ in range(n):
            start_s, sent_s, _ok = await _upload_and_follow(session, base, pdf)
            firsts.append(sent_s * 1000)
            from_start.append(start_s * 1000)
    return {
        "first_p50_ms": pct(firsts, 0.5),
        "first_p99_ms": pct(firsts, 0.99),
        "first_from_start_p50_ms": pct(from_start, 0.5),
        "first_from_start_p99_ms": pct(from_start, 0.99),
    }


def raw_upload(base: str, pdf: bytes) -> bytes:
    """The whole ``POST /analyze_sse`` request as bytes: a multipart form with the PDF (made unique) as ``file``."""
    boundary = secrets.token_hex(8)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="doc.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + pdf
        + f"%{secrets.token_hex(8)}\n\r\n--{boundary}--\r\n".encode()
    )  # unique: no cache answers
    host = base.split("//", 1)[1]
    head = (
        f"POST /analyze_sse HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def _dechunk(buf: bytes) -> tuple[bytes, bytes]:
    """The payloads of the complete chunks at the start of a chunked body, and what is left of it."""
    out = []
    while (line_end := buf.find(b"\r\n")) >= 0:
        size = int(buf[:line_end].split(b";", 1)[0], 16)
        end = line_end + 2 + size
        if len(buf) < end + 2:
            break
        out.append(buf[line_end + 2 : end])
        buf = buf[end + 2 :]
    return b"".join(out), buf


async def first_event_raw(base: str, pdf: bytes, n: int) -> dict[str, float]:
    """Uploads one at a time from a bare socket: the request in one write, timed from when the write returned
    (every byte handed to the kernel) to the first complete event read; no HTTP client library in the measure.
    The connection is opened beforehand, so its set-up is not counted, as with :func:`first_event_alone`'s pool.
    """
    host, port = base.split("//", 1)[1].rsplit(":", 1)
    firsts: list[float] = []
    for _ in range(n):
        request = raw_upload(base, pdf)
        reader, writer = await asyncio.open_connection(host, int(port))
        await asyncio.sleep(0.05)  # the server accepts first: a pooled connection, as a client library keeps
        try:
            writer.write(request)  # a 1-page PDF: the kernel takes it all at once, no drain wait
            start = time.perf_counter()
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = await reader.read(65536)
                if not chunk:
                    raise RuntimeError("the server closed before the response head")
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            chunked = b"transfer-encoding: chunked" in head.lower()
            parser = EventParser()
            while True:
                payload, buf = _dechunk(buf) if chunked else (buf, b"")
                if parser.feed(payload):
                    break
                more = await reader.read(65536)
                if not more:
                    raise RuntimeError("the stream ended before its first event")
                buf += more
            firsts.append((time.perf_counter() - start) * 1000)
            while await reader.read(65536):
                pass  # to its end, as a client would: the next upload does not share the server with this one
        finally:
            writer.close()
            await writer.wait_closed()
    return {"raw_first_p50_ms": pct(firsts, 0.5), "raw_first_p99_ms": pct(firsts, 0.99)}


async def part_uploads(args: argparse.Namespace) -> dict[str, Any]:
    pdf = (corpus_dir() / "pdfs" / "s01_minimal-document.pdf").read_bytes()
    groq, groq_base = await start_fake_groq(args.model_delay)
    rows: dict[str, list[dict[str, Any]]] = {}
    configs = {f"service, CSSE_GROQ_CONCURRENCY={c}": c for c in args.concurrency}
    try:
        for _ in range(args.repeats):
            for name, concurrency in configs.items():
                env = {
                    "CSSE_ANALYZER": "groq",
                    "GROQ_API_KEY": "bench",
                    "GROQ_BASE_URL": groq_base,
                    "CSSE_GROQ_CONCURRENCY": str(concurrency),
                }
                proc, base = await start_service(env)
                try:
                    row = await burst(base, pdf, args.uploads)
                    row.update(await first_event_alone(base, pdf, 30))
                    row.update(await first_event_raw(base, pdf, 30))
                finally:
                    stop(proc)
                rows.setdefault(name, []).append(row)
                print(name, {k: round(v, 2) for k, v in row.items()}, flush=True)
            proc, base = await start_seed(groq_base)
            try:
                row = await burst(base, pdf, args.seed_uploads)
                row["measured_uploads"] = args.seed_uploads
                row["wall_s_for_n"] = row["wall_s"] * args.uploads / args.seed_uploads
                row.update(await first_event_alone(base, pdf, 5))
                row.update(await first_event_raw(base, pdf, 5))
            finally:
                stop(proc)
            rows.setdefault("seed design", []).append(row)
            print("seed", {k: round(v, 2) for k, v in row.items()}, flush=True)
    finally:
        stop(groq)
    return {"uploads": args.uploads, "model_delay_s": args.model_delay, "rows": rows}


async def burst_distinct(base: str, pdfs: list[bytes]) -> dict[str, Any]:
    """One concurrent upload of each of ``pdfs``, followed to the end, with /healthz probed meanwhile."""
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with upload_session(timeout=timeout) as session:
        started = time.perf_counter()
        work = asyncio.gather(*(_upload_and_follow(session, base, pdf) for pdf in pdfs))
        healthz: list[float] = []
        probe = asyncio.create_task(_probe(base, work, healthz))
        results = await work
        wall = time.perf_counter() - started
        await probe
    return {
        "wall_s": wall,
        "done": sum(ok for _r, _f, ok in results),
        "healthz_p99_ms": pct(healthz, 0.99),
        "healthz_max_ms": max(healthz, default=float("nan")),
    }


async def part_thirty(args: argparse.Namespace) -> dict[str, Any]:
    """8 concurrent uploads of distinct 30-page PDFs against the 2 s model: where the time goes."""
    pdfs = [make_document(30, seed=100 + i) for i in range(8)]
    groq, groq_base = await start_fake_groq(args.model_delay)
    rows: dict[str, list[dict[str, Any]]] = {}
    try:
        for _ in range(args.repeats):
            for isolation in ("thread", "process"):
                for concurrency in (8, 32):
                    env = {
                        "CSSE_ANALYZER": "groq",
                        "GROQ_API_KEY": "bench",
                        "GROQ_BASE_URL": groq_base,
                        "CSSE_GROQ_CONCURRENCY": str(concurrency),
                        "CSSE_EXTRACT_ISOLATION": isolation,
                    }
                    proc, base = await start_service(env)
                    try:
                        row = await burst_distinct(base, pdfs)
                    finally:
                        stop(proc)
                    name = f"{isolation}, CSSE_GROQ_CONCURRENCY={concurrency}"
                    rows.setdefault(name, []).append(row)
                    print(name, {k: round(v, 2) for k, v in row.items()}, flush=True)
            env = {"CSSE_ANALYZER": "rules", "CSSE_EXTRACT_ISOLATION": "thread"}
            proc, base = await start_service(env)
            try:
                row = await burst_distinct(base, pdfs)
            finally:
                stop(proc)
            rows.setdefault("thread, rules analyzer only (no model)", []).append(row)
            print("rules only", {k: round(v, 2) for k, v in row.items()}, flush=True)
    finally:
        stop(groq)
    return {"rows": rows}


# --- idle streams ----------------------------------------------------------------------------------------


async def idle_once(kind: str, n: int, heartbeat_s: float, beats: int) -> dict[str, float]:
    proc, base = await start_sse_server(kind, heartbeat_s, events=10)
    try:
        await asyncio.sleep(1.0)
        rss0 = rss_kib(proc.pid)
        port = base.rsplit(":", 1)[1]
        client = await asyncio.create_subprocess_exec(
            PY,
            str(ROOT / "bench" / "idle_client.py"),
            "--port",
            port,
            "--path",
            "/jobs/idle/events",
            "--n",
            str(n),
            "--marker",
            MARKERS[kind],
            "--heartbeat",
            str(heartbeat_s),
            "--beats",
            str(beats),
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 26,  # one JSON line with every gap
        )
        assert client.stdout is not None
        line = (await client.stdout.readline()).decode().split()
        connected = int(line[1])
        cpu0, t0, rss1 = cpu_s(proc.pid), time.monotonic(), rss_kib(proc.pid)
        result = json.loads(await client.stdout.readline())
        cpu1, t1, rss2 = cpu_s(proc.pid), time.monotonic(), rss_kib(proc.pid)
        await client.wait()
    finally:
        stop(proc)
    gaps = result["gaps_ms"]
    return {
        "connected": connected,
        "complete": result["complete"],
        "connect_s": result["connect_s"],
        "rss_per_stream_kib": (max(rss1, rss2) - rss0) / max(connected, 1),
        "late_p50_ms": pct(gaps, 0.5),
        "late_p99_ms": pct(gaps, 0.99),
        "late_max_ms": max(gaps, default=float("nan")),
        "idle_cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
    }


async def part_idle(args: argparse.Namespace) -> dict[str, Any]:
    rows: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeats):
        for kind in ("service", "aiohttp-sse", "sse-starlette"):
            row = await idle_once(kind, args.idle, args.heartbeat, beats=3)
            rows.setdefault(kind, []).append(row)
            print(kind, {k: round(v, 2) for k, v in row.items()}, flush=True)
    return {"streams": args.idle, "heartbeat_s": args.heartbeat, "rows": rows}


# --- serializer ------------------------------------------------------------------------------------------


def part_serializer(args: argparse.Namespace) -> dict[str, Any]:
    from aiohttp_sse import EventSourceResponse

    from compliance_sse.sse.models import ServerSentEvent
    from compliance_sse.sse.response import EventStreamResponse
    from compliance_sse.sse.serializer import serialize

    events = [(e, i, d.decode()) for e, i, d in event_sequence(1000)]

    async def sink(_data: Any) -> None:
        return None

    theirs = EventSourceResponse(send_timeout=None)
    theirs.write = sink  # type: ignore[method-assign]
    ours = EventStreamResponse(send_timeout_s=None)
    ours.write = sink  # type: ignore[method-assign]
    loop = asyncio.new_event_loop()

    def ours_format() -> None:
        for event, event_id, data in events:
            serialize(ServerSentEvent(data=data, event=event, id=event_id))

    async def theirs_send() -> None:
        for event, event_id, data in events:
            await theirs.send(data, id=event_id, event=event)

    async def ours_send() -> None:
        for event, event_id, data in events:
            await ours.send_event(ServerSentEvent(data=data, event=event, id=event_id))

    cases: dict[str, Callable[[], Any]] = {
        "service: ServerSentEvent + serialize()": ours_format,
        "service: send_event() to a null writer": lambda: loop.run_until_complete(ours_send()),
        "aiohttp-sse: send() to a null writer": lambda: loop.run_until_complete(theirs_send()),
    }
    rows: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(max(args.repeats, 5)):
        for name, fn in cases.items():
            best = min(timeit.repeat(fn, number=20, repeat=3))
            rows[name].append(len(events) * 20 / best)
    loop.close()
    return {"rows": rows}


# --- one stream ------------------------------------------------------------------------------------------


async def _read_all(url: str, headers: dict[str, str] | None = None) -> tuple[float, int]:
    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        total = 0
        async with session.get(url, headers=headers) as resp:
            async for chunk in resp.content.iter_any():
                total += len(chunk)
        return time.perf_counter() - start, total


async def part_onestream(args: argparse.Namespace) -> dict[str, Any]:
    n = args.stream_events
    rows: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for kind in ("service", "aiohttp-sse", "sse-starlette"):
            proc, base = await start_sse_server(kind, 15, events=n)
            try:
                await _read_all(base + "/jobs/events/events")  # warm up
                seconds = min([(await _read_all(base + "/jobs/events/events"))[0] for _ in range(3)])
            finally:
                stop(proc)
            rows.setdefault(kind, []).append(n / seconds)
            print(kind, round(n / seconds), "events/s", flush=True)
    return {"events": n, "rows": rows}


# --- replay ----------------------------------------------------------------------------------------------


async def _first_after(session: aiohttp.ClientSession, url: str, last_id: str) -> float:
    parser = EventParser()
    start = time.perf_counter()
    async with session.get(url, headers={"Last-Event-ID": last_id}) as resp:
        async for chunk in resp.content.iter_any():
            if parser.feed(chunk):
                return (time.perf_counter() - start) * 1000
    raise RuntimeError("no event after Last-Event-ID")


async def part_replay(args: argparse.Namespace) -> dict[str, Any]:
    rows: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeats):
        for broker in ("memory", REDIS_URL):
            proc, base = await start_sse_server("service", 15, events=1000, broker=broker)
            url = base + "/jobs/events/events"
            try:
                async with aiohttp.ClientSession() as session:
                    async with session.get(url) as resp:
                        ids = [e.id for e in EventParser().feed(await resp.read()) if e.id and e.event != "done"]
                    rng = random.Random(1)
                    samples = [await _first_after(session, url, rng.choice(ids)) for _ in range(200)]
            finally:
                stop(proc)
            name = "memory" if broker == "memory" else "redis"
            rows.setdefault(name, []).append({"p50_ms": pct(samples, 0.5), "p99_ms": pct(samples, 0.99)})
            print(name, rows[name][-1], flush=True)
    return {"rows": rows}


# --- extraction ------------------------------------------------------------------------------------------


def part_extract(args: argparse.Namespace) -> dict[str, Any]:
    import logging

    import pdfplumber
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    corpus = corpus_dir()
    manifest = json.loads((corpus / "manifest.json").read_text())
    docs = [
        (corpus / "pdfs" / m["file"]).read_bytes()
        for m in manifest
        if m.get("expected") == "text" and not m.get("password")
    ]

    def with_pypdf() -> int:
        pages = 0
        for data in docs:
            try:
                for page in PdfReader(io.BytesIO(data)).pages:
                    page.extract_text()
                    pages += 1
            except Exception:
                continue
        return pages

    def with_pdfplumber() -> int:
        pages = 0
        for data in docs:
            try:
                with pdfplumber.open(io.BytesIO(data)) as pdf:
                    for page in pdf.pages:
                        page.extract_text()
                        pages += 1
            except Exception:
                continue
        return pages

    rows: dict[str, list[float]] = {"pypdf": [], "pdfplumber": []}
    for _ in range(args.repeats):
        for name, fn in (("pypdf", with_pypdf), ("pdfplumber", with_pdfplumber)):
            t0 = time.perf_counter()
            pages = fn()
            rows[name].append(pages / (time.perf_counter() - t0))
        print({k: round(v[-1], 1) for k, v in rows.items()}, flush=True)
    return {"documents": len(docs), "rows": rows}


# --- growth ----------------------------------------------------------------------------------------------


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def part_growth(args: argparse.Namespace) -> dict[str, Any]:
    by_pages: dict[int, list[dict[str, float]]] = {}
    by_jobs: dict[int, list[dict[str, float]]] = {}
    docs = {p: make_document(p) for p in args.pages}
    small = (corpus_dir() / "pdfs" / "s01_minimal-document.pdf").read_bytes()
    groq, groq_base = await start_fake_groq(args.model_delay)
    try:
        for _ in range(args.repeats):
            for pages, pdf in docs.items():
                env = {"CSSE_ANALYZER": "rules", "CSSE_MAX_PAGES": "5000", "CSSE_MAX_ANALYZE_CHARS": "100000000"}
                env["CSSE_EXTRACT_TIMEOUT_S"] = "600"
                proc, base = await start_service(env)
                try:
                    base_rss = rss_kib(proc.pid)
                    async with aiohttp.ClientSession() as session:
                        t0 = time.perf_counter()
                        _first, _sent, ok = await _upload_and_follow(session, base, pdf)
                        wall = time.perf_counter() - t0
                    peak = _peak_kib(proc.pid)
                finally:
                    stop(proc)
                by_pages.setdefault(pages, []).append(
                    {"s": wall, "peak_mib": peak / 1024, "growth_mib": (peak - base_rss) / 1024, "ok": ok}
                )
                print("pages", pages, round(wall, 2), "s", round(peak / 1024), "MiB", flush=True)
            for jobs in args.jobs:
                env = {
                    "CSSE_ANALYZER": "groq",
                    "GROQ_API_KEY": "bench",
                    "GROQ_BASE_URL": groq_base,
                    "CSSE_GROQ_CONCURRENCY": str(args.growth_concurrency),
                }
                proc, base = await start_service(env)
                try:
                    base_rss = rss_kib(proc.pid)
                    row = await burst(base, small, jobs)
                    peak = _peak_kib(proc.pid)
                finally:
                    stop(proc)
                by_jobs.setdefault(jobs, []).append(
                    {"s": row["wall_s"], "peak_mib": peak / 1024, "growth_mib": (peak - base_rss) / 1024}
                )
                print("jobs", jobs, round(row["wall_s"], 2), "s", round(peak / 1024), "MiB", flush=True)
    finally:
        stop(groq)
    return {
        "by_pages": {str(k): v for k, v in by_pages.items()},
        "by_jobs": {str(k): v for k, v in by_jobs.items()},
        "growth_concurrency": args.growth_concurrency,
        "model_delay_s": args.model_delay,
    }


# --- report ----------------------------------------------------------------------------------------------


def _col(rows: list[dict[str, Any]], key: str) -> list[float]:
    return [r[key] for r in rows if key in r and r[key] == r[key]]


def _render_uploads(u: dict[str, Any]) -> list[str]:
    out: list[str] = []
    rows = u["rows"]
    seed = rows.get("seed design", [])
    seed_walls = _col(seed, "wall_s_for_n")
    out += [
        "",
        f"### {u['uploads']} concurrent 1-page uploads, model answering in {u['model_delay_s']:g} s",
        "",
        "| server | all done (s) | share of the seed's time | /healthz p50 (ms) | /healthz p99 (ms) | "
        "/healthz max (ms) | first event after the complete upload, one at a time p50 / p99 (ms) | the same from "
        "a bare socket p50 / p99 (ms) | the same from the request's start p50 / p99 (ms) | "
        "first event during the burst p50 / p99 (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rs in rows.items():
        walls = _col(rs, "wall_s_for_n") if name == "seed design" else _col(rs, "wall_s")
        share = [w / s for w, s in zip(walls, seed_walls, strict=False)] if name != "seed design" else []
        out.append(
            f"| {name} | {med(walls)} | {med([100 * s for s in share]) + ' %' if share else '100 %'} | "
            f"{med(_col(rs, 'healthz_p50_ms'))} | {med(_col(rs, 'healthz_p99_ms'))} | "
            f"{med(_col(rs, 'healthz_max_ms'))} | "
            f"{med(_col(rs, 'first_p50_ms'))} / {med(_col(rs, 'first_p99_ms'))} | "
            f"{med(_col(rs, 'raw_first_p50_ms'))} / {med(_col(rs, 'raw_first_p99_ms'))} | "
            f"{med(_col(rs, 'first_from_start_p50_ms'))} / {med(_col(rs, 'first_from_start_p99_ms'))} | "
            f"{med(_col(rs, 'burst_first_p50_ms'))} / {med(_col(rs, 'burst_first_p99_ms'))} |"
        )
    if seed:
        out += [
            "",
            f"The seed's design serves one upload at a time: it was run on {seed[0]['measured_uploads']} "
            f"concurrent uploads and its time for {u['uploads']} is that time scaled by "
            f"{u['uploads'] / seed[0]['measured_uploads']:g} (its /healthz figures are from those uploads).",
        ]
    out += ["", "![uploads side by side](img/compare_uploads.png)"]
    return out


def _render_thirty(r: dict[str, Any]) -> list[str]:
    out = [
        "",
        "### 8 concurrent uploads of distinct 30-page PDFs, model answering in 2 s",
        "",
        "| configuration | all done (s) | /healthz p99 (ms) | /healthz max (ms) |",
        "|---|---|---|---|",
    ]
    for name, rs in r["rows"].items():
        out.append(
            f"| {name} | {med(_col(rs, 'wall_s'))} | {med(_col(rs, 'healthz_p99_ms'))} | "
            f"{med(_col(rs, 'healthz_max_ms'))} |"
        )
    return out


def _render_idle(i: dict[str, Any]) -> list[str]:
    out: list[str] = []
    rows = i["rows"]
    base = _col(rows.get("aiohttp-sse", []), "rss_per_stream_kib")
    out += [
        "",
        f"### {i['streams']:,} idle streams in one process, heartbeat every {i['heartbeat_s']:g} s",
        "",
        "| server | streams held | RSS per stream (KiB) | vs aiohttp-sse | heartbeat lateness p50 (ms) | "
        "p99 (ms) | max (ms) | CPU while idle (% of a core) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rs in rows.items():
        rss = _col(rs, "rss_per_stream_kib")
        ratio = [r / b for r, b in zip(rss, base, strict=False)]
        out.append(
            f"| {name} | {med(_col(rs, 'connected'))} | {med(rss)} | {med(ratio)}x | "
            f"{med(_col(rs, 'late_p50_ms'))} | {med(_col(rs, 'late_p99_ms'))} | {med(_col(rs, 'late_max_ms'))} | "
            f"{med(_col(rs, 'idle_cpu_pct'))} |"
        )
    out += ["", "![idle streams side by side](img/compare_idle.png)"]
    return out


def _table(title: str, header: list[str], rows: list[str]) -> list[str]:
    return ["", f"### {title}", "", f"| {' | '.join(header)} |", "|" + "---|" * len(header), *rows]


def _ratios(rows: dict[str, list[float]], base: list[float]) -> list[str]:
    """A row per entry: the median value and its ratio to ``base`` from the same repeat."""
    return [
        f"| {name} | {med(values)} | {med([v / b for v, b in zip(values, base, strict=False)])}x |"
        for name, values in rows.items()
    ]


def _render_serializer(r: dict[str, Any]) -> list[str]:
    rows = r["rows"]
    return _table(
        "Formatting the same 1,000 events, in process",
        ["code", "events/s", "vs aiohttp-sse"],
        _ratios(rows, rows["aiohttp-sse: send() to a null writer"]),
    )


def _render_onestream(o: dict[str, Any]) -> list[str]:
    return _table(
        f"One stream of {o['events']:,} events to a fast reader, over loopback",
        ["server", "events/s", "vs aiohttp-sse"],
        _ratios(o["rows"], o["rows"]["aiohttp-sse"]),
    )


def _render_replay(r: dict[str, Any]) -> list[str]:
    return _table(
        "First replayed event after `Last-Event-ID` in a 1,000-event job (200 requests a run)",
        ["event log", "p50 (ms)", "p99 (ms)"],
        [f"| {name} | {med(_col(rs, 'p50_ms'))} | {med(_col(rs, 'p99_ms'))} |" for name, rs in r["rows"].items()],
    )


def _render_extract(e: dict[str, Any]) -> list[str]:
    py, pl = e["rows"]["pypdf"], e["rows"]["pdfplumber"]
    return _table(
        f"Text extraction over the corpus ({e['documents']} text PDFs), pages/s",
        ["library", "pages/s", "vs pdfplumber"],
        [*_ratios({"pypdf": py}, pl), f"| pdfplumber | {med(pl)} | 1x |"],
    )


def _render_growth(g: dict[str, Any]) -> list[str]:
    out = ["", "### Cost growth", ""]
    out += ["| pages in one job | time (s) | peak RSS (MiB) |", "|---|---|---|"]
    for k, rs in g["by_pages"].items():
        out.append(f"| {k} | {med(_col(rs, 's'))} | {med(_col(rs, 'peak_mib'))} |")
    out += [
        "",
        f"| concurrent 1-page jobs ({g['model_delay_s']:g} s model, concurrency "
        f"{g['growth_concurrency']}) | time (s) | peak RSS (MiB) |",
        "|---|---|---|",
    ]
    for k, rs in g["by_jobs"].items():
        out.append(f"| {k} | {med(_col(rs, 's'))} | {med(_col(rs, 'peak_mib'))} |")
    out += ["", "![cost growth](img/cost_growth.png)"]
    return out


RENDERERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "uploads": _render_uploads,
    "thirty": _render_thirty,
    "idle": _render_idle,
    "serializer": _render_serializer,
    "onestream": _render_onestream,
    "replay": _render_replay,
    "extract": _render_extract,
    "growth": _render_growth,
}


def render(results: dict[str, Any]) -> dict[str, str]:
    """One Markdown block per part in ``results``: its table(s) under the date and load of the run that made it."""
    blocks = {}
    for part, renderer in RENDERERS.items():
        if part not in results:
            continue
        lines = renderer(results[part])
        run = results[part].get("run")
        if run:
            title = 1 if lines and not lines[0] else 0
            lines.insert(title + 1, f"\nRun {run['date']}, load average {run['load']:.1f} at its start.")
        blocks[part] = "\n".join(lines).strip()
    return blocks


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bars(name: str, labels: list[str], colors: list[str], panels: list[tuple[list[float], str, str, float]]) -> None:
    """A figure of bar charts side by side, one per (values, y label, title, goal line) panel, in docs/img/."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4))
    for ax, (values, ylabel, title, goal) in zip(axes, panels, strict=True):
        ax.bar(range(len(labels)), values, color=colors)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if goal:
            ax.axhline(goal, color="grey", ls="--", lw=0.8)
    fig.tight_layout()
    fig.savefig(IMG / name, dpi=110)
    plt.close(fig)


def plot_uploads(u: dict[str, Any]) -> None:
    rows = u["rows"]
    names = list(rows)
    walls = [statistics.median(_col(rows[n], "wall_s_for_n" if n == "seed design" else "wall_s")) for n in names]
    healthz = [statistics.median(_col(rows[n], "healthz_p99_ms")) for n in names]
    _bars(
        "compare_uploads.png",
        [n.replace("service, CSSE_GROQ_CONCURRENCY=", "service\nconc. ") for n in names],
        ["C0"] * (len(names) - 1) + ["C3"],
        [
            (walls, "s until all are done", f"{u['uploads']} uploads, {u['model_delay_s']:g} s model", 0),
            (healthz, "/healthz p99 (ms)", "/healthz during the uploads", 20),
        ],
    )


def plot_idle(i: dict[str, Any]) -> None:
    rows = i["rows"]
    names = list(rows)
    _bars(
        "compare_idle.png",
        names,
        ["C0", "C2", "C1"][: len(names)],
        [
            (
                [statistics.median(_col(rows[n], "rss_per_stream_kib")) for n in names],
                "KiB RSS per idle stream",
                f"{i['streams']:,} idle streams",
                12,
            ),
            (
                [statistics.median(_col(rows[n], "late_p99_ms")) for n in names],
                "heartbeat lateness p99 (ms)",
                "heartbeats on time",
                50,
            ),
        ],
    )


def plot_growth(g: dict[str, Any]) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, key, label in ((axes[0], "by_pages", "pages in one job"), (axes[1], "by_jobs", "concurrent 1-page jobs")):
        xs = [int(k) for k in g[key]]
        ts = [statistics.median(_col(g[key][str(x)], "s")) for x in xs]
        ms = [statistics.median(_col(g[key][str(x)], "peak_mib")) for x in xs]
        ax.plot(xs, ts, "o-", color="C0")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("time (s)", color="C0")
        twin = ax.twinx()
        twin.plot(xs, ms, "s--", color="C1")
        twin.set_ylabel("peak RSS (MiB)", color="C1")
    axes[0].set_title("one job, rules analyzer")
    axes[1].set_title(f"{g['model_delay_s']:g} s model, concurrency {g['growth_concurrency']}")
    fig.tight_layout()
    fig.savefig(IMG / "cost_growth.png", dpi=110)
    plt.close(fig)


PLOTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "uploads": plot_uploads,
    "idle": plot_idle,
    "growth": plot_growth,
}


def plot(results: dict[str, Any]) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    for part, draw in PLOTS.items():
        if part in results:
            draw(results[part])


def write_docs(machine_line: str, blocks: dict[str, str]) -> None:
    """Replace the blocks of ``blocks``' parts in docs/BENCHMARKS.md; a part not run keeps its block."""
    path = ROOT / "docs" / "BENCHMARKS.md"
    text = path.read_text()
    start, end = "<!-- compare:start -->", "<!-- compare:end -->"
    if start not in text:
        text = text.rstrip() + f"\n\n## Side by side (`make bench`)\n\n{start}\n{end}\n"
    before, inside = text.split(start, 1)
    inside, after = inside.split(end, 1)
    kept = {}
    for part in PARTS:
        opening, closing = f"<!-- compare:{part} -->", f"<!-- /compare:{part} -->"
        if part in blocks:
            kept[part] = f"{opening}\n{blocks[part]}\n{closing}"
        elif opening in inside and closing in inside:
            kept[part] = inside[inside.index(opening) : inside.index(closing) + len(closing)]
    body = "\n\n".join([machine_line, *kept.values()])
    path.write_text(f"{before}{start}\n{body}\n{end}{after}")


def machine() -> str:
    import os
    import platform

    return f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, shared with \
other work. Every figure is the median over the repeats with the spread (min-max)."


def run_info() -> dict[str, Any]:
    import os

    return {"date": time.strftime("%Y-%m-%d"), "load": os.getloadavg()[0]}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for part in args.parts:
        started = time.monotonic()
        info = run_info()
        print(f"== {part}", flush=True)
        if part == "uploads":
            results[part] = await part_uploads(args)
        elif part == "thirty":
            results[part] = await part_thirty(args)
        elif part == "idle":
            results[part] = await part_idle(args)
        elif part == "serializer":
            results[part] = await asyncio.to_thread(part_serializer, args)  # its own event loop
        elif part == "onestream":
            results[part] = await part_onestream(args)
        elif part == "replay":
            results[part] = await part_replay(args)
        elif part == "extract":
            results[part] = part_extract(args)
        elif part == "growth":
            results[part] = await part_growth(args)
        results[part]["run"] = info
        print(f"== {part} took {time.monotonic() - started:.0f} s", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help="comma list of: " + ", ".join(PARTS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--seed-uploads", type=int, default=15)
    parser.add_argument("--concurrency", default="32,8", help="CSSE_GROQ_CONCURRENCY values for the uploads part")
    parser.add_argument("--model-delay", type=float, default=2.0)
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--heartbeat", type=float, default=5.0)
    parser.add_argument("--stream-events", type=int, default=20000)
    parser.add_argument("--pages", default="10,30,100,300,1000")
    parser.add_argument("--jobs", default="1,10,50,100,200")
    parser.add_argument("--growth-concurrency", type=int, default=64)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--render-only", action="store_true", help=f"run nothing: re-render the docs and plots from {RESULTS_REL}"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="the results file parts are merged into")
    args = parser.parse_args()
    args.parts = [p for p in args.parts.split(",") if p]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.pages = [int(p) for p in args.pages.split(",")]
    args.jobs = [int(j) for j in args.jobs.split(",")]
    saved: Path = args.results
    merged = json.loads(saved.read_text())["results"] if saved.exists() else {}
    if not args.render_only:
        raise_fd_limit()
        merged.update(asyncio.run(run(args)))
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps({"results": merged}, indent=1) + "\n")
    blocks = render(merged)
    print("\n\n".join(blocks.values()))
    if args.write_docs or args.render_only:
        plot(merged)
        write_docs(machine(), blocks)


if __name__ == "__main__":
    main()
