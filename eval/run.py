"""Score the rules analyzer on the synthetic evaluation set: precision and recall per category, decoys, clean risk.

Two paths over the same documents: ``pdf`` draws each document as a PDF (fpdf2), extracts it page by page with
pypdf and streams the pages through ``RulesAnalyzer.analyze``; ``text`` feeds the generator's page texts directly
(it also holds the garbled-page document, which the core PDF fonts cannot draw).

A gold positive is found when a finding of its category quotes its marker on its page. A finding is a true
positive when it finds some gold positive of its category in its document, otherwise a false positive. A decoy is
flagged when any finding quotes it.

``python -m eval.run [--seed N] [--json FILE] [--check]``; ``--check`` exits 1 when a target is missed
(precision or recall below 0.9 in a category, a decoy flagged, a clean document above 0.3).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance_sse.analyzers.base import AnalysisContext
from compliance_sse.analyzers.rules import RulesAnalyzer
from compliance_sse.pipeline.models import CATEGORIES, AnalysisResult, ExtractedPage, Finding

from .generate import DEFAULT_SEED, Document, GoldItem, generate, gold_of, write_pdf

__all__ = ["Score", "evaluate", "main", "score"]

TARGET = 0.9
CLEAN_MAX_RISK = 0.3


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


@dataclass(slots=True)
class Score:
    tp: dict[str, int] = field(default_factory=dict)
    fp: dict[str, int] = field(default_factory=dict)
    fn: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    gold: dict[str, int] = field(default_factory=dict)
    decoys: int = 0
    decoys_flagged: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    clean_risk: dict[str, float] = field(default_factory=dict)
    risk: dict[str, float] = field(default_factory=dict)

    def precision(self, cat: str) -> float | None:
        n = self.tp.get(cat, 0) + self.fp.get(cat, 0)
        return None if n == 0 else self.tp.get(cat, 0) / n

    def recall(self, cat: str) -> float | None:
        n = self.gold.get(cat, 0)
        return None if n == 0 else self.found.get(cat, 0) / n


def _hits(finding: Finding, item: GoldItem) -> bool:
    marker = _norm(item.marker)
    return any(ev.page == item.page and marker in _norm(ev.quote) for ev in finding.evidence)


def score(results: dict[str, AnalysisResult], docs: list[Document], gold: list[GoldItem]) -> Score:
    s = Score()
    by_doc: dict[str, list[GoldItem]] = {}
    for g in gold:
        by_doc.setdefault(g.doc_id, []).append(g)
    for doc in docs:
        if doc.doc_id not in results:
            continue
        result = results[doc.doc_id]
        items = by_doc.get(doc.doc_id, [])
        positives = [g for g in items if g.kind == "positive"]
        s.risk[doc.doc_id] = result.overall_risk
        if doc.doc_type == "clean":
            s.clean_risk[doc.doc_id] = result.overall_risk
        for g in positives:
            s.gold[g.category] = s.gold.get(g.category, 0) + 1
            if any(f.category == g.category and _hits(f, g) for f in result.findings):
                s.found[g.category] = s.found.get(g.category, 0) + 1
            else:
                s.misses.append(f"{doc.doc_id} p{g.page} {g.category}/{g.name}: {g.marker!r}")
        for f in result.findings:
            if any(g.category == f.category and _hits(f, g) for g in positives):
                s.tp[f.category] = s.tp.get(f.category, 0) + 1
            else:
                s.fp[f.category] = s.fp.get(f.category, 0) + 1
                quote = f.evidence[0].quote if f.evidence else ""
                s.false_positives.append(f"{doc.doc_id} {f.rule_id}: {quote[:100]!r}")
        for g in items:
            if g.kind != "decoy":
                continue
            s.decoys += 1
            marker = _norm(g.marker)
            if any(marker in _norm(ev.quote) for f in result.findings for ev in f.evidence):
                s.decoys_flagged.append(f"{doc.doc_id} {g.category}/{g.name}: {g.marker!r}")
    return s


async def _pages(texts: list[str]) -> AsyncIterator[ExtractedPage]:
    for number, text in enumerate(texts, start=1):
        yield ExtractedPage(number, text)


def _extract(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf), strict=False)
    return [page.extract_text() for page in reader.pages]


async def _analyse(analyzer: RulesAnalyzer, name: str, texts: list[str]) -> AnalysisResult:
    ctx = AnalysisContext(doc_name=name, page_count=len(texts))
    return await analyzer.analyze(_pages(texts), ctx)


def evaluate(seed: int = DEFAULT_SEED) -> dict[str, tuple[Score, list[Document]]]:
    """Run both paths; returns ``{"pdf": (score, docs), "text": (score, docs)}``."""
    docs = generate(seed)
    gold = gold_of(docs)
    analyzer = RulesAnalyzer()
    out: dict[str, tuple[Score, list[Document]]] = {}
    text_results = {d.doc_id: asyncio.run(_analyse(analyzer, d.doc_id, d.page_texts())) for d in docs}
    out["text"] = (score(text_results, docs, gold), docs)
    pdf_docs = [d for d in docs if not d.text_only]
    with tempfile.TemporaryDirectory() as tmp:
        pdf_results = {}
        for d in pdf_docs:
            path = Path(tmp) / f"{d.doc_id}.pdf"
            write_pdf(d, path)
            pdf_results[d.doc_id] = asyncio.run(_analyse(analyzer, d.doc_id, _extract(path.read_bytes())))
    out["pdf"] = (score(pdf_results, pdf_docs, gold), pdf_docs)
    return out


def _fmt(x: float | None) -> str:
    return "   -" if x is None else f"{x:4.2f}"


def _table(label: str, s: Score) -> list[str]:
    lines = [
        f"## {label}",
        "",
        "| category | gold | found | findings | FP | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for cat in CATEGORIES:
        gold_n = s.gold.get(cat, 0)
        n_find = s.tp.get(cat, 0) + s.fp.get(cat, 0)
        if not gold_n and not n_find:
            continue
        lines.append(
            f"| {cat} | {gold_n} | {s.found.get(cat, 0)} | {n_find} | {s.fp.get(cat, 0)} | "
            f"{_fmt(s.precision(cat))} | {_fmt(s.recall(cat))} |"
        )
    tp = sum(s.tp.values())
    fp = sum(s.fp.values())
    gold_total = sum(s.gold.values())
    found_total = sum(s.found.values())
    lines.append(
        f"| **all** | {gold_total} | {found_total} | {tp + fp} | {fp} | {_fmt(tp / max(tp + fp, 1))} | "
        f"{_fmt(found_total / max(gold_total, 1))} |"
    )
    lines.append("")
    lines.append(f"decoys: {s.decoys}, flagged: {len(s.decoys_flagged)}")
    for d in s.decoys_flagged:
        lines.append(f"  decoy flagged: {d}")
    risks = ", ".join(f"{k} {v:.2f}" for k, v in sorted(s.clean_risk.items()))
    lines.append(f"clean documents' overall_risk (max {max(s.clean_risk.values(), default=0):.2f}): {risks}")
    for m in s.misses:
        lines.append(f"  missed: {m}")
    for f in s.false_positives:
        lines.append(f"  false positive: {f}")
    lines.append("")
    return lines


def failures(s: Score) -> list[str]:
    out = []
    for cat in CATEGORIES:
        p, r = s.precision(cat), s.recall(cat)
        if p is not None and p < TARGET:
            out.append(f"precision {cat} {p:.2f}")
        if r is not None and r < TARGET:
            out.append(f"recall {cat} {r:.2f}")
    out += [f"decoy {d}" for d in s.decoys_flagged]
    out += [f"clean {k} {v:.2f}" for k, v in s.clean_risk.items() if v > CLEAN_MAX_RISK]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--json", type=Path, help="also write the scores as JSON here")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = evaluate(args.seed)
    lines = [f"# rules analyzer evaluation (seed {args.seed})", ""]
    for label in ("pdf", "text"):
        s, docs = results[label]
        lines += _table(f"{label} path: {len(docs)} documents", s)
    lines.append(f"took {time.perf_counter() - started:.1f} s")
    print("\n".join(lines))
    if args.json:
        data: dict[str, Any] = {
            label: {
                "precision": {c: s.precision(c) for c in CATEGORIES},
                "recall": {c: s.recall(c) for c in CATEGORIES},
                "decoys": s.decoys,
                "decoys_flagged": s.decoys_flagged,
                "clean_risk": s.clean_risk,
            }
            for label, (s, _) in results.items()
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    failed = [f"{label}: {f}" for label, (s, _) in results.items() for f in failures(s)]
    if failed:
        print("targets missed: " + "; ".join(failed), file=sys.stderr)
        return 1 if args.check else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
