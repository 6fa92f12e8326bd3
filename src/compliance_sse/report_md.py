"""The report as Markdown: shared by ``GET /jobs/{id}/report.md`` and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["report_markdown"]

_SEVERITY = {5: "critical", 4: "high", 3: "medium", 2: "low", 1: "info"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def report_markdown(report: Mapping[str, Any]) -> str:
    """Risk level, summary, a findings table by severity, and the evidence with page numbers."""
    flags = sorted(report.get("flags", []), key=lambda f: (-int(f.get("severity", 0)), f.get("category", "")))
    lines = [
        f"# Compliance report: {_cell(report.get('doc_name', 'document'))}",
        "",
        f"**Risk: {report.get('risk_level', '?')}** (overall risk {float(report.get('overall_risk', 0)):.2f}) · "
        f"{report.get('page_count', 0)} pages · analyzer `{report.get('analyzer', '?')}`"
        + (f" (`{report['model']}`)" if report.get("model") else ""),
        "",
        "## Summary",
        "",
        str(report.get("summary", "")).strip() or "No summary.",
        "",
    ]
    notes = list(report.get("notes", []))
    if report.get("truncated"):
        notes.append("The text was truncated before analysis.")
    if notes:
        lines += ["## Notes", "", *[f"- {_cell(n)}" for n in dict.fromkeys(notes)], ""]
    lines += ["## Findings", ""]
    if not flags:
        lines += ["No findings.", ""]
    else:
        lines += ["| # | severity | category | finding | pages |", "|---|---|---|---|---|"]
        for i, flag in enumerate(flags, 1):
            pages = sorted({e["page"] for e in flag.get("evidence", [])})
            sev = int(flag.get("severity", 0))
            lines.append(
                f"| {i} | {sev} ({_SEVERITY.get(sev, '?')}) | {_cell(flag.get('category', ''))} | "
                f"{_cell(flag.get('title', ''))} | {', '.join(map(str, pages))} |"
            )
        lines.append("")
        for i, flag in enumerate(flags, 1):
            lines += [f"### {i}. {_cell(flag.get('title', ''))}", ""]
            if flag.get("why_it_matters"):
                lines += [f"*Why it matters:* {str(flag['why_it_matters']).strip()}", ""]
            if flag.get("recommendation"):
                lines += [f"*Recommendation:* {str(flag['recommendation']).strip()}", ""]
            for ev in flag.get("evidence", []):
                lines.append(f"> p. {ev['page']}: “{_cell(ev['quote'])}”")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
