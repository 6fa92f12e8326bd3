"""Score the rules analyzer on the blind set (eval/blind/documents.txt), per split: dev (tuned on) and test (never).

Each document is one page, one sentence a line. A finding *predicts* its category on every sentence one of its
quotes overlaps. Per category: recall is the share of risky sentences of that category on which one of their
acceptable categories is predicted; precision is the share of (sentence, category) predictions that name one of
the sentence's categories (any prediction on a harmless sentence is wrong). Overall figures pool every category.

``python -m eval.blind`` prints both splits and the misses and false positives of **dev only**: the test split's
mistakes are not printed, so that nobody tunes on them. ``--json FILE`` writes the figures; ``--check`` exits 1
when the test split misses a target of issue 13.

``python -m eval.blind --assign-split`` draws the split (once; it refuses when the file already has one).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance_sse.analyzers.rules import RulesAnalyzer, analyze_pages
from compliance_sse.pipeline.models import AnalysisResult

__all__ = ["DATA", "Document", "Sentence", "Split", "assign_split", "evaluate", "load", "main"]

DATA = Path(__file__).with_name("blind") / "documents.txt"
DEV_SHARE = 0.6
TARGET_RECALL = 0.85
TARGET_PRECISION = 0.90
TARGET_CATEGORY_RECALL = 0.70
HARMLESS_MAX_SEVERITY = 3


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    labels: tuple[str, ...]
    """Acceptable categories, the first being the one the sentence is counted under; empty for a harmless one."""

    @property
    def risky(self) -> bool:
        return bool(self.labels)


@dataclass(slots=True)
class Document:
    doc_id: str
    kind: str
    split: str
    sentences: list[Sentence] = field(default_factory=list)

    @property
    def page(self) -> str:
        return "\n".join(s.text for s in self.sentences)


def load(path: Path = DATA) -> tuple[list[Document], int | None]:
    """The documents of the set and the recorded split seed."""
    docs: list[Document] = []
    seed: int | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("% split-seed:"):
            seed = int(line.split(":", 1)[1])
        if not line.strip() or line.startswith("%"):
            continue
        head, _, text = line.partition(" | ")
        if head.startswith("= "):
            doc_id = head[2:].strip()
            kind, _, split = text.partition(" | ")
            docs.append(Document(doc_id, kind.strip(), split.strip()))
        elif head == "H":
            docs[-1].sentences.append(Sentence(text.strip(), ()))
        elif head.startswith("R "):
            docs[-1].sentences.append(Sentence(text.strip(), tuple(head[2:].strip().split("/"))))
        else:
            raise ValueError(f"bad line in {path.name}: {line!r}")
    return docs, seed


def assign_split(path: Path = DATA) -> None:
    """Draw dev/test by document for the documents not drawn yet and write it into the file.

    The first batch is drawn with the recorded seed, a later batch (documents added before any tuning) with the
    seed plus the number of earlier batches; a drawn document is never drawn again.
    """
    docs, seed = load(path)
    if seed is None:
        raise SystemExit("no split-seed line")
    new = sorted(d.doc_id for d in docs if d.split not in ("dev", "test"))
    if not new:
        raise SystemExit("every document is already drawn; a split is drawn once")
    batch = 1 if any(d.split in ("dev", "test") for d in docs) else 0
    random.Random(seed + batch).shuffle(new)
    dev = set(new[: round(len(new) * DEV_SHARE)])
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("= ") and line.endswith("| ?"):
            head, kind, _ = line.split(" | ")
            line = f"{head} | {kind} | {'dev' if head[2:].strip() in dev else 'test'}"
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


@dataclass(slots=True)
class Split:
    name: str
    gold: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    predicted: dict[str, int] = field(default_factory=dict)
    correct: dict[str, int] = field(default_factory=dict)
    risky: int = 0
    harmless: int = 0
    harmless_flagged: int = 0
    harmless_severe: int = 0
    misses: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    def recall(self, cat: str | None = None) -> float | None:
        gold = sum(self.gold.values()) if cat is None else self.gold.get(cat, 0)
        found = sum(self.found.values()) if cat is None else self.found.get(cat, 0)
        return found / gold if gold else None

    def precision(self, cat: str | None = None) -> float | None:
        pred = sum(self.predicted.values()) if cat is None else self.predicted.get(cat, 0)
        ok = sum(self.correct.values()) if cat is None else self.correct.get(cat, 0)
        return ok / pred if pred else None

    def as_dict(self) -> dict[str, Any]:
        cats = sorted(set(self.gold) | set(self.predicted))
        return {
            "risky": self.risky,
            "harmless": self.harmless,
            "harmless_flagged": self.harmless_flagged,
            "harmless_severity_4_plus": self.harmless_severe,
            "recall": self.recall(),
            "precision": self.precision(),
            "per_category": {
                c: {
                    "gold": self.gold.get(c, 0),
                    "found": self.found.get(c, 0),
                    "predicted": self.predicted.get(c, 0),
                    "correct": self.correct.get(c, 0),
                    "recall": self.recall(c),
                    "precision": self.precision(c),
                }
                for c in cats
            },
        }


def _sentence_spans(doc: Document) -> list[tuple[int, int]]:
    """Where each sentence sits in the page's whitespace-normalised text (sentences joined by one space)."""
    spans: list[tuple[int, int]] = []
    at = 0
    for s in doc.sentences:
        n = len(" ".join(s.text.split()))
        spans.append((at, at + n))
        at += n + 1
    return spans


def predictions(doc: Document, result: AnalysisResult) -> list[dict[str, int]]:
    """For each sentence, the categories predicted on it and the highest severity of each."""
    norm = " ".join(doc.page.split())
    spans = _sentence_spans(doc)
    out: list[dict[str, int]] = [{} for _ in doc.sentences]
    for f in result.findings:
        for ev in f.evidence:
            quote = " ".join(ev.quote.split())
            at = norm.find(quote)
            if at < 0:  # masked identifiers: compare with * standing for any letter or digit
                at = _find_masked(norm, quote)
            if at < 0:
                continue
            for i, (a, b) in enumerate(spans):
                if a < at + len(quote) and at < b:
                    out[i][f.category] = max(out[i].get(f.category, 0), f.severity)
    return out


def _find_masked(text: str, quote: str) -> int:
    for at in range(len(text) - len(quote) + 1):
        if all(q == t or (q == "*" and t.isalnum()) for q, t in zip(quote, text[at : at + len(quote)], strict=True)):
            return at
    return -1


def evaluate(docs: Iterable[Document], analyzer: RulesAnalyzer | None = None) -> dict[str, Split]:
    analyzer = analyzer or RulesAnalyzer()
    splits: dict[str, Split] = {}
    for doc in docs:
        split = splits.setdefault(doc.split, Split(doc.split))
        result = analyze_pages([doc.page], analyzer)
        for sentence, predicted in zip(doc.sentences, predictions(doc, result), strict=True):
            for cat in predicted:
                split.predicted[cat] = split.predicted.get(cat, 0) + 1
                if cat in sentence.labels:
                    split.correct[cat] = split.correct.get(cat, 0) + 1
                else:
                    sev = predicted[cat]
                    split.false_positives.append(f"{doc.doc_id}: [{cat} sev {sev}] {sentence.text}")
            if sentence.risky:
                split.risky += 1
                cat = sentence.labels[0]
                split.gold[cat] = split.gold.get(cat, 0) + 1
                if any(c in predicted for c in sentence.labels):
                    split.found[cat] = split.found.get(cat, 0) + 1
                else:
                    got = ", ".join(predicted) or "nothing"
                    split.misses.append(f"{doc.doc_id}: [{cat}, got {got}] {sentence.text}")
            else:
                split.harmless += 1
                if predicted:
                    split.harmless_flagged += 1
                    if max(predicted.values()) > HARMLESS_MAX_SEVERITY:
                        split.harmless_severe += 1
    return splits


def _fmt(x: float | None) -> str:
    return "   - " if x is None else f"{x:5.2f}"


def report(splits: dict[str, Split], show_dev_mistakes: bool = True) -> str:
    lines: list[str] = []
    for name in ("dev", "test"):
        s = splits.get(name)
        if s is None:
            continue
        lines.append(f"== {name}: {s.risky} risky, {s.harmless} harmless sentences")
        lines.append(f"{'category':22} {'gold':>5} {'found':>5} {'recall':>6} {'pred':>5} {'ok':>5} {'prec':>6}")
        for c in sorted(set(s.gold) | set(s.predicted)):
            lines.append(
                f"{c:22} {s.gold.get(c, 0):5d} {s.found.get(c, 0):5d} {_fmt(s.recall(c)):>6} "
                f"{s.predicted.get(c, 0):5d} {s.correct.get(c, 0):5d} {_fmt(s.precision(c)):>6}"
            )
        lines.append(
            f"{'all':22} {sum(s.gold.values()):5d} {sum(s.found.values()):5d} {_fmt(s.recall()):>6} "
            f"{sum(s.predicted.values()):5d} {sum(s.correct.values()):5d} {_fmt(s.precision()):>6}"
        )
        lines.append(
            f"harmless sentences flagged: {s.harmless_flagged} of {s.harmless}, at severity 4 or more: "
            f"{s.harmless_severe}"
        )
        lines.append("")
    dev = splits.get("dev")
    if show_dev_mistakes and dev is not None:
        lines.append(f"== dev misses ({len(dev.misses)})")
        lines.extend(dev.misses)
        lines.append(f"== dev false positives ({len(dev.false_positives)})")
        lines.extend(dev.false_positives)
    return "\n".join(lines)


def failed_targets(test: Split) -> list[str]:
    out: list[str] = []
    recall, precision = test.recall() or 0.0, test.precision() or 0.0
    if recall < TARGET_RECALL:
        out.append(f"test recall {recall:.2f} < {TARGET_RECALL}")
    if precision < TARGET_PRECISION:
        out.append(f"test precision {precision:.2f} < {TARGET_PRECISION}")
    for c in test.gold:
        r = test.recall(c) or 0.0
        if r < TARGET_CATEGORY_RECALL:
            out.append(f"test recall of {c} {r:.2f} < {TARGET_CATEGORY_RECALL}")
    if test.harmless_severe:
        out.append(f"{test.harmless_severe} harmless test sentence(s) flagged at severity 4 or more")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.blind", description=__doc__.split("\n")[0])
    ap.add_argument("--assign-split", action="store_true", help="draw the dev/test split (once)")
    ap.add_argument("--json", type=Path, help="write the figures per split to this file")
    ap.add_argument("--check", action="store_true", help="exit 1 if the test split misses a target")
    args = ap.parse_args(argv)
    if args.assign_split:
        assign_split()
        return 0
    docs, _ = load()
    splits = evaluate(docs)
    print(report(splits))
    if args.json:
        args.json.write_text(json.dumps({k: v.as_dict() for k, v in splits.items()}, indent=2) + "\n")
    if args.check and "test" in splits:
        failed = failed_targets(splits["test"])
        for line in failed:
            print("target missed:", line, file=sys.stderr)
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
