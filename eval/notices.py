"""Flags on real notices (terms of service, privacy policies), labelled by a reader as keep, standard or misread.

``python -m eval.notices sample PART OUT`` draws a seeded sample of the flags of severity 3 or more that the
analyzer raises on the legal texts of a fresh part of ``eval.ordinary`` when a notice is read like a contract
(``DocumentAnalysis.notice`` forced off): ``lowered`` are the flags the notice calibration takes below 3 (or
away), ``kept`` the ones it leaves at 3 or more. ``OUT`` gets the sample to label (rule, quote, context, never the
group) and ``OUT``'s ``.key`` twin the group of each line; the labels follow ``eval/notices/RUBRIC.md``.

``python -m eval.notices score`` re-runs the analyzer on the documents of the labelled files under
``eval/notices/`` (doc, rule, quote hash, group when drawn, label) and prints, per file, group and label, how many
of the labelled flags it raises at severity 3 or more now: a keep there is a risk still raised, a standard or a
misread is a false alarm. The texts come from ``--fresh-dir`` (docs/EVALUATION.md, round 6, says how to fill it).

``fresh-10.jsonl`` and later hold another draw (docs/EVALUATION.md, round 7): the flags of severity 3 or
more on that part's legal texts that a step of round 7's line readings took away (``removed``), a sample of those it
left (``kept``), and the ones it brought (``added``), labelled blind to the group. A flag is matched across the two
versions by document, rule and overlapping place in the text, so a quote that a new sentence cut shortened is the
same flag. ``flags PART OUT`` writes a part's flags at the checked-out code; ``step OLD NEW OUT`` compares two such
files and draws the groups to label. ``fresh-14.jsonl`` to ``fresh-16.jsonl`` are drawn the same way for round 8's
three steps (docs/EVALUATION.md, round 8); ``fresh-14``'s texts are technical proposals, not notices.
``fresh-18.jsonl`` to ``fresh-20.jsonl`` are round 9's three steps; the third step changed no flag of its part, so
``fresh-20`` holds only a sample of the flags kept at the round's end. ``fresh-21.jsonl`` to ``fresh-23.jsonl`` are
round 10's first three steps (``fresh-23``: all 13 flags of its part, none changed by its step), and
``fresh-24.jsonl`` the round end to end: its start against its fourth step, on notices no step had been read off.
``fresh-29.jsonl`` is a sample of the flags of round 12's read part at its start (group ``kept``), and
``fresh-30.jsonl`` that round's first four steps on its unread part, ``fresh-31.jsonl`` its fifth on the next
(docs/EVALUATION.md, round 12). ``fresh-32.jsonl`` and ``fresh-33.jsonl`` are round 13's sixth and seventh steps,
each on a part no flag of which had been read (docs/EVALUATION.md, round 13). ``fresh-34.jsonl`` is round 14's
step, the notice model retrained on every earlier label, on the next unread part, and ``fresh-35.jsonl`` its second
step on the part after it, and ``fresh-36.jsonl`` its third, the model retrained again, on the next (docs/EVALUATION.md,
round 14). ``fresh-37.jsonl`` to ``fresh-40.jsonl`` are round 15's steps, each on the next unread part: the model
retrained once more (not taken), the sentences of text whose spaces were lost, a privacy notice's bribery findings,
and a notice's questions and the CCPA's term for a sale (docs/EVALUATION.md, round 15). ``fresh-41.jsonl`` and
``fresh-42.jsonl`` are round 16's first two steps, each on the next unread part: a shop's catalogue and a reader's
comments noted in a notice, then consent named as a legal basis and four other readings; ``fresh-43.jsonl`` its third,
a right a law gives the reader (docs/EVALUATION.md, round 16).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from compliance_sse.analyzers.rules import RulesAnalyzer
from compliance_sse.pipeline.models import ExtractedPage, Finding

from .ordinary import FRESH_ENV, SEVERE, Text, pages, part, texts

__all__ = ["GROUPS", "LABELS", "findings", "main"]

LABELS = Path(__file__).with_name("notices")
GROUPS = ("lowered", "kept", "removed", "added")
"""How a labelled flag was drawn (see the module docstring)."""
SEED = 7
CONTEXT = 400
"""Characters of the text shown on each side of a quote."""


def findings(
    text: Text, analyzer: RulesAnalyzer, as_notice: bool = True, model: bool = True
) -> dict[tuple[str, str], Finding]:
    """The findings on ``text`` by rule and quote hash; ``as_notice=False`` reads a notice like a contract, and
    ``model=False`` leaves out the notice model's second opinion (``compliance_sse.analyzers.notice_model``)."""
    doc = analyzer.new_document()
    if not as_notice:
        doc.notice = False
    if not model:
        doc.notice_model = None
    for number, page in enumerate(pages(text.body), start=1):
        doc.feed(ExtractedPage(number, page))
    doc.finish()
    return {(f.rule_id or f.category, _digest(ev.quote)): f for f in doc.result().findings for ev in f.evidence}


def _digest(quote: str) -> str:
    return hashlib.sha1(quote.encode()).hexdigest()[:12]


def _legal(fresh_dir: Path, parts: set[str]) -> Iterator[Text]:
    """The texts of the fresh ``parts`` other than the man pages: notices, and in ``fresh-14`` technical proposals."""
    return (t for t in texts(fresh_dir, fresh=True) if part(t) in parts and t.source != "man-page")


def sample(fresh_dir: Path, where: str, out: Path, per_group: int) -> tuple[int, int]:
    analyzer = RulesAnalyzer()
    groups: dict[str, list[dict[str, Any]]] = {"lowered": [], "kept": []}
    for text in _legal(fresh_dir, {where}):
        plain = {k: f for k, f in findings(text, analyzer, as_notice=False).items() if f.severity >= SEVERE}
        if not plain:
            continue
        calibrated = findings(text, analyzer)
        for (rule, digest), f in plain.items():
            now = calibrated.get((rule, digest))
            group = "kept" if now is not None and now.severity >= SEVERE else "lowered"
            groups[group].append({**_row(text, rule, digest, f), "group": group})
    rng = random.Random(SEED)
    _write([x for g in groups.values() for x in rng.sample(g, min(per_group, len(g)))], out, rng)
    return len(groups["lowered"]), len(groups["kept"])


def _row(text: Text, rule: str, digest: str, f: Finding) -> dict[str, Any]:
    """What a labeller sees of a flag (document, title, rule, quote and the text around it), and where the quote
    sits in the text (``at``, -1 when not found verbatim)."""
    quote = next(ev.quote for ev in f.evidence if _digest(ev.quote) == digest)
    at = text.body.find(quote[:60])
    context = text.body[max(0, at - CONTEXT) : at + len(quote) + CONTEXT] if at >= 0 else quote
    line = {"doc": text.label, "title": text.body[:160], "rule": rule, "category": f.category}
    return {**line, "quote": quote, "quote_sha1": digest, "context": context, "at": at}


def _write(drawn: list[dict[str, Any]], out: Path, rng: random.Random) -> None:
    """The drawn flags, shuffled, to ``out`` without their group, and each one's group to ``out``'s ``.key`` twin."""
    rng.shuffle(drawn)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as lines, out.with_suffix(".key").open("w") as key:
        for n, x in enumerate(drawn):
            ident = hashlib.sha1(f"{n}{x['doc']}{x['rule']}".encode()).hexdigest()[:8]
            line = {k: x[k] for k in ("doc", "title", "rule", "category", "quote", "quote_sha1", "context")}
            lines.write(json.dumps({"id": ident, **line}) + "\n")
            key.write(json.dumps({"id": ident, "group": x["group"]}) + "\n")


def flags(fresh_dir: Path, where: str, out: Path, model: bool = True) -> int:
    """Write the flags of severity 3 or more on the legal texts of part ``where``, with where each quote sits in its
    text, for :func:`step` to compare with those of another version of the code (or the same code without the notice
    model, ``model=False``); returns how many."""
    analyzer = RulesAnalyzer()
    rows = [
        _row(text, rule, digest, f)
        for text in _legal(fresh_dir, {where})
        for (rule, digest), f in findings(text, analyzer, model=model).items()
        if f.severity >= SEVERE
    ]
    out.write_text(json.dumps(rows))
    return len(rows)


def _same(flag: dict[str, Any], others: list[dict[str, Any]]) -> bool:
    """Whether one of ``others`` (same document and rule) is ``flag``: their quotes overlap in the text, or, where one
    was not found verbatim, one quote holds the other."""
    if flag["at"] >= 0 and all(x["at"] >= 0 for x in others):
        end = flag["at"] + len(flag["quote"])
        return any(x["at"] < end and flag["at"] < x["at"] + len(x["quote"]) for x in others)
    return any(x["quote"] in flag["quote"] or flag["quote"] in x["quote"] for x in others)


def step(old: Path, new: Path, out: Path, kept: int | None = None) -> dict[str, int]:
    """Draw the flags a change of the code took away (``removed``: all), left (``kept``: a sample, as many as were
    removed unless ``kept`` says), and brought (``added``: all), from two :func:`flags` files of one part."""
    before, after = json.loads(old.read_text()), json.loads(new.read_text())
    by: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {"old": {}, "new": {}}
    for name, rows in (("old", before), ("new", after)):
        for x in rows:
            by[name].setdefault((x["doc"], x["rule"]), []).append(x)
    groups: dict[str, list[dict[str, Any]]] = {"removed": [], "kept": [], "added": []}
    for x in before:
        groups["kept" if _same(x, by["new"].get((x["doc"], x["rule"]), [])) else "removed"].append(x)
    groups["added"] = [x for x in after if not _same(x, by["old"].get((x["doc"], x["rule"]), []))]
    rng = random.Random(SEED)
    size = len(groups["removed"]) if kept is None else kept
    drawn = {**groups, "kept": rng.sample(groups["kept"], min(size, len(groups["kept"])))}
    _write([{**x, "group": g} for g, rows in drawn.items() for x in rows], out, rng)
    return {g: len(rows) for g, rows in groups.items()}


def score(fresh_dir: Path, labels: Path = LABELS, model: bool = True) -> str:
    analyzer = RulesAnalyzer()
    files = {path.stem: path for path in sorted(labels.glob("*.jsonl"))}
    rows = []
    by_part: dict[str, dict[str, Text]] = {name: {} for name in files}
    for text in _legal(fresh_dir, set(files)):
        by_part[part(text)][text.label] = text
    for name, path in files.items():
        labelled = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        now = {
            doc: findings(by_part[name][doc], analyzer, model=model)
            for doc in {x["doc"] for x in labelled} & by_part[name].keys()
        }
        total: Counter[tuple[str, str]] = Counter()
        raised: Counter[tuple[str, str]] = Counter()
        for x in labelled:
            if x["doc"] in now:
                f = now[x["doc"]].get((x["rule"], x["quote_sha1"]))
                total[x["group"], x["label"]] += 1
                raised[x["group"], x["label"]] += f is not None and f.severity >= SEVERE
        cells = [
            f"{g} {lab} {raised[g, lab]}/{total[g, lab]}"
            for g in GROUPS
            for lab in ("keep", "standard", "misread")
            if total[g, lab]
        ]
        missing = len({x["doc"] for x in labelled} - now.keys())
        gone = f"; {missing} documents not in --fresh-dir" if missing else ""
        rows.append(f"{name}: at severity >= {SEVERE} now, by group when drawn and label: {', '.join(cells)}{gone}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--fresh-dir", type=Path, default=os.environ.get(FRESH_ENV) or None)
    sub = parser.add_subparsers(dest="command", required=True)
    draw = sub.add_parser("sample", help="draw flags of a fresh part to label")
    draw.add_argument("part", help="a fresh part of eval.ordinary, such as fresh-8")
    draw.add_argument("out", type=Path)
    draw.add_argument("--per-group", type=int, default=120)
    rate = sub.add_parser("score", help="how the labelled flags come out now")
    rate.add_argument("--no-model", action="store_true", help="leave out the notice model's second opinion")
    dump = sub.add_parser("flags", help="write a fresh part's flags, to compare two versions of the code with step")
    dump.add_argument("part")
    dump.add_argument("out", type=Path)
    dump.add_argument("--no-model", action="store_true", help="leave out the notice model's second opinion")
    change = sub.add_parser("step", help="draw the flags a change removed, kept and added, to label")
    change.add_argument("old", type=Path, help="the flags file of the part before the change")
    change.add_argument("new", type=Path, help="the flags file of the part after it")
    change.add_argument("out", type=Path)
    change.add_argument("--kept", type=int, help="how many kept flags to draw (default: as many as were removed)")
    args = parser.parse_args(argv)
    if args.command == "step":
        counts = step(args.old, args.new, args.out, args.kept)
        print(", ".join(f"{n} {g}" for g, n in counts.items()) + f"; sample in {args.out}")
        return 0
    if args.fresh_dir is None or not args.fresh_dir.is_dir():
        print(f"eval.notices: give --fresh-dir (or ${FRESH_ENV}) holding the fresh parts' folders", file=sys.stderr)
        return 2
    if args.command == "sample":
        lowered, kept = sample(args.fresh_dir, args.part, args.out, args.per_group)
        print(f"{args.part}: {lowered} flags lowered, {kept} kept; sample in {args.out}")
    elif args.command == "flags":
        print(f"{args.part}: {flags(args.fresh_dir, args.part, args.out, not args.no_model)} flags in {args.out}")
    else:
        print(score(args.fresh_dir, model=not args.no_model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
