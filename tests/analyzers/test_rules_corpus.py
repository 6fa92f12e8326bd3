"""The rules analyzer on the real PDFs of the corpus (papers, forms, manuals): nothing to report there.

Extraction is done here with pypdf directly, page by page, as the service does it; a page that fails becomes an
``ExtractedPage`` with an ``error``. Only files the corpus expects to yield text are used, capped at 500 pages
(the service's default ``CSSE_MAX_PAGES``).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from compliance_sse.analyzers.rules import RulesAnalyzer
from compliance_sse.pipeline.models import AnalysisResult, ExtractedPage

from ..conftest import Pdf, corpus_entries

MAX_PAGES = 500
SLOW = {"s39_slow-1-page.pdf", "s43_huge-10000-pages.pdf", "slow-1-page", "huge-10000-pages"}
GARBLED = {"s14_japanese-jo.pdf", "s42_no-tounicode.pdf"}  # s42: in the full corpus only
"""pypdf returns mojibake for these (see the corpus README); the analyzer must say so."""
PARTLY_UNREADABLE = {"s34_fuzz-partial-9-pages.pdf"}
"""Pages pypdf cannot parse: no finding, but the unreadable share keeps the risk above the clean range."""
EXPLAINED: dict[str, str] = {}
"""Findings of severity 3 or more that are right on a corpus file, with the reason. None so far."""


def _has_text(expected: str) -> bool:
    """Every corpus file that yields text is a harmless one (papers, forms, manuals), with its password if any."""
    return expected.startswith(("text", "little text")) or expected.endswith("text with password")


def _text_files() -> list[Any]:
    entries = [e for e in corpus_entries() if _has_text(str(e["expected"]))]
    return [
        pytest.param(
            e["file"],
            e["password"],
            id=e["file"],
            marks=[pytest.mark.corpus, *([pytest.mark.slow] if e["file"] in SLOW else [])],
        )
        for e in entries
    ]


def _analyse(data: bytes, password: str | None = None) -> AnalysisResult:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        reader.decrypt(password or "")
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


@pytest.mark.parametrize(("name", "password"), _text_files())
def test_no_serious_finding_on_real_documents(name: str, password: str | None, pdf: Pdf) -> None:
    result = _analyse(pdf(name), password)
    serious = [(f.rule_id, f.evidence[:1]) for f in result.findings if f.severity >= 3]
    if name in EXPLAINED:
        assert serious, f"{name} is explained but no longer has a serious finding: drop it from EXPLAINED"
    else:
        assert serious == []
    assert 0.0 <= result.overall_risk <= 1.0
    assert all(f.evidence and all(ev.quote for ev in f.evidence) for f in result.findings)
    if name in GARBLED:
        assert "DI-GARBLED-TEXT" in {f.rule_id for f in result.findings}
        assert result.overall_risk >= 0.4  # unreadable: never reported as clean
        assert "unreadable" in result.summary
    elif name not in PARTLY_UNREADABLE:
        assert result.overall_risk <= 0.3
