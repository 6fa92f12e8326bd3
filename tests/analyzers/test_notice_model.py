"""The notice model: a second opinion that notes, in a notice only, a flag it reads as an ordinary clause."""

from __future__ import annotations

import dataclasses

import pytest

from compliance_sse.analyzers.notice_model import NoticeModel, grams, notice_model
from compliance_sse.analyzers.rules import RulesAnalyzer, analyze_pages
from compliance_sse.pipeline.models import ExtractedPage
from eval.notice_model import Example, fit

NOTICE = "Privacy Policy\n\nThis privacy policy explains how we use your information when you use our app.\n\n"
ORDINARY = "You agree to keep your password secure and confidential and not to let anyone else use your account."
"""Flagged by the rules as secrecy over money (AML-SECRECY): a misreading the model has learnt to weigh."""
RISK = "We sell your personal information to data brokers."
UNPROTECTED = "Your personal data is transferred to servers in India without any safeguards."
"""The rules' own reading keeps it a risk in a notice (a safeguard said to be missing): no model is asked."""


def severities(text: str, model: bool = True) -> dict[str, int]:
    doc = RulesAnalyzer().new_document()
    if not model:
        doc.notice_model = None
    doc.feed(ExtractedPage(1, text))
    doc.finish()
    return {f.rule_id or f.category: f.severity for f in doc.result().findings}


def test_the_shipped_model_is_whole() -> None:
    model = notice_model()
    assert 0 < model.threshold < 1
    assert model.rules and model.idf.keys() == model.weights.keys()
    named = {f.removeprefix("rule:") for f in model.idf if f.startswith("rule:")}
    assert named and named <= model.rules


def test_in_a_notice_an_ordinary_clause_is_noted_and_a_sale_still_raised() -> None:
    assert severities(NOTICE + ORDINARY, model=False) == {"AML-SECRECY": 3}
    assert severities(NOTICE + ORDINARY) == {"AML-SECRECY": 2}
    assert severities(NOTICE + RISK)["DP-SALE"] >= 4
    assert severities(NOTICE + RISK) == severities(NOTICE + RISK, model=False)


def test_a_missing_safeguard_consent_or_notice_is_never_weighed_away() -> None:
    doc = RulesAnalyzer().new_document()
    assert doc.notice_model is not None
    doc.notice_model = dataclasses.replace(doc.notice_model, threshold=1.0)  # a model that would note every flag
    assert doc.notice_model.ordinary("XB-TRANSFER", UNPROTECTED)
    doc.feed(ExtractedPage(1, NOTICE + UNPROTECTED + " " + ORDINARY))
    doc.finish()
    raised = {f.rule_id: f.severity for f in doc.result().findings}
    assert raised["XB-TRANSFER"] >= 3
    assert raised["AML-SECRECY"] == 2  # the same model notes what the rules let it weigh


def test_outside_a_notice_the_model_is_not_asked() -> None:
    memo = "Internal memo on the customer database.\n\n" + ORDINARY
    assert {f.rule_id: f.severity for f in analyze_pages([memo]).findings} == {"AML-SECRECY": 3}


def test_a_rule_it_was_not_trained_on_is_left_as_raised() -> None:
    model = notice_model()
    assert not model.ordinary("NO-SUCH-RULE", ORDINARY)
    assert model.ordinary("AML-SECRECY", ORDINARY)


def test_features_are_words_pairs_rule_and_category() -> None:
    assert grams("DP-C-SELL", "We sell data.") == {
        "we", "sell", "data", "we sell", "sell data", "rule:DP-C-SELL", "category:DP",
    }  # fmt: skip


def test_training_learns_which_words_a_reviewer_keeps() -> None:
    keep = [Example("p1", "DP-C-SELL", f"we sell your data to brokers for cash {n}", True, True) for n in range(20)]
    ordinary = [
        Example("p1", "DP-C-SELL", f"we never sell your data to anyone at all {n}", False, True) for n in range(60)
    ]
    model: NoticeModel = fit(keep + ordinary, threshold=0.5)
    assert model.ordinary("DP-C-SELL", "we never sell your data to anyone at all")
    assert not model.ordinary("DP-C-SELL", "we sell your data to brokers for cash")


def test_the_model_is_read_with_the_analyzer_not_on_a_first_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """``analyze`` sets up each document in the event loop: the model is read when the analyzer is built."""
    notice_model.cache_clear()
    analyzer = RulesAnalyzer()

    def unreadable() -> None:
        raise AssertionError("the notice model was read after the analyzer was built")

    monkeypatch.setattr("compliance_sse.analyzers.notice_model.resources.files", unreadable)
    notice_model.cache_clear()  # left empty: a failed read caches nothing, and the next test reads it again
    doc = analyzer.new_document()
    doc.feed(ExtractedPage(1, NOTICE + ORDINARY))
    doc.finish()
    assert [f.severity for f in doc.result().findings] == [2]
