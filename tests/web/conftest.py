"""Browser tests: a real server on 127.0.0.1, Debian's Chromium driven by playwright, axe-core.

No browser is downloaded: playwright launches ``/usr/bin/chromium`` (``.ci/run`` installs it
with apt). One browser serves the whole module; each test gets a fresh context, so a fresh
``sessionStorage``. Screenshots of every state go to ``$CSSE_SCREENSHOTS`` (default
``tmp/screenshots`` in the work tree).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect

from compliance_sse.analyzers.base import AnalysisContext, Analyzer
from compliance_sse.analyzers.rules import RulesAnalyzer
from compliance_sse.app import create_app
from compliance_sse.pipeline.models import AnalysisResult, ExtractedPage, Finding
from compliance_sse.settings import Settings
from tests.conftest import ROOT

CHROMIUM = os.environ.get("CSSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("CSSE_SCREENSHOTS") or ROOT / "tmp" / "screenshots")
# Generous: the machine running the suite may be busy. Every wait is on page state, never a sleep.
WAIT_MS = 45_000

expect.set_options(timeout=WAIT_MS)


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CSSE_CHROMIUM)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    _require_chromium()
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@dataclass
class Tab:
    """A page in a fresh browser context, with the errors it raised."""

    page: Page
    errors: list[str] = field(default_factory=list)


@pytest_asyncio.fixture(loop_scope="module")
async def new_tab(browser: Browser) -> AsyncIterator[Callable[[], Any]]:
    contexts = []

    async def make(width: int = 1100, height: int = 900) -> Tab:
        context = await browser.new_context(
            viewport={"width": width, "height": height}, reduced_motion="reduce", accept_downloads=True
        )
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        tab = Tab(page)
        page.on("pageerror", lambda exc: tab.errors.append(f"uncaught: {exc}"))
        page.on("dialog", lambda dialog: tab.errors.append(f"dialog: {dialog.message}"))

        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
                tab.errors.append(f"CSP: {message.text}")

        page.on("console", on_console)
        return tab

    yield make
    for context in contexts:
        await context.close()


@dataclass
class Server:
    app: web.Application
    url: str
    port: int


@contextlib.asynccontextmanager
async def serve(settings: Settings | None = None, *, analyzer: Analyzer | None = None) -> AsyncIterator[Server]:
    """The real service on 127.0.0.1 and a free port."""
    settings = settings or Settings(analyzer="rules", heartbeat_s=0.5)
    app = create_app(settings, analyzer=analyzer)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Server(app, f"http://127.0.0.1:{port}", port)
    finally:
        await runner.cleanup()


class GatedAnalyzer(Analyzer):
    """The rules analyzer, holding the job after its first ``hold_after`` findings until ``gate`` is set.

    The job is then mid-analysis with findings already sent: what a person sees on a long
    document, for as long as the test needs to look at it.
    """

    name = "rules"

    def __init__(self, inner: Analyzer, hold_after: int = 1) -> None:
        self.inner = inner
        self.hold_after = hold_after
        self.gate = asyncio.Event()
        self.held = asyncio.Event()
        self.fail_with: Exception | None = None  # raised when the gate opens, to end the job with an error

    async def analyze(self, pages: AsyncIterator[ExtractedPage], ctx: AnalysisContext) -> AnalysisResult:
        seen = 0
        emit = ctx.on_finding

        async def on_finding(finding: Finding) -> None:
            nonlocal seen
            await emit(finding)
            seen += 1
            if seen == self.hold_after:
                self.held.set()
                await self.gate.wait()
                if self.fail_with is not None:
                    raise self.fail_with

        ctx.on_finding = on_finding
        return await self.inner.analyze(pages, ctx)

    async def wait_held(self) -> None:
        await asyncio.wait_for(self.held.wait(), WAIT_MS / 1000)


@pytest_asyncio.fixture(loop_scope="module")
async def gated() -> AsyncIterator[GatedAnalyzer]:
    analyzer = GatedAnalyzer(await asyncio.to_thread(RulesAnalyzer))
    yield analyzer
    analyzer.gate.set()


def text_pdf(pages: list[str]) -> bytes:
    """A PDF with one page per string, in a core font (Latin-1)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


RISKY_PAGES = [
    "Payment memo. The buyer will pay in cash in several amounts of USD 9,900 to stay below the reporting "
    "threshold. Payments go to a third party account in the British Virgin Islands.",
    "Goods will be shipped to Crimea via a transit port to avoid sanctions screening.",
]


async def snap(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of the current state (the whole page, or what the window shows)."""
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


_AXE = Axe()


async def assert_accessible(page: Page, state: str) -> None:
    """axe-core (from the axe-playwright-python package, no CDN) finds nothing serious or critical."""
    results = await _AXE.run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    summary = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in bad]
    assert not bad, f"axe on state {state!r}: {summary}"


# Keeps every EventSource the page makes, so a test can read its readyState (2: closed by the page).
TRACK_EVENT_SOURCES = """(() => {
  const Native = window.EventSource;
  window.__sources = [];
  window.EventSource = class extends Native {
    constructor(...args) { super(...args); window.__sources.push(this); }
  };
})();"""


async def event_source_states(page: Page) -> list[int]:
    return [int(s) for s in await page.evaluate("window.__sources.map((s) => s.readyState)")]


async def open_page(tab: Tab, url: str) -> Page:
    await tab.page.goto(url)
    await expect(tab.page.locator("body")).to_have_attribute("data-ready", "true")
    return tab.page


async def choose_file(page: Page, name: str, data: bytes, mime: str = "application/pdf") -> None:
    await page.locator("#file").set_input_files({"name": name, "mimeType": mime, "buffer": data})
    await expect(page.locator("#file-name")).to_contain_text(name)


_REQUEST_LINE = re.compile(rb"(?:^|\r\n)((?:GET|POST|HEAD|PUT|DELETE|OPTIONS) \S+ HTTP/1\.[01])\r\n")


class CutProxy:
    """Forwards ``127.0.0.1:<port>`` to the server and cuts the connections the test names.

    ``requests`` holds every request line that went through; :meth:`cut` aborts (RST) the
    browser's connections whose latest request starts with a prefix, and their upstream side.
    """

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._server: asyncio.Server | None = None
        self._links: dict[int, tuple[asyncio.StreamWriter, asyncio.StreamWriter, list[bytes]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests: list[bytes] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> CutProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for client, upstream, _ in list(self._links.values()):
            client.transport.abort()
            upstream.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def cut(self, prefix: bytes) -> int:
        """Abort every open connection whose latest request starts with ``prefix``; how many were cut."""
        cut = 0
        for client, upstream, seen in list(self._links.values()):
            if seen and seen[-1].startswith(prefix):
                client.transport.abort()
                upstream.transport.abort()
                cut += 1
        return cut

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        seen: list[bytes] = []
        self._links[id(client_writer)] = (client_writer, upstream_writer, seen)

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bool) -> None:
            with contextlib.suppress(OSError):
                while data := await reader.read(65536):
                    if record:
                        lines = _REQUEST_LINE.findall(data)
                        seen.extend(lines)
                        self.requests.extend(lines)
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()

        try:
            await asyncio.gather(
                pump(client_reader, upstream_writer, True), pump(upstream_reader, client_writer, False)
            )
        finally:
            del self._links[id(client_writer)]
            self._tasks.discard(task)
