"""Ordinary public texts found on this machine (licences, package READMEs and changelogs, copyright files, Python's
reference topics): a compliance screen should raise nothing of severity 3 or more on any of them.

The texts are split once into a ``look`` part (its flags are printed, rules may be fixed against it) and a
``held-out`` part (only counted, never printed) by a seeded hash of each text's label, so the split does not depend
on what is installed or in which order it is found. ``python -m eval.ordinary`` prints, per part and source, how
many texts carry a flag of severity 3 or more, and the flags of the ``look`` part only: the held-out part's flags
are not for reading.

A third part, ``fresh``, holds texts added after the held-out part had been used up: Python's PEPs and
choosealicense.com's licence texts from the directory ``--fresh-dir`` (or ``CSSE_ORDINARY_FRESH``; see
docs/EVALUATION.md for how to fill it), and a second seeded sample of the man pages the first sample left out. It is
only counted, like the held-out part.

A fourth part, ``fresh-2``, was added before any flag of the ``fresh`` part was read, so that part could be read
for fixes and still leave an unread measure: Rust's RFCs (``rfcs/*.md`` under the same directory) and a third seeded
sample of the man pages that neither earlier sample took. It too is only counted.

A fifth part, ``fresh-3``, was added and counted before any flag of ``fresh-2`` was read, for the same reason:
GitHub's site policies (terms, privacy statements, an anti-bribery statement, trade controls: ``site-policy/**/*.md``),
Ethereum's EIPs (``eips/*.md``) and a fourth seeded sample of the man pages no earlier sample took.

A sixth part, ``fresh-4``, was added and counted before any flag of ``fresh-3`` was read: more terms and privacy
notices (Mozilla's ``legal-docs/**/*.md``, Basecamp's ``basecamp/**/*.md``, Automattic's ``legalmattic/**/*.md``),
Ethereum's ERCs (``ercs/*.md``) and a fifth seeded man-page sample.

A seventh part, ``fresh-5``, was added and counted before any flag of ``fresh-4`` was read: the terms of service,
privacy policies and community guidelines of large platforms as Open Terms Archive records them
(``ota-pga/**/*.md``, ``ota-vlopses/**/*.md``) and a sixth seeded man-page sample.

An eighth part, ``fresh-6``, was added and counted before any flag of ``fresh-5`` was read: the terms and privacy
policies of the services Open Terms Archive's contrib collection holds and the two above do not (``ota-contrib``)
and a seventh seeded man-page sample.

A ninth part, ``fresh-7``, was added and counted before any flag of ``fresh-6`` was read: a seeded 8 % of the
terms of service and privacy policies ToS;DR collected (``tosdr/*.txt``; later parts take other shares of it), the
terms of generative-AI and dating services as Open Terms Archive records them (``ota-genai``, ``ota-dating``) and an
eighth seeded man-page sample.

A tenth part, ``fresh-8``, was added and counted before any flag of ``fresh-7`` was read: the next seeded 8 % of the
ToS;DR texts and a ninth seeded man-page sample.

An eleventh part, ``fresh-9``, was added and counted once the labels of ``fresh-8``'s flags had been read: the next
seeded 8 % of the ToS;DR texts and a tenth seeded man-page sample.

A twelfth part, ``fresh-10``, was added and counted at the start of round 7, before any fix of that round: the
next seeded 8 % of the ToS;DR texts and an eleventh seeded man-page sample.

A thirteenth part, ``fresh-11``, was added and counted once round 7's first readings (d4f70ff) were labelled on
``fresh-10``, before any fix read off those labels: the next seeded 8 % of the ToS;DR texts and a twelfth seeded
man-page sample.

A fourteenth part, ``fresh-12``, was added and counted once round 7's second readings (247e85e) were labelled on
``fresh-11``, before any fix read off those labels: the next seeded 8 % of the ToS;DR texts and a thirteenth seeded
man-page sample.

A fifteenth part, ``fresh-13``, was added and counted at 151dbab, before round 7's last fix (an opening condition's
negation stays in it): the next seeded 8 % of the ToS;DR texts and a fourteenth seeded man-page sample.

A sixteenth part, ``fresh-14``, was added and counted at the start of round 8, before any EIP or ERC flag was read
for fixes: other ledgers' improvement proposals, whose token, fee and payment designs use the financial rules' words
as EIPs and ERCs do (Bitcoin's BIPs ``bips/bip-*``, Cardano's CIPs and CPSs ``cips/C*/README.md``, Stellar's CAPs
and SEPs ``stellar/*/*.md``), and a fifteenth seeded man-page sample.

A seventeenth part, ``fresh-15``, was added and counted once round 8's first step (technical proposals) had been
measured and labelled on ``fresh-14``, before its second step (words read in their ordinary senses) was committed: the
next seeded 8 % of the ToS;DR texts and a sixteenth seeded man-page sample.

An eighteenth part, ``fresh-16``, was added and counted once ``fresh-15``'s flags had been labelled, before any fix
read off those labels: the next seeded 8 % of the ToS;DR texts and a seventeenth seeded man-page sample.

A nineteenth part, ``fresh-17``, was added at the end of round 8 and counted once, at the round's final code, with
no flag read: more ledgers' improvement proposals (Aptos's AIPs ``aips/*.md``, NEAR's NEPs ``neps/*.md``,
Filecoin's FIPs and FRCs ``fips/*/*.md``, Algorand's ARCs ``arcs/*.md``, Sui's SIPs ``sips/*.md``) and an eighteenth
seeded man-page sample.

A twentieth part, ``fresh-18``, was added and counted at the start of round 9, before any flag of it was read: the
next seeded 8 % of the ToS;DR texts and a nineteenth seeded man-page sample.

A twenty-first part, ``fresh-19``, was added and counted once round 9's first step had been labelled on
``fresh-18``, before any fix read off those labels: the next seeded 8 % of the ToS;DR texts and a twentieth seeded
man-page sample.

A twenty-second part, ``fresh-20``, was added and counted once round 9's second step had been measured on
``fresh-19`` and before its labels were read: the next seeded 8 % of the ToS;DR texts and a twenty-first seeded
man-page sample.

A twenty-third part, ``fresh-21``, was added and counted at the start of round 10, before any flag of it was read: the
last 4 % of the ToS;DR texts and a twenty-second seeded man-page sample.

A twenty-fourth part, ``fresh-22``, was added and counted once round 10's first step had been labelled on
``fresh-21``, before any fix read off those labels: three more Open Terms Archive collections (the platform-to-business
terms ``ota-p2b/**/*.md``, the contributed generative-AI services' ``ota-genai-contrib/**/*.md`` and the user-rights
collection ``ota-user-rights/**/*.md``) and a twenty-third seeded man-page sample. Some services also appear in
earlier parts under another version of their text; identical bodies are read once.

A twenty-fifth part, ``fresh-23``, was added and counted once round 10's second step had been labelled on
``fresh-22``, before any fix read off those labels: Open Terms Archive's demonstration collection
(``ota-demo/**/*.md``, notices) and its collection of the systemic-risk reports that very large platforms publish
under the EU's Digital Services Act (``ota-dsa/**/*.md``, a kind of text not read before: a platform describing the
risks on its service and what it does about them), and a twenty-fourth seeded man-page sample.

A twenty-sixth part, ``fresh-24``, was added at the end of round 10 and counted at the round's start and end code,
no flag of it read before: the notices of ToS;DR's ToSBack collection (``tosback/**/*.md``), other versions of many
services' terms and policies whose ToS;DR texts earlier parts hold, and a twenty-fifth seeded man-page sample.

(``fresh-25`` to ``fresh-28`` are earlier versions of tracked notices: docs/EVALUATION.md, round 11.)

A thirty-first part, ``fresh-29``, was added and counted at the start of round 12, before any flag of it was read: a
seeded 1 % of the DMOZ privacy-policy corpus (the privacy policies of 117,000 websites of every kind, crawled for a
CODASPY 2021 paper and released under CC0: ``dmoz/*/*.txt``, each text's first line its address), a source none of
the earlier parts drew on, and a thirtieth seeded man-page sample. Round 12 reads its flags.

A thirty-second part, ``fresh-30``, was added and counted with ``fresh-29``, at the same code, and no flag of it is
read before round 12 ends: the next seeded 1 % of the DMOZ corpus and a thirty-first seeded man-page sample.

A thirty-third part, ``fresh-31``, was added and counted once round 12's first four steps were measured on
``fresh-30``, before any flag of it was read: the next seeded 1 % of the DMOZ corpus and a thirty-second seeded
man-page sample.

A thirty-fourth part, ``fresh-32``, was added and counted once round 12's fifth step was measured on ``fresh-31``,
before any flag of it was read: the next seeded 1 % of the DMOZ corpus and a thirty-third seeded man-page sample.
Round 13 measured its sixth step on it.

A thirty-fifth part, ``fresh-33``, was added and counted once round 13's sixth step was measured on ``fresh-32``,
before any flag of it was read: the next seeded 1 % of the DMOZ corpus and a thirty-fourth seeded man-page sample.

The thirty-sixth to forty-fifth parts, ``fresh-34`` to ``fresh-43``, each take the next seeded 1 % of the DMOZ
corpus and the next seeded man-page sample (the thirty-fifth to the forty-fourth). Each was added and counted before
any flag of it was read: ``fresh-34``, ``fresh-37`` and ``fresh-41`` at the start of rounds 14, 15 and 16, every
other one once the round's step before it had been counted on the part before it, so that each step of those rounds
is measured on a part no one had read (docs/EVALUATION.md, rounds 14 to 16).
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import os
import re
import sys
import sysconfig
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from compliance_sse.analyzers.rules import RulesAnalyzer, analyze_pages

__all__ = ["PAGE_CHARS", "Text", "is_held_out", "main", "pages", "part", "serious", "texts"]

SPLIT_SEED = "ordinary-13"
HELD_OUT_PERCENT = 30
PAGE_CHARS = 3000
MAX_CHARS = 15_000
"""The first five pages of each text: changelogs run to megabytes, and their start is like their middle."""
SEVERE = 3
DOC = Path("/usr/share/doc")
MAN = Path("/usr/share/man")
MAN_SHARE = 10
"""Per cent of the man pages read (a seeded sample: there are about 20,000)."""
PYENV = Path("/root/.pyenv/versions")
FRESH_ENV = "CSSE_ORDINARY_FRESH"
FRESH_SOURCES = {
    1: (("peps", "pep-*.rst", "pep"), ("_licenses", "*.txt", "choosealicense")),
    2: (("rfcs", "*.md", "rust-rfc"),),
    3: (("site-policy", "**/*.md", "site-policy"), ("eips", "*.md", "eip")),
    4: (
        ("legal-docs", "**/*.md", "mozilla-legal"),
        ("basecamp", "**/*.md", "basecamp-policy"),
        ("legalmattic", "**/*.md", "automattic-legal"),
        ("ercs", "*.md", "erc"),
    ),
    5: (("ota-pga", "**/*.md", "platform-terms"), ("ota-vlopses", "**/*.md", "platform-terms")),
    6: (("ota-contrib", "**/*.md", "service-terms"),),
    7: (
        ("tosdr", "*.txt", "tosdr-terms", (0, 8)),
        ("ota-genai", "**/*.md", "genai-terms"),
        ("ota-dating", "**/*.md", "dating-terms"),
    ),
    8: (("tosdr", "*.txt", "tosdr-terms", (8, 16)),),
    9: (("tosdr", "*.txt", "tosdr-terms", (16, 24)),),
    10: (("tosdr", "*.txt", "tosdr-terms", (24, 32)),),
    11: (("tosdr", "*.txt", "tosdr-terms", (32, 40)),),
    12: (("tosdr", "*.txt", "tosdr-terms", (40, 48)),),
    13: (("tosdr", "*.txt", "tosdr-terms", (48, 56)),),
    14: (
        ("bips", "bip-*.mediawiki", "bip"),
        ("bips", "bip-*.md", "bip"),
        ("cips", "CIP-*/README.md", "cip"),
        ("cips", "CPS-*/README.md", "cip"),
        ("stellar", "*/*.md", "stellar-proposal"),
    ),
    15: (("tosdr", "*.txt", "tosdr-terms", (56, 64)),),
    16: (("tosdr", "*.txt", "tosdr-terms", (64, 72)),),
    17: (
        ("aips", "*.md", "aip"),
        ("neps", "*.md", "nep"),
        ("fips", "*/*.md", "fip"),
        ("arcs", "*.md", "arc"),
        ("sips", "*.md", "sip"),
    ),
    18: (("tosdr", "*.txt", "tosdr-terms", (72, 80)),),
    19: (("tosdr", "*.txt", "tosdr-terms", (80, 88)),),
    20: (("tosdr", "*.txt", "tosdr-terms", (88, 96)),),
    21: (("tosdr", "*.txt", "tosdr-terms", (96, 100)),),
    22: (
        ("ota-p2b", "**/*.md", "p2b-terms"),
        ("ota-genai-contrib", "**/*.md", "genai-terms"),
        ("ota-user-rights", "**/*.md", "platform-terms"),
    ),
    23: (("ota-demo", "**/*.md", "platform-terms"), ("ota-dsa", "**/*.md", "dsa-report")),
    24: (("tosback", "**/*.md", "tosback-terms"),),
    25: (
        ("tosback-old", "**/*.md", "tosback-terms"),
        ("pga-old", "**/*.md", "platform-terms"),
        ("vlopses-old", "**/*.md", "platform-terms"),
        ("contrib-old", "**/*.md", "service-terms"),
    ),
    26: (
        ("tosback-mid", "**/*.md", "tosback-terms"),
        ("pga-mid", "**/*.md", "platform-terms"),
        ("vlopses-mid", "**/*.md", "platform-terms"),
        ("contrib-mid", "**/*.md", "service-terms"),
        ("genai-eu-old", "**/*.md", "genai-terms"),
        ("genai-contrib-old", "**/*.md", "genai-terms"),
        ("dating-old", "**/*.md", "dating-terms"),
        ("p2b-compliance-old", "**/*.md", "p2b-terms"),
        ("user-rights-old", "**/*.md", "platform-terms"),
        ("demo-old", "**/*.md", "platform-terms"),
    ),
    27: (
        ("tosback-q", "**/*.md", "tosback-terms"),
        ("pga-q", "**/*.md", "platform-terms"),
        ("vlopses-q", "**/*.md", "platform-terms"),
        ("contrib-q", "**/*.md", "service-terms"),
        ("site-policy-old", "*.md", "site-policy"),
        ("site-policy-mid", "*.md", "site-policy"),
        ("legal-docs-old", "*/en-US.md", "mozilla-legal"),
        ("legal-docs-mid", "*/en-US.md", "mozilla-legal"),
        ("basecamp-old", "**/*.md", "basecamp-policy"),
        ("basecamp-mid", "**/*.md", "basecamp-policy"),
        ("legalmattic-old", "**/*.md", "automattic-legal"),
        ("legalmattic-mid", "**/*.md", "automattic-legal"),
    ),
    28: (
        ("tosback-e", "**/*.md", "tosback-terms"),
        ("pga-e", "**/*.md", "platform-terms"),
        ("vlopses-e", "**/*.md", "platform-terms"),
        ("contrib-e", "**/*.md", "service-terms"),
        ("genai-eu-mid", "**/*.md", "genai-terms"),
        ("genai-contrib-mid", "**/*.md", "genai-terms"),
        ("dating-mid", "**/*.md", "dating-terms"),
        ("p2b-compliance-mid", "**/*.md", "p2b-terms"),
        ("user-rights-mid", "**/*.md", "platform-terms"),
        ("demo-mid", "**/*.md", "platform-terms"),
    ),
    29: (("dmoz", "*/*.txt", "dmoz-policy", (0, 1)),),
    30: (("dmoz", "*/*.txt", "dmoz-policy", (1, 2)),),
    31: (("dmoz", "*/*.txt", "dmoz-policy", (2, 3)),),
    32: (("dmoz", "*/*.txt", "dmoz-policy", (3, 4)),),
    33: (("dmoz", "*/*.txt", "dmoz-policy", (4, 5)),),
    34: (("dmoz", "*/*.txt", "dmoz-policy", (5, 6)),),
    35: (("dmoz", "*/*.txt", "dmoz-policy", (6, 7)),),
    36: (("dmoz", "*/*.txt", "dmoz-policy", (7, 8)),),
    37: (("dmoz", "*/*.txt", "dmoz-policy", (8, 9)),),
    38: (("dmoz", "*/*.txt", "dmoz-policy", (9, 10)),),
    39: (("dmoz", "*/*.txt", "dmoz-policy", (10, 11)),),
    40: (("dmoz", "*/*.txt", "dmoz-policy", (11, 12)),),
    41: (("dmoz", "*/*.txt", "dmoz-policy", (12, 13)),),
    42: (("dmoz", "*/*.txt", "dmoz-policy", (13, 14)),),
    43: (("dmoz", "*/*.txt", "dmoz-policy", (14, 15)),),
}
"""Per fresh generation: (folder of the fresh directory, files, source name[, seeded share]). A share ``(lo, hi)``
takes the files whose seeded hash falls in [lo, hi) of 100, so later generations can take other shares of a large
folder without overlap."""
PARTS = ("look", "held-out", "fresh", *(f"fresh-{n}" for n in range(2, max(FRESH_SOURCES) + 1)))


@dataclass(frozen=True, slots=True)
class Text:
    source: str
    label: str
    """Where the text comes from, independent of the checkout: ``site-packages/...`` or an absolute path."""
    body: str
    fresh: int = 0
    """0 for the look and held-out parts, 1 for ``fresh``, N for ``fresh-N``."""


def part(text: Text) -> str:
    """``look``, ``held-out``, ``fresh`` or ``fresh-N``."""
    if text.fresh:
        return "fresh" if text.fresh == 1 else f"fresh-{text.fresh}"
    return "held-out" if is_held_out(text.label) else "look"


def is_held_out(label: str) -> bool:
    digest = hashlib.sha256(f"{SPLIT_SEED}:{label}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELD_OUT_PERCENT


def _bucket(label: str) -> int:
    """A seeded hash of ``label`` in [0, 100)."""
    digest = hashlib.sha256(f"{SPLIT_SEED}:sample:{label}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def _sampled(label: str, percent: int) -> bool:
    return _bucket(label) < percent


_TROFF_REQUEST = re.compile(r"^\.\s*(?:[A-Za-z]{1,2}\b)?\s*", re.M)
_TROFF_ESCAPE = re.compile(
    r"\\(?:f(?:\[[^\]]*\]|\(..|.)|\*?\(..|\*?\[[^\]]*\]|[hvwlLo]'[^']*'|[-e&|^ {}c]|s[-+]?\d|\*.)"
)


def _read(path: Path) -> str:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    if path.is_relative_to(MAN):  # a man page's troff source: keep the words, drop requests and escapes
        lines = [line for line in text.splitlines() if not line.startswith(('.\\"', "'\\\"", ".de", ".."))]
        text = _TROFF_REQUEST.sub("", "\n".join(lines)).replace("\\-", "-")
        text = _TROFF_ESCAPE.sub(" ", text)
    return text


def _files() -> Iterator[tuple[str, str, Path]]:
    site = Path(sysconfig.get_paths()["purelib"])
    for path in sorted(site.glob("**/*")):
        name = path.name.upper()
        if not path.is_file() or "/tests/" in str(path):
            continue
        if name.startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE")):
            source = "package-licence"
        elif name == "METADATA" and path.parent.name.endswith(".dist-info"):
            source = "package-metadata"
        elif name.startswith(("README", "CHANGELOG", "CHANGES", "HISTORY")) and path.suffix in {
            "",
            ".md",
            ".rst",
            ".txt",
        }:
            source = "package-readme"
        elif path.suffix in {".md", ".rst"} and ".dist-info" not in str(path):
            source = "package-docs"
        else:
            continue
        yield source, "site-packages/" + str(path.relative_to(site)), path
    for path in sorted(Path("/usr/share/common-licenses").glob("*")):
        yield "debian-licence", str(path), path
    for pattern, source in (
        ("*/copyright", "debian-copyright"),
        ("*/README*", "debian-readme"),
        ("*/NEWS*", "debian-news"),
        ("*/changelog*", "debian-changelog"),
    ):
        for path in sorted(DOC.glob(pattern)):
            yield source, str(path), path
    for path in sorted(DOC.glob("*/*")):
        name = path.name.upper().removesuffix(".GZ")
        if name.endswith((".TXT", ".MD", ".RST")) or name.startswith(("FAQ", "TODO", "AUTHORS", "THANKS", "BUGS")):
            yield "debian-doc", str(path), path
    for path in sorted(MAN.glob("man[1-8]/*.gz")):
        if _sampled(str(path), MAN_SHARE):
            yield "man-page", str(path), path


def _fresh_files(fresh_dir: Path | None, generation: int = 1) -> Iterator[tuple[str, str, Path]]:
    """The files of fresh part ``generation``: a new seeded 10 % of the man pages no earlier sample took, then the
    texts under ``fresh_dir`` (labelled ``fresh/<folder>/<path>``)."""
    keys = ["fresh" if g == 1 else f"fresh-{g}" for g in range(1, generation + 1)]
    for path in sorted(MAN.glob("man[1-8]/*.gz")):
        if _sampled(str(path), MAN_SHARE) or any(_sampled(f"{key}:{path}", MAN_SHARE) for key in keys[:-1]):
            continue
        if _sampled(f"{keys[-1]}:{path}", MAN_SHARE):
            yield "man-page", str(path), path
    if fresh_dir is None:
        return
    for folder, pattern, source, *share in FRESH_SOURCES[generation]:
        for path in sorted((fresh_dir / folder).glob(pattern)):
            label = f"fresh/{folder}/{path.relative_to(fresh_dir / folder)}"
            if not share or share[0][0] <= _bucket(label) < share[0][1]:
                yield source, label, path


def texts(fresh_dir: Path | None = None, fresh: bool = False) -> list[Text]:
    """Every ordinary text on this machine, each distinct body once (many copyright files are identical); with
    ``fresh``, the fresh part's texts after them (see the module docstring)."""
    out: list[Text] = []
    seen: set[str] = set()
    files = [(f, 0) for f in _files()]
    if fresh:
        files += [(f, g) for g in FRESH_SOURCES for f in _fresh_files(fresh_dir, g)]
    for (source, label, path), is_fresh in files:
        if not path.is_file() or path.stat().st_size == 0:
            continue
        try:
            body = _read(path)[:MAX_CHARS]
        except (OSError, EOFError, gzip.BadGzipFile):
            continue
        digest = hashlib.sha1(body.encode()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            out.append(Text(source, label, body, is_fresh))
    topics = [("pydoc_data/topics", _topics())]
    for path in sorted(PYENV.glob("*/lib/python3*/pydoc_data/topics.py")) if PYENV.is_dir() else []:
        topics.append((f"{path.parent.parent.name}/pydoc_data/topics", sorted(_topics_of(path).items())))
    for prefix, items in topics:
        for name, text in items:
            body = text[:MAX_CHARS]
            digest = hashlib.sha1(body.encode()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                out.append(Text("python-docs", f"{prefix}/{name}", body))
    return out


def _topics_of(path: Path) -> dict[str, str]:
    """The ``topics`` of another Python's ``pydoc_data/topics.py``, read as data (not imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "topics" for t in node.targets):
            value = ast.literal_eval(node.value)
            return value if isinstance(value, dict) else {}
    return {}


def _topics() -> list[tuple[str, str]]:
    """Python's own language reference, as pydoc shows it (some distributions leave it out)."""
    try:
        from pydoc_data.topics import topics
    except ImportError:  # pragma: no cover
        return []
    return sorted(topics.items())


def pages(text: str) -> list[str]:
    return [text[i : i + PAGE_CHARS] for i in range(0, len(text), PAGE_CHARS)] or [""]


def serious(text: str, analyzer: RulesAnalyzer) -> list[tuple[str, int, str]]:
    """(rule, severity, quote) of each flag of severity 3 or more on ``text``."""
    result = analyze_pages(pages(text), analyzer)
    return [(f.rule_id or f.category, f.severity, f.evidence[0].quote) for f in result.findings if f.severity >= SEVERE]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quiet", action="store_true", help="only the counts, not the look part's flags")
    parser.add_argument("--check", action="store_true", help="exit 1 when a text of the look part is flagged")
    parser.add_argument(
        "--fresh-dir",
        type=Path,
        default=os.environ.get(FRESH_ENV) or None,
        help=f"directory holding the fresh parts' folders (docs/EVALUATION.md; default: ${FRESH_ENV})",
    )
    parser.add_argument("--no-fresh", action="store_true", help="leave the fresh part out")
    args = parser.parse_args(argv)
    if args.fresh_dir is not None and not args.fresh_dir.is_dir():
        print(f"eval.ordinary: no directory {args.fresh_dir}", file=sys.stderr)
        return 2
    analyzer = RulesAnalyzer()
    total: Counter[tuple[str, str]] = Counter()
    flagged: Counter[tuple[str, str]] = Counter()
    for text in texts(args.fresh_dir, fresh=not args.no_fresh):
        where = part(text)
        total[where, text.source] += 1
        flags = serious(text.body, analyzer)
        if flags:
            flagged[where, text.source] += 1
            if where == "look" and not args.quiet:
                for rule, severity, quote in flags:
                    print(f"  {text.label}: {rule} ({severity}) {quote[:140]!r}")
    for where in PARTS:
        sources = sorted(s for p, s in total if p == where)
        n = sum(total[where, s] for s in sources)
        bad = sum(flagged[where, s] for s in sources)
        detail = ", ".join(f"{s} {flagged[where, s]}/{total[where, s]}" for s in sources)
        print(f"{where}: {bad} of {n} texts with a flag of severity >= {SEVERE} ({detail})")
    look_flagged = sum(n for (where, _), n in flagged.items() if where == "look")
    return 1 if args.check and look_flagged else 0


if __name__ == "__main__":
    sys.exit(main())
