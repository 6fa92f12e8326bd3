"""Time the rules analyzer per page on a 300-page document built from the evaluation pages.

``python -m eval.timing [--pages 300]`` prints the mean, median and worst time per page of ``feed`` (the work that
``RulesAnalyzer.analyze`` hands to ``ctx.run_blocking``), and the time of the whole ``analyze`` call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator

from compliance_sse.analyzers.base import AnalysisContext
from compliance_sse.analyzers.rules import RulesAnalyzer
from compliance_sse.pipeline.models import ExtractedPage

from .generate import FILLER, generate

__all__ = ["build_pages", "main"]


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=300)
    args = parser.parse_args(argv)
    pages = build_pages(args.pages)
    analyzer = RulesAnalyzer()
    doc = analyzer.new_document(len(pages))
    times = []
    for number, text in enumerate(pages, start=1):
        t0 = time.perf_counter()
        doc.feed(ExtractedPage(number, text))
        times.append(time.perf_counter() - t0)
    doc.finish()
    result = doc.result()

    async def stream() -> AsyncIterator[ExtractedPage]:
        for number, text in enumerate(pages, start=1):
            yield ExtractedPage(number, text)

    t0 = time.perf_counter()
    asyncio.run(analyzer.analyze(stream(), AnalysisContext(doc_name="timing", page_count=len(pages))))
    total = time.perf_counter() - t0
    ms = sorted(t * 1000 for t in times)
    print(
        f"{len(pages)} pages, {sum(map(len, pages)) / len(pages):.0f} chars/page, {len(result.findings)} findings: "
        f"per page mean {statistics.mean(ms):.2f} ms, median {statistics.median(ms):.2f} ms, "
        f"p95 {ms[int(len(ms) * 0.95)]:.2f} ms, max {ms[-1]:.2f} ms; whole analyze() {total:.2f} s"
    )


if __name__ == "__main__":
    main()
