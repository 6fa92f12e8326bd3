"""A second opinion on a flag raised in a notice (terms of service, a privacy policy): is it a risk a reviewer would
raise, or a clause every notice holds or a sentence the rules misread?

A logistic regression over the words and word pairs of the flag's quote and its rule, trained by
``python -m eval.notice_model train`` on flags of real notices labelled keep, standard or misread
(``eval/notices/``), and shipped as ``data/notice_model.json``. It only ever lowers: a flag it reads as ordinary is
noted at severity 2 instead of raised, and it never reads a rule it was not trained on, nor a document that is not a
notice. The rules still find and explain every flag; the model weighs only how loud to say it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

__all__ = ["NoticeModel", "grams", "notice_model"]

_WORD = re.compile(r"\w\w+")


def grams(rule_id: str, quote: str) -> set[str]:
    """The features of a flag: the quote's words and adjacent word pairs (lower case), its rule and category."""
    words = _WORD.findall(quote.lower())
    found = set(words) | {f"{a} {b}" for a, b in pairwise(words)}
    found |= {f"rule:{rule_id}", f"category:{rule_id.split('-')[0]}"}
    return found


def vector(features: set[str], idf: dict[str, float]) -> dict[str, float]:
    """Each known feature weighted by its inverse document frequency, scaled to unit length."""
    weighted = {f: idf[f] for f in features if f in idf}
    length = math.sqrt(sum(v * v for v in weighted.values())) or 1.0
    return {f: v / length for f, v in weighted.items()}


@dataclass(frozen=True, slots=True)
class NoticeModel:
    idf: dict[str, float]
    weights: dict[str, float]
    bias: float
    threshold: float
    """A flag whose probability of being kept by a reviewer is below this is noted, not raised."""
    rules: frozenset[str]
    """The rules the model was trained on; a flag of any other rule is left as the rules raise it."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NoticeModel:
        """The model as ``eval.notice_model`` writes it: each feature's idf and weight, the bias, cut and rules."""
        features: dict[str, list[float]] = data["features"]
        return cls(
            idf={f: float(idf) for f, (idf, _) in features.items()},
            weights={f: float(weight) for f, (_, weight) in features.items()},
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            rules=frozenset(data["rules"]),
        )

    def keep_probability(self, rule_id: str, quote: str) -> float:
        x = vector(grams(rule_id, quote), self.idf)
        z = self.bias + sum(self.weights[f] * v for f, v in x.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def ordinary(self, rule_id: str, quote: str) -> bool:
        """Whether a flag of ``rule_id`` on ``quote`` in a notice reads as a clause a reviewer would not raise."""
        return rule_id in self.rules and self.keep_probability(rule_id, quote) < self.threshold


@cache
def notice_model() -> NoticeModel:
    """The shipped model (read once)."""
    text = resources.files("compliance_sse").joinpath("data/notice_model.json").read_text(encoding="utf-8")
    return NoticeModel.from_json(json.loads(text))
