"""Ordinary public texts (the licence texts Debian ships) raise nothing serious: a licence is not a deal."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance_sse.analyzers.rules import RulesAnalyzer, analyze_pages

LICENCES = Path("/usr/share/common-licenses")
ANALYZER = RulesAnalyzer()


def _licences() -> list[Path]:
    return sorted(p for p in LICENCES.glob("*") if p.is_file()) if LICENCES.is_dir() else []


@pytest.mark.skipif(not _licences(), reason="no /usr/share/common-licenses on this machine")
@pytest.mark.parametrize("path", _licences(), ids=lambda p: p.name)
def test_licence_text_has_no_serious_finding(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    pages = [text[i : i + 3000] for i in range(0, len(text), 3000)]
    result = analyze_pages(pages, ANALYZER)
    assert [(f.rule_id, f.evidence[0].quote[:80]) for f in result.findings if f.severity >= 3] == []
