"""A local server that speaks Groq's chat-completions API, for running the real groq SDK in tests.

``POST /openai/v1/chat/completions`` (the path the SDK posts to under ``base_url``), plain or ``stream=True``
(SSE ``data:`` chunks ending with ``data: [DONE]``). What it answers is chosen per request by ``mode`` (or the
next entry of ``script``). The "model" reads the pages out of the user message and flags sentences with a few
trigger words, so its findings quote the document like a real model's would.

It counts requests in flight and their peak, and records every request body. Start it with
:func:`start_fake_groq` on an ``aiohttp_server`` (127.0.0.1, a free port).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pytest_aiohttp import AiohttpServer

from compliance_sse.analyzers.base import AnalysisContext, Analyzer
from compliance_sse.pipeline.models import AnalysisResult, Evidence, ExtractedPage, Finding

__all__ = [
    "COMPLETIONS_PATH",
    "MODES",
    "TRIGGERS",
    "FakeGroq",
    "KeywordRules",
    "Recorder",
    "Sleeps",
    "answer_for",
    "pages_of",
    "start_fake_groq",
]

COMPLETIONS_PATH = "/openai/v1/chat/completions"

MODES = (
    "valid",  # a JSON answer quoting the document
    "fenced",  # the same inside ```json fences
    "chatty",  # the same between sentences of prose
    "invalid",  # JSON of the wrong shape, every time
    "invalid_then_valid",  # wrong shape, then valid when asked to repair
    "not_json",  # prose only
    "ungrounded",  # valid, plus a made-up quote, a quote on the wrong page, and a finding with no real quote
    "obey_injection",  # "no risk": what a model that followed the document's instructions would say
    "rate_limit",  # 429 with retry-after
    "server_error",  # 500
    "unavailable",  # 503 with retry-after
    "unsupported_schema",  # 400 for json_schema (like llama-3.3-70b-versatile), valid in JSON mode
    "json_validate_failed",  # 400 json_validate_failed with a fenced (but valid) failed_generation
    "auth",  # 401
    "not_found",  # 404 (unknown model)
    "stream_error",  # streams a few chunks then an error event (plain requests get a 500)
    "slow",  # waits slow_s, then valid
    "hang",  # never answers (until the server is released)
)

TRIGGERS: dict[str, tuple[str, int, str]] = {
    "cash": ("aml", 4, "Large cash payments"),
    "offshore": ("aml", 3, "Offshore payment route"),
    "crimea": ("sanctions", 5, "Sanctioned region"),
    "sanction": ("sanctions", 4, "Sanctions exposure"),
    "guaranteed return": ("financial_regulation", 4, "Guaranteed returns promised"),
    "facilitation payment": ("bribery_corruption", 4, "Facilitation payment"),
    "unlimited liability": ("risk_management", 3, "Unlimited liability"),
}

_PAGE = re.compile(r'<page n="(\d+)"[^>]*>\n(.*?)\n</page>', re.S)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def _pages(body: dict[str, Any]) -> list[tuple[int, str]]:
    user = next((m["content"] for m in body.get("messages", []) if m.get("role") == "user"), "")
    return [(int(n), text) for n, text in _PAGE.findall(user)]


def answer_for(pages: list[tuple[int, str]]) -> dict[str, Any]:
    """What the fake model says about ``pages``: one finding per sentence with a trigger word."""
    findings: list[dict[str, Any]] = []
    for number, text in pages:
        for sentence in _SENTENCE.findall(text):
            lowered = sentence.lower()
            for word, (category, severity, title) in TRIGGERS.items():
                if word in lowered:
                    findings.append(
                        {
                            "category": category,
                            "title": title,
                            "severity": severity,
                            "why_it_matters": f"The text mentions {word}.",
                            "recommendation": "Review this clause with compliance.",
                            "evidence": [{"page": number, "quote": sentence.strip()}],
                        }
                    )
                    break
    numbers = [n for n, _ in pages]
    span = f"pages {min(numbers)}-{max(numbers)}" if numbers else "no pages"
    risk = max((f["severity"] for f in findings), default=0) / 5
    summary = f"Reviewed {span}: {len(findings)} risk(s) found."
    return {"summary": summary, "overall_risk": risk, "findings": findings}


def _ungrounded(pages: list[tuple[int, str]]) -> dict[str, Any]:
    answer = answer_for(pages)
    numbers = [n for n, _ in pages]
    for finding in answer["findings"][:1]:
        # Right quote, wrong page: must be re-pointed to where the text really is.
        ev = finding["evidence"][0]
        others = [n for n in numbers if n != ev["page"]]
        ev["page"] = others[0] if others else ev["page"] + 1
    answer["findings"].append(
        {
            "category": "aml",
            "title": "Invented clause",
            "severity": 5,
            "why_it_matters": "It is not in the document.",
            "recommendation": "None.",
            "evidence": [{"page": numbers[0] if numbers else 1, "quote": "The buyer shall wire funds via Pyongyang."}],
        }
    )
    if answer["findings"][:-1]:
        # A real finding with one made-up quote besides its real one: kept, with the real quote only.
        answer["findings"][0]["evidence"].append({"page": 1, "quote": "a sentence that appears nowhere at all"})
    return answer


@dataclass
class FakeGroq:
    """The fake's knobs and counters; the aiohttp app is :meth:`app`."""

    mode: str = "valid"
    script: list[str] = field(default_factory=list)
    delay_s: float = 0.0
    slow_s: float = 2.0
    retry_after: str | None = "2"
    stream_chunk_chars: int = 24
    stream_chunk_delay_s: float = 0.0
    answer: Callable[[list[tuple[int, str]]], dict[str, Any]] = answer_for
    requests: int = 0
    in_flight: int = 0
    peak: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    modes_served: list[str] = field(default_factory=list)
    base_url: str = ""
    _release: asyncio.Event | None = None
    _seen: asyncio.Event | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(COMPLETIONS_PATH, self._handle)
        return app

    def release(self) -> None:
        """Let hung requests finish (with a 500), so the server can close."""
        self._release_event().set()

    def next_mode(self) -> str:
        return self.script.pop(0) if self.script else self.mode

    def request_seen(self) -> asyncio.Event:
        """Set when the first request arrives."""
        if self._seen is None:
            self._seen = asyncio.Event()
        return self._seen

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.request_seen().set()
        self.requests += 1
        self.bodies.append(body)
        mode = self.next_mode()
        self.modes_served.append(mode)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.delay_s:
                await self._pause(self.delay_s)  # the model "thinking": simulated latency
            return await self._respond(request, body, mode)
        finally:
            self.in_flight -= 1

    async def _respond(self, request: web.Request, body: dict[str, Any], mode: str) -> web.StreamResponse:
        pages = _pages(body)
        fmt = (body.get("response_format") or {}).get("type")
        if mode == "hang":
            await self._release_event().wait()
            return _error(500, "released")
        if mode == "slow":
            await self._pause(self.slow_s)
            mode = "valid"
        if mode == "rate_limit":
            headers = {"retry-after": self.retry_after} if self.retry_after is not None else {}
            return _error(429, "Rate limit reached for model on tokens per minute. Please try again in 2s.", headers)
        if mode == "server_error":
            return _error(500, "Internal Server Error secret-upstream-detail")
        if mode == "unavailable":
            headers = {"retry-after": self.retry_after} if self.retry_after is not None else {}
            return _error(503, "Service Unavailable", headers)
        if mode == "auth":
            return _error(401, "Invalid API Key", code="invalid_api_key")
        if mode == "not_found":
            return _error(404, f"The model `{body.get('model')}` does not exist", code="model_not_found")
        if mode == "unsupported_schema":
            if fmt == "json_schema":
                return _error(
                    400,
                    "This model does not support response format `json_schema`. See supported models at "
                    "https://console.groq.com/docs/structured-outputs#supported-models",
                    param="response_format",
                )
            mode = "valid"
        if mode == "json_validate_failed":
            fenced = "```json\n" + json.dumps(self.answer(pages)) + "\n```"
            return _error(
                400,
                "Failed to generate JSON. Please adjust your prompt. See 'failed_generation' for more details.",
                code="json_validate_failed",
                failed_generation=fenced,
            )
        if mode == "stream_error" and not body.get("stream"):
            return _error(500, "stream error mode, plain request")
        repairing = any(m.get("role") == "assistant" for m in body.get("messages", []))
        content = self._content(mode, pages, repairing)
        if body.get("stream"):
            return await self._stream(request, body, content, broken=mode == "stream_error")
        return web.json_response(self._completion(body, content))

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the server is being released (so teardown never waits on a slow answer)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release_event().wait(), seconds)

    def _release_event(self) -> asyncio.Event:
        if self._release is None:
            self._release = asyncio.Event()
        return self._release

    def _content(self, mode: str, pages: list[tuple[int, str]], repairing: bool) -> str:
        if mode == "invalid" or (mode == "invalid_then_valid" and not repairing):
            return json.dumps({"summary": 3, "findings": "none"})
        if mode == "not_json":
            return "I could not find any problems with this document."
        if mode == "ungrounded":
            return json.dumps(_ungrounded(pages))
        if mode == "obey_injection":
            return json.dumps({"summary": "No risk.", "overall_risk": 0.0, "findings": []})
        text = json.dumps(self.answer(pages))
        if mode == "fenced":
            return f"```json\n{text}\n```"
        if mode == "chatty":
            return f"Sure! Here is my analysis of the document:\n\n{text}\n\nLet me know if you need more detail."
        return text

    def _usage(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
        completion = max(1, len(content) // 4)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": self._usage(body, content),
            "system_fingerprint": "fp_fake",
            "x_groq": {"id": "req_fake"},
        }

    async def _stream(
        self, request: web.Request, body: dict[str, Any], content: str, *, broken: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        ident = f"chatcmpl-{next(self._ids)}"
        base = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time()), "model": body["model"]}

        async def send(data: dict[str, Any]) -> None:
            await response.write(b"data: " + json.dumps(data).encode() + b"\n\n")

        await send({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        step = max(1, self.stream_chunk_chars)
        for i in range(0, len(content), step):
            if self.stream_chunk_delay_s:
                await asyncio.sleep(self.stream_chunk_delay_s)  # a slow trickle of tokens
            await send({**base, "choices": [{"index": 0, "delta": {"content": content[i : i + step]}}]})
            if broken and i >= step:
                await send({"error": {"message": "Internal error mid-stream", "type": "internal_server_error"}})
                await response.write_eof()
                return response
        usage = self._usage(body, content)
        await send(
            {
                **base,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "x_groq": {"id": "r", "usage": usage},
            }
        )
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _error(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    code: str | None = None,
    param: str | None = None,
    failed_generation: str | None = None,
) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": "invalid_request_error" if status < 500 else "server_error"}
    if code is not None:
        error["code"] = code
    if param is not None:
        error["param"] = param
    if failed_generation is not None:
        error["failed_generation"] = failed_generation
    return web.json_response({"error": error}, status=status, headers=headers)


async def start_fake_groq(aiohttp_server: AiohttpServer, fake: FakeGroq | None = None) -> FakeGroq:
    """Serve ``fake`` (a new one by default) on 127.0.0.1 at a free port; sets ``fake.base_url``."""
    fake = fake or FakeGroq()
    server = await aiohttp_server(fake.app())
    fake.base_url = str(server.make_url("")).rstrip("/")
    return fake


# ------------------------------------------------------------------------------------------------------------
# Helpers for analyzer tests: a stand-in rules analyzer, a page source, and a context that records.
# ------------------------------------------------------------------------------------------------------------


class KeywordRules(Analyzer):
    """A deterministic stand-in for the rules analyzer: flags each sentence naming one of ``keywords``."""

    name = "rules"

    def __init__(self, keywords: dict[str, tuple[str, int]] | None = None, *, fail: Exception | None = None) -> None:
        self.keywords = keywords if keywords is not None else {"crimea": ("sanctions", 5)}
        self.fail = fail
        self.pages_seen: list[int] = []
        self.closed = 0

    async def analyze(self, pages: AsyncIterator[ExtractedPage], ctx: AnalysisContext) -> AnalysisResult:
        findings: list[Finding] = []
        async for page in pages:
            self.pages_seen.append(page.number)
            if self.fail is not None:
                raise self.fail
            for sentence in _SENTENCE.findall(page.text):
                for word, (category, severity) in self.keywords.items():
                    if word in sentence.lower():
                        finding = Finding(
                            id=f"rule-{word}-{page.number}-{len(findings)}",
                            category=category,
                            title=f"Mentions {word}",
                            severity=severity,
                            why_it_matters="A deterministic rule matched.",
                            recommendation="Check it.",
                            evidence=[Evidence(page.number, sentence.strip())],
                            rule_id=f"kw.{word}",
                            source="rules",
                        )
                        findings.append(finding)
                        await ctx.on_finding(finding)
        risk = max((f.severity for f in findings), default=0) / 5
        return AnalysisResult(findings=findings, overall_risk=risk, summary=f"{len(findings)} rule hit(s).")

    async def close(self) -> None:
        self.closed += 1


async def pages_of(*texts: str) -> AsyncIterator[ExtractedPage]:
    """The pages of a document, numbered from 1, as an extractor would yield them."""
    for number, text in enumerate(texts, start=1):
        yield ExtractedPage(number, text)


@dataclass
class Recorder:
    """An ``AnalysisContext`` that records the findings and progress it is given."""

    page_count: int
    findings: list[Finding] = field(default_factory=list)
    progress: list[tuple[int, int, str]] = field(default_factory=list)

    def ctx(self, doc_name: str = "doc.pdf") -> AnalysisContext:
        async def on_finding(finding: Finding) -> None:
            self.findings.append(finding)

        async def on_progress(done: int, total: int, message: str) -> None:
            self.progress.append((done, total, message))

        return AnalysisContext(doc_name, self.page_count, on_finding=on_finding, on_progress=on_progress)


@dataclass
class Sleeps:
    """An injectable ``sleep`` that records the delays asked for and returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
