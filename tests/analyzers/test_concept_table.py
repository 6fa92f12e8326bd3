"""The concept rule table (data/concepts.json) is consistent: every concept a rule names exists, every check is
known, and every rule states what it tells the reviewer."""

from __future__ import annotations

from compliance_sse.analyzers import concepts
from compliance_sse.pipeline.models import CATEGORIES

SET_BY_CALLER = {"SANCTIONED", "DESIGNATED"}  # from the data files' places and designated names


def test_every_concept_a_rule_names_is_defined() -> None:
    defined = set(concepts.CONCEPTS) | {name for name, _guard, _ in concepts._REGEX_CONCEPTS} | SET_BY_CALLER
    for rule in concepts.CONCEPT_RULES:
        named = {alt.lstrip("!") for slot in (*rule.slots, *rule.unless, *rule.aggravate) for alt in slot.split("|")}
        assert named <= defined, (rule.id, named - defined)


def test_every_rule_is_complete_and_unique() -> None:
    ids = [rule.id for rule in concepts.CONCEPT_RULES]
    assert len(ids) == len(set(ids))
    for rule in concepts.CONCEPT_RULES:
        assert rule.category in CATEGORIES and 1 <= rule.severity <= 5 and rule.slots
        assert rule.title and rule.why_it_matters and rule.recommendation
        assert rule.check is None or rule.check in concepts._CHECKS


def test_every_term_is_lower_case() -> None:
    """Terms are matched against lemmas, which are lower case."""
    assert all(term == term.lower() for terms in concepts.CONCEPTS.values() for term in terms)
