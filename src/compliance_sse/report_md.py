"""The report as Markdown: shared by ``GET /jobs/{id}/report.md`` and ``compliance-sse analyze --format md``.

Every string from the document or the analyzer (file name, titles, quotes) is
escaped, so a PDF cannot put a link, an image or raw HTML into a rendered
report. ``_`` is escaped only where CommonMark could read it as emphasis, so
``s03_memo.pdf`` stays readable as plain text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

__all__ = ["report_markdown"]

_SEVERITY = {5: "critical", 4: "high", 3: "medium", 2: "low", 1: "info"}
_SPECIAL = re.compile(r"[\\`*<\[\]]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def _text(value: object, *, cell: bool = False) -> str:
    """One line of inline Markdown showing ``value`` literally (``cell``: inside a table row)."""
    flat = _SPECIAL.sub(lambda m: "\\" + m.group(0), " ".join(str(value).split()))
    if flat.startswith("#"):
        flat = "\\" + flat  # a heading when it starts a line
    return flat.replace("|", "\\|") if cell else flat


def _code(value: object) -> str:
    """Text for inside a code span, where escapes are shown as is."""
    return " ".join(str(value).replace("`", "'").split())


def _severity(flag: Mapping[str, Any]) -> int:
    try:
        return int(flag.get("severity", 0))
    except (TypeError, ValueError):
        return 0


def report_markdown(report: Mapping[str, Any]) -> str:
    """Risk level, summary, a findings table by severity, and the evidence with page numbers."""
    flags = sorted(report.get("flags") or [], key=lambda f: (-_severity(f), str(f.get("category", ""))))
    risk = report.get("overall_risk")
    risk_text = f"{float(risk):.2f}" if isinstance(risk, int | float) else "?"
    head = (
        f"**Risk: {_text(report.get('risk_level', '?'))}** (overall risk {risk_text}) · "
        f"{report.get('page_count', 0)} pages · analyzer `{_code(report.get('analyzer', '?'))}`"
    )
    if report.get("model"):
        head += f" (`{_code(report['model'])}`)"
    lines = [
        f"# Compliance report: {_text(report.get('doc_name', 'document'))}",
        "",
        head,
        "",
        "## Summary",
        "",
        _text(report.get("summary", "")) or "No summary.",
        "",
    ]
    notes = [str(n) for n in report.get("notes") or []]
    if report.get("truncated"):
        notes.append("The text was truncated before analysis.")
    page_errors = report.get("page_errors") or {}
    if page_errors:
        listed = ", ".join(f"p. {page} ({_text(word)})" for page, word in page_errors.items())
        notes.append(f"Text could not be extracted from some pages: {listed}.")
    if notes:
        lines += ["## Notes", "", *[f"- {_text(n)}" for n in dict.fromkeys(notes)], ""]
    lines += ["## Findings", ""]
    if not flags:
        return "\n".join([*lines, "No findings."]) + "\n"
    tally = Counter(_severity(f) for f in flags)
    lines += [
        "By severity: "
        + ", ".join(f"{tally[s]} {_SEVERITY.get(s, 'unrated')}" for s in sorted(tally, reverse=True))
        + ".",
        "",
        "| # | severity | category | finding | pages |",
        "|---|---|---|---|---|",
    ]
    for i, flag in enumerate(flags, 1):
        pages = sorted({e.get("page") for e in flag.get("evidence") or [] if isinstance(e.get("page"), int)})
        sev = _severity(flag)
        lines.append(
            f"| {i} | {sev} ({_SEVERITY.get(sev, '?')}) | {_text(flag.get('category', ''), cell=True)} | "
            f"{_text(flag.get('title', ''), cell=True)} | {', '.join(map(str, pages)) or '-'} |"
        )
    lines.append("")
    for i, flag in enumerate(flags, 1):
        lines += [f"### {i}. {_text(flag.get('title', ''))}", ""]
        if flag.get("why_it_matters"):
            lines += [f"*Why it matters:* {_text(flag['why_it_matters'])}", ""]
        if flag.get("recommendation"):
            lines += [f"*Recommendation:* {_text(flag['recommendation'])}", ""]
        quotes = [f"> p. {ev.get('page', '?')}: “{_text(ev.get('quote', ''))}”" for ev in flag.get("evidence") or []]
        if quotes:
            # A ">" line between quotes keeps each one its own paragraph when rendered.
            lines += ["*Evidence:*", "", *_interleave(quotes, ">"), ""]
    return "\n".join(lines).rstrip() + "\n"


def _interleave(items: list[str], separator: str) -> list[str]:
    out: list[str] = []
    for item in items:
        if out:
            out.append(separator)
        out.append(item)
    return out
