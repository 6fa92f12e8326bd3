"""The out-of-sample probes of eval/probe.py, kept as regression tests once scored (see docs/EVALUATION.md)."""

from __future__ import annotations

import pytest

from compliance_sse.analyzers.rules import RulesAnalyzer, analyze_pages
from eval.probe import BENIGN, BENIGN_2, BENIGN_3, RISKY, RISKY_2, RISKY_3

ANALYZER = RulesAnalyzer()
RISKY_ALL = RISKY + RISKY_2 + RISKY_3
BENIGN_ALL = BENIGN + BENIGN_2 + BENIGN_3


@pytest.mark.parametrize(("category", "sentence"), RISKY_ALL, ids=[s[:40] for _, s in RISKY_ALL])
def test_probe_risky_sentence_is_flagged_in_its_category(category: str, sentence: str) -> None:
    assert category in {f.category for f in analyze_pages([sentence], ANALYZER).findings}


@pytest.mark.parametrize("sentence", BENIGN_ALL, ids=[s[:40] for s in BENIGN_ALL])
def test_probe_benign_sentence_raises_nothing(sentence: str) -> None:
    assert analyze_pages([sentence], ANALYZER).findings == []
