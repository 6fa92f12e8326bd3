"""The synthetic evaluation set: deterministic, and the analyzer meets its targets on it (see docs/EVALUATION.md)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from eval.generate import DEFAULT_SEED, generate, gold_of
from eval.run import CLEAN_MAX_RISK, evaluate, failures

GOLD = Path(__file__).resolve().parents[2] / "eval" / "gold.json"


def test_generator_reproduces_the_committed_gold_file() -> None:
    gold = [asdict(g) for g in gold_of(generate(DEFAULT_SEED))]
    assert gold == json.loads(GOLD.read_text())


def test_every_category_and_decoy_kind_is_covered() -> None:
    gold = json.loads(GOLD.read_text())
    positives = {g["category"] for g in gold if g["kind"] == "positive"}
    assert positives >= {
        "aml", "kyc_cdd", "sanctions", "bribery_corruption", "cross_border", "data_protection",
        "personal_data", "financial_regulation", "risk_management", "document_integrity",
    }  # fmt: skip
    assert sum(g["kind"] == "decoy" for g in gold) >= 100


@pytest.mark.parametrize("seed", [DEFAULT_SEED, 7])
def test_targets_are_met(seed: int) -> None:
    pytest.importorskip("fpdf", reason="fpdf2 (a dev dependency) draws the evaluation PDFs")
    results = evaluate(seed)
    for label, (score, _) in results.items():
        assert failures(score) == [], label
        assert score.decoys > 0
        assert max(score.clean_risk.values()) <= CLEAN_MAX_RISK
