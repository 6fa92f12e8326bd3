"""Train the notice model (``compliance_sse.analyzers.notice_model``) on the labelled flags of ``eval/notices/``.

``python -m eval.notice_model cv`` scores each labelled part with a model trained on the other parts (leave one part
out) and prints, for cuts of the score, how many keeps and how many standard or misread flags a cut would note
instead of raise. ``python -m eval.notice_model train`` fits the model on every part and writes
``src/compliance_sse/data/notice_model.json`` with the highest cut at which leave-one-part-out noted no more than
``KEEP_BUDGET`` of the keeps; ``--without fresh-N`` leaves a part out, so that the model can be tested on it (the
shipped model's ``trained_on`` says which parts it learnt from).

The examples are the labelled flags the rules raise at severity 3 or more today with the model left out, each as its
rule and quote (the texts come from ``--fresh-dir``, as for ``eval.notices``); a keep is the positive class. The fit
is a class-weighted, L2-regularised logistic regression by seeded stochastic gradient descent, in plain Python so
that the service needs no library to read it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, NamedTuple

from compliance_sse.analyzers.concepts import notice_clause, read_sentence
from compliance_sse.analyzers.notice_model import NoticeModel, grams, vector
from compliance_sse.analyzers.rules import RulesAnalyzer

from .notices import LABELS, _digest, _legal, findings
from .ordinary import FRESH_ENV, SEVERE, part

__all__ = ["Example", "collect", "fit", "main"]

OUT = Path(__file__).resolve().parents[1] / "src" / "compliance_sse" / "data" / "notice_model.json"
KEEP_BUDGET = 0.10
"""The share of keeps leave-one-part-out may note at the chosen cut."""
ALPHA = 0.01
EPOCHS = 40
MIN_DF = 2
SEED = 11


class Example(NamedTuple):
    part: str
    rule: str
    quote: str
    keep: bool
    weighed: bool
    """The rules' own reading lets the model weigh it in a notice (``notice_clause`` of the quote)."""


def collect(fresh_dir: Path, without: frozenset[str] = frozenset()) -> list[Example]:
    """The labelled flags raised today, from every label file but those of the parts ``without``."""
    analyzer = RulesAnalyzer()
    files = {path.stem: path for path in sorted(LABELS.glob("*.jsonl")) if path.stem not in without}
    by_part: dict[str, dict[str, Any]] = {name: {} for name in files}
    for text in _legal(fresh_dir, set(files)):
        by_part[part(text)][text.label] = text
    out: list[Example] = []
    for name, path in files.items():
        labelled = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        now = {
            d: findings(by_part[name][d], analyzer, model=False)
            for d in {x["doc"] for x in labelled}
            if d in by_part[name]
        }
        seen: set[tuple[str, str, str]] = set()
        for x in labelled:
            f = now.get(x["doc"], {}).get((x["rule"], x["quote_sha1"]))
            if f is None or f.severity < SEVERE or (x["doc"], x["rule"], x["quote_sha1"]) in seen:
                continue
            seen.add((x["doc"], x["rule"], x["quote_sha1"]))
            quote = next(ev.quote for ev in f.evidence if _digest(ev.quote) == x["quote_sha1"])
            weighed = notice_clause(read_sentence(quote), f.category)
            out.append(Example(name, x["rule"], quote, x["label"] == "keep", weighed))
    return out


def fit(examples: list[Example], threshold: float = 0.5) -> NoticeModel:
    features = [grams(e.rule, e.quote) for e in examples]
    labels = [e.keep for e in examples]
    n = len(examples)
    df = Counter(f for fs in features for f in fs)
    idf = {f: math.log((1 + n) / (1 + d)) + 1 for f, d in df.items() if d >= MIN_DF}
    xs = [vector(fs, idf) for fs in features]
    positives = sum(labels)
    weight = {True: n / (2 * max(positives, 1)), False: n / (2 * max(n - positives, 1))}
    w: dict[str, float] = defaultdict(float)
    bias = 0.0
    order = list(range(n))
    rng = random.Random(SEED)
    t = 0
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for i in order:
            t += 1
            eta = 1.0 / (ALPHA * (t + 1000))
            x = xs[i]
            z = max(-30.0, min(30.0, bias + sum(w[f] * v for f, v in x.items())))
            err = (1.0 / (1.0 + math.exp(-z)) - labels[i]) * weight[labels[i]]
            for f, v in x.items():
                w[f] = w[f] * (1 - eta * ALPHA) - eta * err * v
            bias -= eta * err * 0.1
    rules = frozenset(e.rule for e in examples)
    return NoticeModel(idf, {f: w.get(f, 0.0) for f in idf}, bias, threshold, rules)


def cross_scores(examples: list[Example]) -> list[float]:
    """Each example's keep probability from a model trained on the other parts."""
    scores = [0.0] * len(examples)
    for held in sorted({e.part for e in examples}):
        model = fit([e for e in examples if e.part != held])
        for i, e in enumerate(examples):
            if e.part == held:
                scores[i] = model.keep_probability(e.rule, e.quote)
    return scores


def choose(examples: list[Example], scores: list[float]) -> float:
    """The highest cut that notes no more than ``KEEP_BUDGET`` of the keeps."""
    keeps = sorted(s for s, e in zip(scores, examples, strict=True) if e.keep)
    allowed = int(KEEP_BUDGET * len(keeps))
    return keeps[allowed] if allowed < len(keeps) else 1.0


def curve(examples: list[Example], scores: list[float]) -> list[str]:
    """Per cut, the keeps and the others a model trained without their part would note, alone and where the rules'
    own reading lets it weigh the flag (as the analyzer asks it)."""
    keeps = sum(e.keep for e in examples)
    rows = []
    for cut in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, choose(examples, scores)):
        noted = [e for s, e in zip(scores, examples, strict=True) if s < cut]
        asked = [e for e in noted if e.weighed]
        rows.append(
            f"cut {cut:.3f}: notes {sum(e.keep for e in noted)} of {keeps} keeps and "
            f"{sum(not e.keep for e in noted)} of {len(examples) - keeps} standard or misread flags; where the "
            f"rules let it weigh: {sum(e.keep for e in asked)} and {sum(not e.keep for e in asked)}"
        )
    return rows


def write(model: NoticeModel, examples: list[Example], out: Path = OUT) -> None:
    """The model as JSON, one feature (its idf and weight) per line so that a retrained model diffs readably."""
    head = {
        "about": "compliance_sse.analyzers.notice_model; written by python -m eval.notice_model train",
        "examples": len(examples),
        "keeps": sum(e.keep for e in examples),
        "threshold": round(model.threshold, 4),
        "bias": round(model.bias, 5),
        "rules": sorted(model.rules),
        "trained_on": sorted({e.part for e in examples}, key=lambda p: int(p.rpartition("-")[2])),
    }
    lines = [
        f"{json.dumps(f, ensure_ascii=False)}: [{model.idf[f]:.4f}, {model.weights[f]:.5f}]" for f in sorted(model.idf)
    ]
    out.write_text(json.dumps(head, ensure_ascii=False)[:-1] + ', "features": {\n' + ",\n".join(lines) + "\n}}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--fresh-dir", type=Path, default=os.environ.get(FRESH_ENV) or None)
    parser.add_argument("command", choices=("cv", "train"))
    parser.add_argument(
        "--without", action="append", default=[], metavar="PART", help="leave a labelled part out (to test on it)"
    )
    args = parser.parse_args(argv)
    if args.fresh_dir is None or not args.fresh_dir.is_dir():
        print(
            f"eval.notice_model: give --fresh-dir (or ${FRESH_ENV}) holding the fresh parts' folders", file=sys.stderr
        )
        return 2
    examples = collect(args.fresh_dir, frozenset(args.without))
    scores = cross_scores(examples)
    print(f"{len(examples)} labelled flags raised today, {sum(e.keep for e in examples)} keeps; leave one part out:")
    print("\n".join(curve(examples, scores)))
    if args.command == "train":
        cut = choose(examples, scores)
        write(fit(examples, cut), examples)
        print(f"wrote {OUT} (cut {cut:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
