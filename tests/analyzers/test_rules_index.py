"""The trigger index of the rules analyzer: it may only skip a trigger on a sentence the trigger cannot match.

The index (``_TriggerIndex``) decides from literal anchors found in the folded page (``fold_case``, checked for
every character in test_recognizers.py) which triggers to try on which sentence. These tests check its parts
(anchor sets, the page scan) and, end to end, that the analysis gives exactly the result of trying every trigger
on every sentence, also on text with dotted or dotless I and long s.
"""

from __future__ import annotations

import dataclasses
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance_sse.analyzers.recognizers import fold_case
from compliance_sse.analyzers.rules import DocumentAnalysis, RulesAnalyzer, _TriggerIndex
from compliance_sse.analyzers.rules_table import Rule, literal_gate
from compliance_sse.pipeline.models import AnalysisResult, ExtractedPage
from eval.generate import DEFAULT_SEED, generate
from eval.probe import BENIGN, BENIGN_2, BENIGN_3, BENIGN_4, RISKY, RISKY_2, RISKY_3, RISKY_4

ANALYZER = RulesAnalyzer()
DATA = ANALYZER.new_document().data
INDEX = _TriggerIndex.build(ANALYZER.rules)
TRIGGERS = [
    (rule, trigger, number)
    for rule, numbers in zip(ANALYZER.rules, INDEX.numbers, strict=True)
    for trigger, number in zip(rule.triggers, numbers, strict=True)
]


@pytest.mark.parametrize(
    "pattern",
    [r"\bfoo(?:bar|baz)+qux", r"(?:alpha|beta)\s+gamma", r"x?y*zzz", r"(?:ab|cd)?efg", r"\bcash[- ](?:only|pay)"],
)
@settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_literal_gate_sets_are_each_hit(pattern: str, data: st.DataObject) -> None:
    compiled = re.compile(pattern, re.IGNORECASE)
    text = data.draw(st.from_regex(compiled))
    sets = literal_gate(compiled)
    assert sets
    assert all(any(a in fold_case(text) for a in anchors) for anchors in sets)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_index_keeps_every_trigger_that_can_fire(data: st.DataObject) -> None:
    """A sentence with a match of a trigger and of its rule's required patterns keeps the trigger."""
    rule, trigger, number = data.draw(st.sampled_from(TRIGGERS))
    parts = [data.draw(st.from_regex(trigger))]
    parts += [data.draw(st.from_regex(p)) for p in rule.requires]
    if rule.requires_any:
        parts.append(data.draw(st.from_regex(data.draw(st.sampled_from(rule.requires_any)))))
    sentence = " ".join(parts)
    assert number in INDEX.candidates(fold_case(sentence), [(0, len(sentence))])


def test_index_maps_anchors_to_their_sentences() -> None:
    cash = Rule("T-CASH", "aml", 3, "t", "w", "r", (re.compile(r"\bcash (?:only|payment)\b", re.I),))
    index = _TriggerIndex.build([cash])
    text = "Payment terms apply. Cash payment on delivery. Only by wire. Cash only, please."
    spans = [(0, 20), (21, 46), (47, 60), (61, len(text))]
    assert index.candidates(text.lower(), spans) == {0: 0b1010}


def test_index_without_anchors_tries_the_trigger_everywhere() -> None:
    short = Rule("T-SHORT", "aml", 3, "t", "w", "r", (re.compile(r"\b(?:to|in)\b", re.I),))  # too common to look for
    index = _TriggerIndex.build([short])
    assert index.candidates("one. two.", [(0, 4), (5, 9)]) == {0: 0b11}


def _pages() -> list[list[str]]:
    docs = [d.page_texts() for d in generate(DEFAULT_SEED)]
    probes = [s if isinstance(s, str) else s[1] for group in (RISKY, RISKY_2, RISKY_3, RISKY_4) for s in group]
    probes += BENIGN + BENIGN_2 + BENIGN_3 + BENIGN_4
    # Pages with characters that str.lower() folds unlike the regex engine (see fold_case).
    rng = random.Random(5)
    odd = {"i": ["\u0130", "\u0131"], "s": ["\u017f"], "k": ["\u212a"]}
    mutated = [
        ["".join(rng.choice(odd[c.lower()]) if c.lower() in odd and rng.random() < 0.02 else c for c in page)]
        for doc in docs[:12]
        for page in doc
    ]
    return [*docs, *([p] for p in probes), *mutated]


def _analyse(pages: list[str], index: _TriggerIndex) -> AnalysisResult:
    doc = DocumentAnalysis(ANALYZER.rules, DATA, len(pages), index=index)
    for number, text in enumerate(pages, start=1):
        doc.feed(ExtractedPage(number, text))
    doc.finish()
    return doc.result()


def test_indexed_analysis_equals_trying_every_trigger_on_every_sentence() -> None:
    everywhere = dataclasses.replace(INDEX, gates=tuple(() for _ in INDEX.gates))
    for pages in _pages():
        assert _analyse(pages, INDEX) == _analyse(pages, everywhere), pages[0][:80]
