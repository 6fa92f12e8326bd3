"""The rules analyzer on the real PDFs of the shared corpus (papers, forms, manuals): nothing to report there.

Extraction is done here with pypdf directly, page by page, as the service does it; a page that fails becomes an
``ExtractedPage`` with an ``error``. Only files the corpus expects to yield text are used, capped at 500 pages
(the service's default ``CSSE_MAX_PAGES``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from compliance_sse.analyzers.rules import RulesAnalyzer
from compliance_sse.pipeline.models import AnalysisResult, ExtractedPage

from ..conftest import corpus_root

MAX_PAGES = 500
SLOW = {"s39_slow-1-page.pdf", "s43_huge-10000-pages.pdf"}
GARBLED = {"s14_japanese-jo.pdf", "s42_no-tounicode.pdf"}
"""pypdf returns mojibake for these (see the corpus README); the analyzer must say so."""
EXPLAINED: dict[str, str] = {}
"""Findings of severity 3 or more that are right on a corpus file, with the reason. None so far."""


def _text_files() -> list[Any]:
    manifest = corpus_root() / "manifest.json"
    if not manifest.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no corpus at {corpus_root()}"))]
    entries = [e for e in json.loads(manifest.read_text()) if str(e["expected"]).startswith("text")]
    return [
        pytest.param(e["file"], id=e["file"], marks=[pytest.mark.slow] if e["file"] in SLOW else []) for e in entries
    ]


def _analyse(path: Path) -> AnalysisResult:
    reader = PdfReader(path, strict=False)
    if reader.is_encrypted:
        reader.decrypt("")
    doc = RulesAnalyzer().new_document(min(len(reader.pages), MAX_PAGES))
    for number, page in enumerate(reader.pages, start=1):
        if number > MAX_PAGES:
            break
        try:
            doc.feed(ExtractedPage(number, page.extract_text() or ""))
        except Exception as exc:  # pypdf raises many kinds per page (corpus README)
            doc.feed(ExtractedPage(number, "", error=type(exc).__name__))
    doc.finish()
    return doc.result()


@pytest.mark.parametrize("name", _text_files())
def test_no_serious_finding_on_real_documents(name: str, corpus: Path) -> None:
    result = _analyse(corpus / "pdfs" / name)
    serious = [(f.rule_id, f.evidence[:1]) for f in result.findings if f.severity >= 3]
    if name in EXPLAINED:
        assert serious, f"{name} is explained but no longer has a serious finding: drop it from EXPLAINED"
    else:
        assert serious == []
    assert 0.0 <= result.overall_risk <= 1.0
    if name in GARBLED:
        assert "DI-GARBLED-TEXT" in {f.rule_id for f in result.findings}
        assert result.overall_risk >= 0.4  # unreadable: never reported as clean
    else:
        assert result.overall_risk <= 0.3
