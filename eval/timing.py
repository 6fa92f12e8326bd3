"""Time the rules analyzer per page on a 300-page document built from the evaluation pages, or on a PDF.

``python -m eval.timing [--pages 300] [--pdf FILE] [--repeat N]`` prints the mean, median and worst time per page
of ``feed`` (the work that ``RulesAnalyzer.analyze`` hands to ``ctx.run_blocking``), and the time of the whole
``analyze`` call. ``--pdf`` times the pages pypdf extracts from ``FILE`` instead of the built document (for
example ``bench/out/unique-300-pages.pdf``); ``--repeat`` analyses the pages that many times (the machine is
shared and noisy) and ends with the median and range of the per-page means.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

from compliance_sse.analyzers.base import AnalysisContext
from compliance_sse.analyzers.rules import RulesAnalyzer
from compliance_sse.pipeline.models import ExtractedPage

from .generate import FILLER, generate

__all__ = ["build_pages", "main", "pdf_pages"]


def build_pages(n: int, chars: int = 3000) -> list[str]:
    """``n`` pages of about ``chars`` characters: evaluation pages padded with filler, so findings are realistic."""
    source = [t for d in generate() if not d.text_only for t in d.page_texts()]
    pages = []
    for i in range(n):
        text = source[i % len(source)]
        k = i
        while len(text) < chars:
            text += "\n" + FILLER[k % len(FILLER)]
            k += 7
        pages.append(text)
    return pages


def pdf_pages(path: Path) -> list[str]:
    """The text of each page of the PDF at ``path``, as pypdf extracts it (the service's extractor)."""
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path, strict=False).pages]


def _time_feed(analyzer: RulesAnalyzer, pages: list[str]) -> tuple[list[float], int]:
    """Seconds each page's ``feed`` took, and the number of findings."""
    doc = analyzer.new_document(len(pages))
    times = []
    for number, text in enumerate(pages, start=1):
        t0 = time.perf_counter()
        doc.feed(ExtractedPage(number, text))
        times.append(time.perf_counter() - t0)
    doc.finish()
    return times, len(doc.result().findings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--pdf", type=Path, help="time the pages of this PDF instead of the built document")
    parser.add_argument("--repeat", type=int, default=1, help="analyse the pages this many times")
    args = parser.parse_args(argv)
    pages = pdf_pages(args.pdf) if args.pdf else build_pages(args.pages)
    analyzer = RulesAnalyzer()

    async def stream() -> AsyncIterator[ExtractedPage]:
        for number, text in enumerate(pages, start=1):
            yield ExtractedPage(number, text)

    means = []
    for _ in range(max(args.repeat, 1)):
        times, findings = _time_feed(analyzer, pages)
        t0 = time.perf_counter()
        asyncio.run(analyzer.analyze(stream(), AnalysisContext(doc_name="timing", page_count=len(pages))))
        total = time.perf_counter() - t0
        ms = sorted(t * 1000 for t in times)
        means.append(statistics.mean(ms))
        print(
            f"{len(pages)} pages, {sum(map(len, pages)) / len(pages):.0f} chars/page, {findings} findings: "
            f"per page mean {statistics.mean(ms):.2f} ms, median {statistics.median(ms):.2f} ms, "
            f"p95 {ms[int(len(ms) * 0.95)]:.2f} ms, max {ms[-1]:.2f} ms; whole analyze() {total:.2f} s"
        )
    if len(means) > 1:
        print(
            f"per-page mean over {len(means)} runs: median {statistics.median(means):.2f} ms, "
            f"range {min(means):.2f}-{max(means):.2f} ms"
        )


if __name__ == "__main__":
    main()
