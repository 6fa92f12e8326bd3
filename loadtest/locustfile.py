"""Load test: users upload a PDF, follow its event stream to ``done``, and some drop and resume.

    locust -f loadtest/locustfile.py --host http://127.0.0.1:8000            (web UI)
    locust -f loadtest/locustfile.py --headless -u 50 -r 10 -t 60s --host URL

Each user uploads (``POST /jobs``), reads ``events_url`` with the project's own SSE parser and reports,
besides the HTTP requests locust records itself, these as request events of type ``SSE``:

- ``first event``: from the upload to the first event of the stream (ms);
- ``done``: from the upload to the ``done`` event (ms); a stream that ends otherwise is a failure;
- ``events``: one per job, ``response_length`` = events received;
- ``reconnect``: each resume with ``Last-Event-ID`` (the time is the reconnect's own);
- ``lost`` / ``repeated``: a failure whenever an event of the job was never received or received twice
  (the job's whole log, read again from the start, is the reference).

``LOADTEST_DROP_SHARE`` (default 0.3) of the jobs drop the connection after a random number of events and
resume with ``Last-Event-ID``. ``LOADTEST_API_KEY`` is sent as ``Authorization: Bearer``;
``LOADTEST_PDF`` is the document to upload (default: a built-in one-page memo); each upload gets a
unique comment appended, so the service's result cache does not answer for the analysis. At the end the totals of
lost and repeated events are printed, and locust exits with 1 if either is not 0.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from typing import Any

from locust import HttpUser, between, events, task

from compliance_sse.sse.parser import EventParser

DROP_SHARE = float(os.environ.get("LOADTEST_DROP_SHARE", "0.3"))
API_KEY = os.environ.get("LOADTEST_API_KEY", "")
_TOTALS = {"jobs": 0, "lost": 0, "repeated": 0, "reconnects": 0}


def _memo_pdf() -> bytes:
    """A one-page PDF with a few sentences a compliance reviewer would flag."""
    text = [
        "Payment memo",
        "The supplier asks for the fee in cash, split below the reporting threshold.",
        "Funds go through an offshore account in the name of a third party.",
        "Shipping via a port in Crimea is planned for next month.",
    ]
    lines = " ".join(f"({t}) Tj 0 -18 Td" for t in text)
    stream = f"BT /F1 11 Tf 72 720 Td {lines} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _document() -> tuple[str, bytes]:
    path = os.environ.get("LOADTEST_PDF")
    if path:
        with open(path, "rb") as f:
            return os.path.basename(path), f.read()
    return "memo.pdf", _memo_pdf()


DOC_NAME, DOC = _document()


class SSEUser(HttpUser):
    """Uploads a document, follows its events to the end, and checks none was lost or repeated."""

    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        if API_KEY:
            self.client.headers["Authorization"] = f"Bearer {API_KEY}"

    def _report(self, name: str, started: float, length: int = 0, exception: Exception | None = None) -> None:
        self.environment.events.request.fire(
            request_type="SSE",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=exception,
            context={},
        )

    @task
    def analyse(self) -> None:
        started = time.perf_counter()
        pdf = DOC + f"%{secrets.token_hex(8)}\n".encode()  # a comment line after %%EOF: another document's bytes
        with self.client.post("/jobs", files={"file": (DOC_NAME, pdf, "application/pdf")}, catch_response=True) as r:
            if r.status_code != 202:
                r.failure(f"upload answered {r.status_code}")
                return
            job = r.json()
        drop_after = random.randint(1, 6) if random.random() < DROP_SHARE else None
        received: list[str] = []
        final = self._follow(job["events_url"], started, received, drop_after)
        if final != "done":
            self._report("done", started, exception=RuntimeError(f"the stream ended with {final or 'nothing'}"))
        self._check(job["events_url"], received)

    def _follow(self, url: str, started: float, received: list[str], drop_after: int | None) -> str | None:
        """Read the stream to its final event, dropping once after ``drop_after`` events; the final event's name."""
        last_id: str | None = None
        first = True
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            resumed = time.perf_counter()
            parser = EventParser()
            with self.client.get(
                url, headers=headers, stream=True, name="/jobs/[id]/events", catch_response=True
            ) as resp:
                if last_id is not None:
                    self._report("reconnect", resumed)
                if resp.status_code == 204:  # resumed after the final event
                    return "done"
                for chunk in resp.iter_content(chunk_size=None):
                    for event in parser.feed(chunk):
                        if event.event == "heartbeat":
                            continue
                        if first:
                            self._report("first event", started)
                            first = False
                        if event.id:
                            received.append(event.id)
                            last_id = event.id
                        if event.event in ("done", "error"):
                            if event.event == "done":
                                self._report("done", started)
                            self._report("events", started, length=len(received))
                            return event.event
                        if drop_after is not None and len(received) >= drop_after:
                            drop_after = None
                            _TOTALS["reconnects"] += 1
                            break
                    else:
                        continue
                    break  # dropped: leave the with block, closing the connection
                else:
                    return None  # the server closed the stream before a final event

    def _check(self, url: str, received: list[str]) -> None:
        started = time.perf_counter()
        parser = EventParser()
        with self.client.get(url, stream=True, name="/jobs/[id]/events (check)", catch_response=True) as resp:
            reference = [e.id for chunk in resp.iter_content(chunk_size=None) for e in parser.feed(chunk) if e.id]
        seen = set(received)
        lost = len([i for i in reference if i not in seen])
        repeated = len(received) - len(seen)
        _TOTALS["jobs"] += 1
        _TOTALS["lost"] += lost
        _TOTALS["repeated"] += repeated
        if lost:
            self._report("lost", started, lost, RuntimeError(f"{lost} event(s) never received"))
        if repeated:
            self._report("repeated", started, repeated, RuntimeError(f"{repeated} event(s) received twice"))


@events.quitting.add_listener
def _summary(environment: Any, **_kw: Any) -> None:
    t = _TOTALS
    print(
        f"compliance-sse load test: {t['jobs']} jobs checked, {t['reconnects']} resumed with Last-Event-ID, "
        f"lost events {t['lost']}, repeated events {t['repeated']}"
    )
    if t["lost"] or t["repeated"]:
        environment.process_exit_code = 1
