"""The hybrid merge rule: when the model and the rules report the same risk, one finding is announced and it keeps
the better-grounded evidence, a verbatim quote from the page it names; a paraphrase is never evidence.

The model's quotes are grounded first (``_ground_answer``): a quote on the page it names is kept as is, one found on
another page is kept but marked re-pointed, one that is on no page (a paraphrase) is dropped, and a finding left
with no quote is dropped. ``_DocumentRun._merge`` then folds findings of one category whose quotes overlap.
"""

from __future__ import annotations

from typing import Any

import groq
import httpx
import pytest

from compliance_sse.analyzers.chunking import Chunk
from compliance_sse.analyzers.groq import GroqAnalyzer, ModelAnswer, _DocumentRun, _ground_answer, _locate_evidence
from compliance_sse.analyzers.grounding import Grounder
from compliance_sse.pipeline.models import Evidence, Finding
from tests.fakegroq import KeywordRules, Recorder

PAGES = {
    1: "Payment memo 17. Prepared by the treasury desk.",
    2: "The agent asked to be paid EUR 40,000 in cash, outside the contract. Delivery is due in May.",
}
VERBATIM = "The agent asked to be paid EUR 40,000 in cash, outside the contract."
PARAPHRASE = "The intermediary wants forty thousand euros in banknotes."


def _model_item(severity: int, *evidence: tuple[int, str]) -> dict[str, Any]:
    return {
        "category": "bribery_corruption",
        "title": "Cash payment to an agent",
        "severity": severity,
        "why_it_matters": "Cash to an intermediary is how bribes are paid.",
        "recommendation": "Stop the payment and escalate.",
        "evidence": [{"page": page, "quote": quote} for page, quote in evidence],
    }


def _grounded_model_finding(severity: int = 3) -> Any:
    answer = ModelAnswer.model_validate(
        {
            "summary": "One risk.",
            "overall_risk": 0.5,
            # The model names page 1 for a sentence of page 2, and adds a paraphrase found on no page.
            "findings": [_model_item(severity, (2, PARAPHRASE), (1, VERBATIM)), _model_item(4, (2, PARAPHRASE))],
        }
    )
    grounded = _ground_answer(Grounder(PAGES), answer, Chunk(0, (), (1, 2), 0), PAGES)
    assert grounded.dropped_findings == 1 and grounded.dropped_quotes == 2 and grounded.repointed == 1
    [(finding, spans)] = grounded.kept
    assert [(q.page, q.quote, q.repointed) for q in spans] == [(2, VERBATIM, True)]
    return finding, spans


def _rules_finding() -> tuple[Finding, Any]:
    quote = "asked to be paid EUR 40,000 in cash"
    finding = Finding(
        "ABC-C-DISGUISED-1", "bribery_corruption", "Payment to an intermediary disguised", 4, "w", "r",
        evidence=[Evidence(2, quote)], rule_id="ABC-C-DISGUISED",
    )  # fmt: skip
    spans = _locate_evidence(Grounder(PAGES), finding.evidence, PAGES)
    assert [(q.page, q.repointed) for q in spans] == [(2, False)]
    return finding, spans


@pytest.mark.parametrize("model_first", [True, False], ids=["model-first", "rules-first"])
async def test_merge_keeps_the_verbatim_quote_from_the_named_page(model_first: bool) -> None:
    client = groq.AsyncGroq(
        api_key="k", http_client=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    )
    try:
        rec = Recorder(2)
        run = _DocumentRun(GroqAnalyzer(client, model="m", rules=KeywordRules()), rec.ctx())
        model, model_spans = _grounded_model_finding()
        rules, rules_spans = _rules_finding()
        steps = [(model, model_spans, "groq"), (rules, rules_spans, "rules")]
        for finding, spans, source in steps if model_first else steps[::-1]:
            await run._merge(finding, spans, source)
    finally:
        await client.close()
    assert len(rec.findings) == 1  # one risk, announced once
    merged = rec.findings[0]
    assert merged.severity == 4  # the higher of the two
    assert [(e.page, e.quote) for e in merged.evidence] == [(2, "asked to be paid EUR 40,000 in cash")]
    assert PARAPHRASE not in {e.quote for e in merged.evidence}
