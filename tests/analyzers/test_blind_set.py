"""The blind evaluation set (eval/blind/documents.txt) keeps its shape and its split, drawn once by document."""

from __future__ import annotations

from compliance_sse.pipeline.models import CATEGORIES
from eval.blind import evaluate, load


def test_blind_set_is_large_enough_and_split_by_document() -> None:
    docs, seed = load()
    assert seed is not None
    assert {d.split for d in docs} == {"dev", "test"}
    sentences = [s for d in docs for s in d.sentences]
    assert sum(s.risky for s in sentences) >= 150
    assert sum(not s.risky for s in sentences) >= 100
    assert len({d.doc_id for d in docs}) == len(docs)
    covered = {s.labels[0] for s in sentences if s.risky}
    assert covered == set(CATEGORIES) - {"other"}
    assert all(set(s.labels) <= set(CATEGORIES) for s in sentences)


def test_scoring_counts_every_sentence_once() -> None:
    docs, _ = load()
    splits = evaluate(docs[:6])
    assert sum(s.risky + s.harmless for s in splits.values()) == sum(len(d.sentences) for d in docs[:6])
