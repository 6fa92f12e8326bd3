"""The page in a real browser: every state a person meets, checked by behaviour and by axe-core."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from playwright.async_api import FileChooser, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from compliance_sse.errors import AnalyzerUnavailable
from compliance_sse.settings import Settings
from tests.web.conftest import (
    RISKY_PAGES,
    TRACK_EVENT_SOURCES,
    CutProxy,
    GatedAnalyzer,
    Tab,
    assert_accessible,
    choose_file,
    event_source_states,
    open_page,
    serve,
    snap,
    text_pdf,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

NewTab = Callable[..., Any]
STEP_ORDER = ["queued", "ingest", "extract", "analyze", "report"]


def step(page: Page, stage: str) -> Any:
    return page.locator(f'#steps li[data-stage="{stage}"]')


async def report_json(page: Page) -> dict[str, Any]:
    async with page.expect_download() as info:
        await page.locator("#download-json").click()
    download = await info.value
    path = await download.path()
    assert download.suggested_filename.endswith(".json")
    return dict(json.loads(path.read_text()))


async def wait_report(page: Page) -> dict[str, Any]:
    await expect(page.locator("#report-panel")).to_be_visible()
    await expect(page.locator("#level")).to_have_text(re.compile(r"^(CRITICAL|HIGH|MEDIUM|LOW|MINIMAL)$"))
    return await report_json(page)


async def finding_ids(page: Page) -> list[str]:
    return [str(i) for i in await page.locator(".finding").evaluate_all("els => els.map(e => e.dataset.flagId)")]


async def test_streaming_shows_steps_and_findings_before_done(new_tab: NewTab, gated: GatedAnalyzer) -> None:
    async with serve(analyzer=gated) as server:
        tab: Tab = await new_tab()
        page = await open_page(tab, server.url)
        await expect(page.locator("#live")).to_be_checked()
        await snap(page, "01-idle")
        await assert_accessible(page, "idle")

        await choose_file(page, "payment-memo.pdf", text_pdf(RISKY_PAGES))
        await page.locator("#analyze").click()

        # Held mid-analysis: steps have advanced, a finding is on screen, no report yet.
        await expect(page.locator(".finding")).to_have_count(1)
        await expect(step(page, "queued")).to_have_attribute("data-state", "done")
        await expect(step(page, "ingest")).to_have_attribute("data-state", "done")
        await expect(step(page, "report")).to_have_attribute("data-state", "pending")
        active = page.locator('#steps li[data-state="active"]')
        await expect(active).to_have_count(1)
        assert await active.get_attribute("data-stage") in ("extract", "analyze")
        await expect(page.locator("#pages")).to_have_text(re.compile(r"^Page \d of 2$"))
        await expect(page.locator("#eta")).to_be_visible()
        await expect(page.locator("#conn-text")).to_contain_text("heartbeat")  # heartbeat_s=0.5
        await expect(page.locator("#report-panel")).to_be_hidden()
        first = page.locator(".finding").first
        await expect(first.locator(".badge")).to_have_text(re.compile(r"^(Critical|High|Medium|Low|Info) · \d/5$"))
        assert re.fullmatch(r"#job=[A-Za-z0-9_-]+", await page.evaluate("location.hash"))
        await snap(page, "02-live")
        await assert_accessible(page, "live")

        gated.gate.set()
        report = await wait_report(page)
        for stage in STEP_ORDER:
            await expect(step(page, stage)).to_have_attribute("data-state", "done")
        assert report["flags"], "the risky memo must have findings"
        await expect(page.locator(".finding")).to_have_count(len(report["flags"]))
        assert sorted(await finding_ids(page)) == sorted(f["id"] for f in report["flags"])
        events = await page.locator("#findings").get_attribute("data-flag-events")
        assert events == str(len(report["flags"])), "each flag event arrived once"
        await expect(page.locator("#level")).to_have_text(report["risk_level"])
        await expect(page.locator("#summary")).to_have_text(report["summary"])
        quote = report["flags"][0]["evidence"][0]
        evidence = page.locator(".finding figure", has_text=quote["quote"]).first
        await expect(evidence.locator("figcaption")).to_have_text(f"Page {quote['page']}")
        await snap(page, "03-report")
        await page.locator("#live-panel").evaluate("e => e.scrollIntoView()")
        await snap(page, "03-report-view", full_page=False)
        await assert_accessible(page, "report")

        async with page.expect_download() as info:
            await page.locator("#download-md").click()
        markdown = (await (await info.value).path()).read_text()
        assert "payment-memo.pdf" in markdown and report["risk_level"] in markdown
        job_id = report["job_id"]
        await expect(page.locator("#job-link")).to_have_attribute("href", f"{server.url}/#job={job_id}")
        await expect(page.locator("#recent a", has_text="payment-memo.pdf")).to_have_count(1)
        assert tab.errors == []


async def test_streaming_off_waits_for_the_report_with_a_spinner(new_tab: NewTab, gated: GatedAnalyzer) -> None:
    async with serve(analyzer=gated) as server:
        tab: Tab = await new_tab()
        page = await open_page(tab, server.url)
        await page.locator("label.switch").click()
        await expect(page.locator("#live")).not_to_be_checked()
        await choose_file(page, "payment-memo.pdf", text_pdf(RISKY_PAGES))
        await page.locator("#analyze").click()
        await expect(page.locator("#spinner")).to_be_visible()
        await expect(page.locator("#steps")).to_be_hidden()
        await expect(page.locator("#analyze")).to_be_disabled()
        await gated.wait_held()
        await snap(page, "04-waiting")
        await assert_accessible(page, "waiting")
        await expect(page.locator(".finding")).to_have_count(0)  # nothing streams in this mode

        gated.gate.set()
        report = await wait_report(page)
        await expect(page.locator("#spinner")).to_be_hidden()
        await expect(page.locator(".finding")).to_have_count(len(report["flags"]))
        assert tab.errors == []


async def test_falls_back_by_itself_when_streaming_cannot_start(new_tab: NewTab) -> None:
    async with serve() as server:
        tab: Tab = await new_tab()
        page = await open_page(tab, server.url)
        await page.route("**/analyze_sse", lambda route: route.abort())
        await choose_file(page, "payment-memo.pdf", text_pdf(RISKY_PAGES))
        await page.locator("#analyze").click()
        await expect(page.locator("#notice")).to_contain_text("Live streaming could not start")
        report = await wait_report(page)
        await expect(page.locator(".finding")).to_have_count(len(report["flags"]))
        await snap(page, "05-fallback")
        await assert_accessible(page, "fallback")


async def test_refuses_a_file_too_large_or_not_a_pdf_before_sending(new_tab: NewTab) -> None:
    async with serve(Settings(analyzer="rules", max_upload_mb=0.05)) as server:
        tab: Tab = await new_tab()
        page = await open_page(tab, server.url)
        posts: list[str] = []
        page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
        await expect(page.locator("#cap")).to_have_text("51 KB")

        big = b"%PDF-1.4\n" + b"0" * 60_000
        await choose_file(page, "big.pdf", big)
        await expect(page.locator("#form-error")).to_have_text("“big.pdf” is 59 KB, over the limit of 51 KB.")
        await snap(page, "06-too-large")
        await assert_accessible(page, "too large")
        await page.locator("#analyze").click()
        await expect(page.locator("#form-error")).to_contain_text("Choose another file")

        await choose_file(page, "notes.txt", b"just text", mime="text/plain")
        await expect(page.locator("#form-error")).to_have_text(
            "“notes.txt” is not a PDF. Choose a file ending in .pdf."
        )
        await choose_file(page, "fake.pdf", b"GIF89a" + b"\0" * 2000)
        await expect(page.locator("#form-error")).to_have_text("“fake.pdf” is not a PDF: it does not start like one.")
        await snap(page, "07-not-a-pdf")
        await assert_accessible(page, "not a pdf")
        await page.locator("#analyze").click()
        await expect(page.locator("#live-panel")).to_be_hidden()
        assert posts == [], "a refused file is never sent"
        assert tab.errors == []


async def test_password_field_appears_when_the_pdf_needs_one(new_tab: NewTab, pdf: Callable[[str], bytes]) -> None:
    async with serve() as server:
        tab: Tab = await new_tab()
        page = await open_page(tab, server.url)
        await expect(page.locator("#password-row")).to_be_hidden()
        await choose_file(page, "locked.pdf", pdf("s11"))
        await page.locator("#analyze").click()
        await expect(page.locator("#password-row")).to_be_visible()
        await expect(page.locator("#password")).to_be_focused()
        await expect(page.locator("#form-error")).to_have_text(
            "“locked.pdf” is protected by a password. Enter it below and press Analyse again."
        )
        await expect(page.locator("#run-error")).to_contain_text("password")
        await expect(page.locator("#run-error")).not_to_contain_text("{")  # a sentence, not JSON
        await snap(page, "08-password")
        await assert_accessible(page, "password required")

        await page.locator("#password").fill("not-it")
        await page.locator("#analyze").click()
        await expect(page.locator("#form-error")).to_have_text(
            "That password does not open “locked.pdf”. Check it and press Analyse again."
        )
        await expect(page.locator("#password-row")).to_be_visible()

        await page.locator("#password").fill("openpassword")
        await page.locator("#analyze").click()
        report = await wait_report(page)
        assert report["doc_name"] == "locked.pdf" and report["page_count"] == 1
        assert tab.errors == []


@contextlib.asynccontextmanager
async def behind_proxy(
    new_tab: NewTab, analyzer: GatedAnalyzer, settings: Settings | None = None
) -> AsyncIterator[tuple[CutProxy, Tab, Page]]:
    """The service behind a proxy that cuts on demand, and a tab on the page through it."""
    async with serve(settings, analyzer=analyzer) as server, CutProxy(server.port) as proxy:
        tab: Tab = await new_tab()
        await tab.page.add_init_script(TRACK_EVENT_SOURCES)
        yield proxy, tab, await open_page(tab, proxy.url)


async def cut_after_first_finding(page: Page, proxy: CutProxy) -> list[bytes]:
    """Upload the memo, and once its first finding shows, cut the stream; the request lines that resumed it."""
    await choose_file(page, "payment-memo.pdf", text_pdf(RISKY_PAGES))
    await page.locator("#analyze").click()
    await expect(page.locator(".finding")).to_have_count(1)
    before = await finding_ids(page)
    assert proxy.cut(b"POST /analyze_sse") == 1
    await expect(page.locator("#notice")).to_have_text("Resumed: the stream picked up where it stopped.")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    assert await finding_ids(page) == before
    resumed = [r for r in proxy.requests if b"/events?" in r]
    assert resumed and b"last_event_id=" in resumed[0], proxy.requests
    return resumed


async def test_a_cut_stream_resumes_without_a_duplicate_finding(new_tab: NewTab, gated: GatedAnalyzer) -> None:
    async with behind_proxy(new_tab, gated) as (proxy, tab, page):
        await cut_after_first_finding(page, proxy)
        await expect(page.locator(".finding")).to_have_count(1)
        await snap(page, "09-resumed")
        await assert_accessible(page, "resumed")

        gated.gate.set()
        report = await wait_report(page)
        events = await page.locator("#findings").get_attribute("data-flag-events")
        assert events == str(len(report["flags"])), "no flag event came twice"
        ids = await finding_ids(page)
        assert len(ids) == len(set(ids)) == len(report["flags"])
        # After `done` the page closes its EventSource: no reconnect follows.
        await expect(page.locator("#conn")).to_have_attribute("data-state", "closed")
        assert await event_source_states(page) == [2]
        assert await page.evaluate("document.querySelectorAll('.finding').length") == len(report["flags"])
        assert tab.errors == []


async def test_a_job_error_after_a_resume_is_shown_and_ends_the_stream(new_tab: NewTab, gated: GatedAnalyzer) -> None:
    gated.fail_with = AnalyzerUnavailable("The analysis service did not answer. Retrying later may help.")
    async with behind_proxy(new_tab, gated) as (proxy, tab, page):
        await cut_after_first_finding(page, proxy)

        # The server's `error` event (it has data) comes through the EventSource: shown, and final.
        gated.gate.set()
        await expect(page.locator("#run-error")).to_have_text(
            "The analysis service did not answer. Retrying later may help."
        )
        await expect(page.locator("#conn-text")).to_have_text("Stopped")
        await expect(page.locator('#steps li[data-state="failed"]')).to_have_count(1)
        await expect(page.locator("#report-panel")).to_be_hidden()
        await expect(page.locator("#analyze")).to_be_enabled()
        await expect(page.locator("#recent li[data-status=failed]")).to_have_count(1)
        await snap(page, "15-job-error")
        await assert_accessible(page, "job error")
        assert await event_source_states(page) == [2], "the page closed its EventSource after the error"
        assert tab.errors == []


async def test_a_finished_job_reopens_from_its_link(new_tab: NewTab) -> None:
    async with serve() as server:
        tab: Tab = await new_tab()
        page = await open_page(tab, server.url)
        await choose_file(page, "payment-memo.pdf", text_pdf(RISKY_PAGES))
        await page.locator("#analyze").click()
        report = await wait_report(page)
        link = await page.locator("#job-link").get_attribute("href")
        assert link == f"{server.url}/#job={report['job_id']}"
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        await page.locator("#copy-link").click()
        await expect(page.locator("#copy-status")).to_have_text("Link copied. Opening it shows this job again.")
        assert await page.evaluate("navigator.clipboard.readText()") == link

        other: Tab = await new_tab(390, 844)  # a phone
        page2 = await open_page(other, link)
        again = await wait_report(page2)
        assert again == report
        await expect(page2.locator(".finding")).to_have_count(len(report["flags"]))
        await expect(page2.locator("#live-doc")).to_have_text("payment-memo.pdf")
        await expect(page2.locator("#recent a", has_text="payment-memo.pdf")).to_have_count(1)
        await snap(page2, "10-reopened")
        await assert_accessible(page2, "reopened")

        await page2.locator("#report-panel").evaluate("e => e.scrollIntoView()")
        await snap(page2, "10-reopened-phone", full_page=False)

        # An unknown job: the error's sentence, not its JSON.
        await page2.goto(f"{server.url}/#job=nosuchjob")
        await page2.reload()
        await expect(page2.locator("#run-error")).to_have_text("No such job.")
        await expect(page2.locator("#report-panel")).to_be_hidden()

        # The recent list opens jobs too: a second job, then back to the first through the list.
        await page2.goto(server.url)
        await expect(page2.locator("body")).to_have_attribute("data-ready", "true")
        await choose_file(page2, "second.pdf", text_pdf(RISKY_PAGES[1:]))
        await page2.locator("#analyze").click()
        await expect(page2.locator("#doc-meta")).to_contain_text("second.pdf")
        await page2.locator("#recent a", has_text="payment-memo.pdf").click()
        await expect(page2.locator("#doc-meta")).to_contain_text("payment-memo.pdf")
        assert tab.errors == [] and other.errors == []


async def _choose_by_key(page: Page, tries: int = 3) -> FileChooser:
    """Open the focused file input's chooser with the Space key. Headless Chromium now and then drops the activation a
    key press gives a file input, so the key is pressed again (a person would too), up to ``tries`` times."""
    for attempt in range(1, tries + 1):
        try:
            async with page.expect_file_chooser(timeout=15_000) as chooser:
                await page.keyboard.press("Space")
            break
        except PlaywrightTimeoutError:
            if attempt == tries:
                raise
            await expect(page.locator("#file")).to_be_focused()
    return await chooser.value


async def test_keyboard_only(new_tab: NewTab) -> None:
    async with serve() as server:
        tab: Tab = await new_tab()
        page = await open_page(tab, server.url)

        async def tab_to(element_id: str) -> None:
            for _ in range(40):
                await page.keyboard.press("Tab")
                if await page.evaluate("document.activeElement && document.activeElement.id") == element_id:
                    return
            raise AssertionError(f"Tab never reached #{element_id}")

        await page.keyboard.press("Tab")
        await expect(page.locator("a.skip")).to_be_focused()
        await tab_to("file")
        await (await _choose_by_key(page)).set_files(
            {"name": "payment-memo.pdf", "mimeType": "application/pdf", "buffer": text_pdf(RISKY_PAGES)}
        )
        await expect(page.locator("#file-name")).to_contain_text("payment-memo.pdf")
        await snap(page, "11-keyboard-focus")
        await tab_to("live")
        await page.keyboard.press("Space")
        await expect(page.locator("#live")).not_to_be_checked()
        await page.keyboard.press("Space")
        await expect(page.locator("#live")).to_be_checked()
        await tab_to("analyze")
        await page.keyboard.press("Enter")
        await expect(page.locator("#report-title")).to_be_focused()
        await tab_to("download-json")
        async with page.expect_download() as info:
            await page.keyboard.press("Enter")
        assert (await info.value).suggested_filename == "payment-memo.json"
        assert tab.errors == []


async def test_file_name_and_document_text_are_shown_as_text(new_tab: NewTab) -> None:
    name = "<script>window.pwned=1<script><img src=x onerror=window.pwned=2>.pdf"
    pages = [RISKY_PAGES[0].replace("threshold.", "threshold. <script>window.pwned=3</script>")]
    async with serve() as server:
        tab: Tab = await new_tab()
        page = await open_page(tab, server.url)
        await choose_file(page, name, text_pdf(pages))
        await page.locator("#analyze").click()
        report = await wait_report(page)
        await expect(page.locator("#live-doc")).to_have_text(name)
        await expect(page.locator("#doc-meta")).to_contain_text(report["doc_name"])
        quotes = page.locator("blockquote", has_text="<script>window.pwned=3</script>")
        assert await quotes.count() >= 1
        await expect(page.locator("#recent a").first).to_have_text(report["doc_name"])
        assert await page.evaluate("window.pwned === undefined")
        assert await page.evaluate("document.querySelectorAll('script').length") == 1
        assert await page.evaluate("document.querySelectorAll('img').length") == 1  # the logo
        await snap(page, "12-script-as-text")
        assert tab.errors == []


async def test_with_api_keys_the_page_asks_once_and_resumes_with_the_signed_url(
    new_tab: NewTab, gated: GatedAnalyzer
) -> None:
    settings = Settings(analyzer="rules", heartbeat_s=0.5, api_keys={"key-of-acme": "acme"})
    async with behind_proxy(new_tab, gated, settings) as (proxy, tab, page):
        await expect(page.locator("#key-panel")).to_be_visible()
        await expect(page.locator("#key")).to_be_focused()
        await snap(page, "13-api-key")
        await assert_accessible(page, "api key")

        await page.locator("#key").fill("not-a-key")
        await page.locator("#key").press("Enter")
        await expect(page.locator("#key-message")).to_have_text("The API key was not accepted. Enter a valid key.")
        await expect(page.locator("#key-panel")).to_be_visible()
        await page.locator("#key").fill("key-of-acme")
        await page.locator("#key").press("Enter")
        await expect(page.locator("#key-panel")).to_be_hidden()
        assert await page.evaluate("sessionStorage.getItem('compliance-sse.api-key')") == "key-of-acme"
        await expect(page.locator("#recent-empty")).to_be_visible()

        resumed = await cut_after_first_finding(page, proxy)
        assert b"token=" in resumed[0], resumed
        gated.gate.set()
        report = await wait_report(page)
        assert await page.locator("#findings").get_attribute("data-flag-events") == str(len(report["flags"]))
        async with page.expect_download() as info:
            await page.locator("#download-md").click()
        assert "payment-memo.pdf" in (await (await info.value).path()).read_text()

        # The key lasts for the tab: a reload keeps it, a new tab asks again.
        await page.reload()
        await expect(page.locator("body")).to_have_attribute("data-ready", "true")
        await expect(page.locator("#key-panel")).to_be_hidden()
        await expect(page.locator("#level")).to_have_text(report["risk_level"])
        other: Tab = await new_tab()
        page2 = await open_page(other, f"{proxy.url}/#job={report['job_id']}")
        await expect(page2.locator("#key-panel")).to_be_visible()
        await page2.locator("#key").fill("key-of-acme")
        await page2.locator("#key").press("Enter")
        await expect(page2.locator("#level")).to_have_text(report["risk_level"])
        assert tab.errors == [] and other.errors == []


async def test_a_dropped_file_is_analysed(new_tab: NewTab) -> None:
    async with serve() as server:
        tab: Tab = await new_tab()
        page = await open_page(tab, server.url)
        transfer = await page.evaluate_handle(
            """(bytes) => {
                const transfer = new DataTransfer();
                transfer.items.add(new File([new Uint8Array(bytes)], "dropped.pdf", { type: "application/pdf" }));
                return transfer;
            }""",
            list(text_pdf(RISKY_PAGES[1:])),
        )
        await page.dispatch_event("#drop", "dragenter", {"dataTransfer": transfer})
        await expect(page.locator("#drop")).to_have_class(re.compile(r"\bover\b"))
        await snap(page, "14-drag-over")
        await page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
        await expect(page.locator("#drop")).not_to_have_class(re.compile(r"\bover\b"))
        await expect(page.locator("#file-name")).to_contain_text("dropped.pdf")
        await page.locator("#analyze").click()
        report = await wait_report(page)
        assert report["doc_name"] == "dropped.pdf"
        assert tab.errors == []
