"""RulesAnalyzer: the offline, deterministic analyzer, fed page by page as extraction yields pages.

How a page is read:

1. Its whitespace is collapsed (every quote is then a substring of the page's whitespace-normalised text) and it
   is cut into sentences: at sentence punctuation, blank lines, list items and ``Label:`` lines.
2. Text addressed to an automated reviewer (prompt injection) is found first; those sentences are reported and
   then left out of every other rule, so the instruction can neither suppress nor add findings.
3. Identifiers (:mod:`.recognizers`) and the rules of :mod:`.rules_table` run on the remaining sentences.
4. A sentence that a page break cuts in two is held back until the next page arrives and analysed whole; its
   evidence quotes the part on each page.

Findings are emitted (``ctx.on_finding``) as soon as they are made, except for rules whose safeguard may be stated
anywhere in the document (a transfer abroad is fine if standard contractual clauses are named on page 9): those
are emitted when the document ends. A second hit of the same rule with the same key (the same identifier, the
same trigger phrase, the same jurisdiction) adds evidence to the first finding instead of making a new one.

Text that looks garbled (a font without a usable encoding) or is missing is reported as a ``document_integrity``
finding and a note, and raises the overall risk floor, so an unreadable document never looks clean.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lemminflect import getAllLemmas

from ..pipeline.models import AnalysisResult, Evidence, ExtractedPage, Finding
from .base import AnalysisContext, Analyzer
from .concepts import (
    STANDARD_FORM_SEVERITY,
    ConceptHit,
    ConceptRule,
    SentenceConcepts,
    clause_openings,
    is_name,
    match_rules,
    notice_clause,
    passes_on,
    read_sentence,
)
from .notice_model import NoticeModel, notice_model
from .recognizers import IdentifierMatch, find_identifiers, fold_case, mask
from .rules_table import (
    EXPORT_CLAUSE,
    IDENTIFIER_RULES,
    NEGATION_AFTER,
    NEGATION_BEFORE,
    POLICY_CONTEXT,
    PROMPT_MARKERS,
    DesignatedNames,
    Rule,
    RuleData,
    literal_anchors,
    load_data,
    load_rules,
    sanctioned_pattern,
    trigger_gate,
)

__all__ = [
    "MAX_EVIDENCE",
    "MAX_QUOTE_CHARS",
    "DocumentAnalysis",
    "RulesAnalyzer",
    "analyze_pages",
    "garbled_reason",
    "overall_risk",
]

MAX_QUOTE_CHARS = 320
"""A longer sentence is quoted as a window around the trigger, cut at word boundaries."""
MAX_EVIDENCE = 8
"""Evidence items kept per finding; later hits of a merged finding add no more quotes."""

SEVERITY_WEIGHT = {1: 0.02, 2: 0.05, 3: 0.2, 4: 0.4, 5: 0.65}
"""Each finding's contribution to ``overall_risk`` (combined as independent probabilities)."""
LOW_SEVERITY_CAP = 0.15
"""Findings of severity 1-2 (an e-mail address, a phone number) together add at most this much."""

_WS = re.compile(r"\s+")
# Typographic quotes, dashes and bullets are written as \u escapes so the source stays ASCII.
_SENT_END = re.compile(r"(?<=[.!?;])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9\u2022\-\u2013(])")
_ABBREVIATIONS = frozenset(
    [
        "no",
        "nos",
        "mr",
        "mrs",
        "ms",
        "mdm",
        "dr",
        "prof",
        "st",
        "co",
        "ltd",
        "inc",
        "corp",
        "art",
        "arts",
        "sec",
        "s",
        "ss",
        "cl",
        "para",
        "paras",
        "e.g",
        "i.e",
        "vs",
        "approx",
        "ref",
        "fig",
        "p",
        "pp",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "sch",
        "reg",
        "regs",
    ]
)
"""Words whose full stop does not end a sentence ("Passport No. E1234567K", "Mr. Tan")."""
_GLUED_END = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z]|[A-Z]{2,}\b)")
"""A sentence end with its space lost, as text copied from a web page has it: before a sentence ("with
anyone?Our policy is"), or before a name or heading in capitals ("may be offered.NAEGELI does not sell", "those
changes.SECTION 1 - CONTENT")."""
_RUN_IN = re.compile(
    r"(?<=[a-z0-9)\u00b6]) (?=(?:We|Our|If|When|Where|Please|This|These|Unless|You|Your) [a-z]"
    r"|([A-Z][A-Za-z0-9&-]*) (?:will|does|may|can|shall|never) [a-z])"
)
"""Where a sentence may start after a heading its line break was lost from ("Sharing of personal information We
do not share ...", "How we disclose Personal Data AzireVPN will never share ..."): see ``_run_in_heading``. A
sentence whose subject is a capitalised word starts there only when the word is a name (``is_name``), not an English
word ("Virtual Goods may")."""
_NOT_HEADING = (
    frozenset(
        ["we", "you", "our", "your", "us", "i", "it", "they", "he", "she", "that", "which", "who", "whom", "whose"]
    )
    | frozenset(["is", "are", "was", "were", "be", "been", "will", "may", "can", "shall", "must", "would", "should"])
    | frozenset(["could", "do", "does", "did", "has", "have", "had"])
)
"""Words no heading holds in lower case: a subject or a verb makes the words before a candidate a sentence."""
_LINE_ITEM = re.compile(
    r"(?:[\u2022\u25aa\u25cf\u25e6*\-\u2013|]|\d{1,2}(?:\.\d{1,2})*[.)]|\([a-zA-Z0-9]{1,3}\)|[A-Za-z][A-Za-z "
    r"/()'&-]{1,40}:)\s"
)
_HEADING = re.compile(r"(?:\d{1,2}(?:\.\d{1,2})*\.?\s+)?[A-Z][A-Z0-9 &/,'()-]{2,60}")
_TERMINATED = re.compile(r"[.!?:;][\"'\u201d\u2019)\]]*$")


def _address_naming(words: str) -> re.Pattern[str]:
    """A web page's address on a line of its own whose path names one of ``words``."""
    return re.compile(rf"^[ \t]*https?://[^\s/]+/\S*?(?:{words})\S*[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


_PRIVACY_TITLE = r"\b(?:privacy|cookies?|data protection|data privacy) (?:policy|notice|statement)\b"
_PRIVACY_PAGES = r"privacy|cookies?|data[-_]?protection|gdpr"
"""A privacy, cookie or data protection notice's name, and the words of its address."""
_NOTICE_TITLE = re.compile(
    _PRIVACY_TITLE + r"|\bterms (?:of (?:service|"
    r"use|sale)|and conditions|& conditions)\b|\b(?:user|subscriber|customer|member(?:ship)?) agreement\b|"
    r"\bend[- ]user licen[cs]e agreement\b|\bcommunity (?:guidelines|standards|rules)\b|\b(?:acceptable|fair|"
    r"prohibited) use policy\b|\busage policy\b|\bterms of services\b|\bnotice of privacy practices\b",
    re.IGNORECASE,
)
_NOTICE_ADDRESS = _address_naming(_PRIVACY_PAGES + r"|terms|legal|conditions|eula")
"""A saved web page's address, on a line of its own as a browser prints it in a page's header or footer, naming a
privacy, terms or legal page ("https://example.com/about/privacy-statement/"): a notice's title, however far its
menus push the title of the page itself. An address inside a sentence ("see our policy at https://...") is none."""
_READER = re.compile(r"\byou(?:rs?|rself|rselves)?\b", re.IGNORECASE)
_USERS = re.compile(r"\b(?:users?|visitors?|data subjects?)\b", re.IGNORECASE)
NOTICE_READER_WORDS = 3
"""A notice to its reader names itself (a privacy policy, terms of service) and speaks to "you" on its first page."""
NOTICE_HEAD_CHARS = 400
"""A notice whose title opens the page may speak of its reader as "the User" or "visitors" instead."""
_PREAMBLE_FIELD = re.compile(
    r"^[ \t]*(?:[-*|][ \t]*)?(title|status|author|created|discussions-to|type|category)s?[ \t]*(?::|\|)[ \t]*\S",
    re.IGNORECASE | re.MULTILINE,
)
_PROPOSAL_HEADING = re.compile(
    r"^[ \t]*(?:#{1,4}|={1,4})?[ \t]*(?:\d{1,2}\.?[ \t]+)?(?:abstract|simple summary|summary|motivation|"
    r"specification|rationale|backwards? compatibility|security considerations)[ \t]*(?:={1,4})?[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
PROPOSAL_HEAD_CHARS = 1500
"""A technical proposal's fielded preamble opens its first page."""
PROPOSAL_SEVERITY = 2
"""A finding in a technical proposal is a design discussed, noted at most at this severity."""
_PAGE_NUMBER = re.compile(r"(?:page\s*)?[-\u2013]?\s*\d{1,4}\s*[-\u2013]?(?:\s*(?:of|/)\s*\d{1,4})?", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(
    r"[;:]|\.\s|,\s+(?:but|however|whereas|although)\b|\b(?:but|however|whereas|although|except|unless)\b", re.I
)


# --- text layout -----------------------------------------------------------------------------------------------


def _normalise(raw: str) -> tuple[str, list[int]]:
    """Whitespace-collapsed text and the offsets (in it) where a line break ends a sentence.

    Works line by line (a page has tens of lines and hundreds of words), so it stays cheap.
    """
    out: list[str] = []
    breaks: list[int] = []
    length = 0
    blank = False
    prev = ""
    for line in raw.split("\n"):
        words = line.split()
        if not words:
            blank = True
            continue
        text = " ".join(words)
        if out:
            if blank or _LINE_ITEM.match(text) or _HEADING.fullmatch(prev) or _TERMINATED.search(prev):
                breaks.append(length + 1)
            out.append(" ")
            length += 1
        out.append(text)
        length += len(text)
        prev = text
        blank = False
    return "".join(out), breaks


def _split(norm: str, breaks: list[int], notice: bool = False) -> list[tuple[int, int]]:
    """Sentence spans of ``norm``; in a notice, a heading run into the sentence after it is a span of its own."""
    cuts = {0, len(norm)}
    cuts.update(b for b in breaks if 0 < b < len(norm))
    cuts.update(m.end() for m in _SENT_END.finditer(norm) if not _abbreviated(norm, m.start()))
    cuts.update(m.start() for m in _GLUED_END.finditer(norm) if not _abbreviated(norm, m.start()))
    if notice:
        for m in _RUN_IN.finditer(norm):
            if m.group(1) is not None and not is_name(m.group(1)):
                continue
            words = norm[max(c for c in cuts if c <= m.start()) : m.start()]
            if _run_in_heading(words) or _question_headings(words):
                cuts.add(m.end())
    ordered = sorted(cuts)
    spans: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(ordered):
        while a < b and norm[a] == " ":
            a += 1
        end = b
        while end > a and norm[end - 1] == " ":
            end -= 1
        if end > a:
            spans.append((a, end))
    return spans


def _abbreviated(norm: str, at: int) -> bool:
    """Whether the full stop just before ``at`` ends an abbreviation or an initial, not a sentence ("Passport No.
    E1234567K", "Mr. Tan", "J. Smith", "Payment ref.INV-2024")."""
    word = norm[max(0, at - 12) : at].rsplit(" ", 1)[-1]
    return word.endswith(".") and (word[:-1].lower() in _ABBREVIATIONS or (len(word) == 2 and word[0].isupper()))


def _run_in_heading(words: str) -> bool:
    """Whether the words before a sentence's capitalised first word read as a heading: two to ten words, opening
    with a capital, with no punctuation and no subject or verb in lower case ("Sharing of personal information",
    "How We Share Your Information"; not "If You DO NOT notify Us that"). A question's heading, or one naming data
    and what is done with it, may name the firm or the reader as its subject, but holds no auxiliary ("How we share
    personal information", "The information we sell"; not "How we will use it")."""
    tokens = words.split()
    named = any(
        t.lower() in _DATA_NOUNS and n + 1 < len(tokens) and tokens[n + 1] in ("we", "you")
        for n, t in enumerate(tokens)
    )
    subjects = _HEADING_SUBJECTS if tokens and (tokens[0] in _QUESTION_HEADS or named) else frozenset()
    return (
        2 <= len(tokens) <= 10
        and words[:1].isupper()
        and not any(c in words for c in ',;:.!?"')
        and not any(t in _NOT_HEADING and t not in subjects for t in tokens)
        and tokens[0].lower() not in ("we", "you", "if", "when")
    )


_QUESTION_HEADS = frozenset(["How", "What", "Why", "Which", "Who", "Whom", "Where", "Whether", "With", "To"])
_HEADING_SUBJECTS = frozenset(["we", "you", "us", "our", "your"])
_DATA_NOUNS = frozenset(["information", "data", "details", "cookies", "content"])
_QUESTION_START = re.compile(r"(?:^|(?<=[a-z)]) )(?:How|What|Why|Who|Whom|Which|Where|When)\b")
_AUXILIARIES = (
    _NOT_HEADING - _HEADING_SUBJECTS - {"i", "it", "they", "he", "she", "that", "which", "who", "whom", "whose"}
)


def _question_headings(text: str) -> bool:
    """Whether ``text`` is a run of question headings whose line breaks were lost, as a notice's table of contents
    in sentence case has them ("Information we collect How we use it Who we share your data with How long we keep
    it"): two or more questions opening after a lower-case word, no full stop, and no auxiliary after the last one
    (the words after it are a heading, not a sentence)."""
    if any(c in text for c in ".;!?"):
        return False  # most units: a sentence, not a run of headings
    starts = [m.start() for m in _QUESTION_START.finditer(text)]
    if len(starts) < 2:
        return False
    return not any(w in _AUXILIARIES for w in text[starts[-1] :].split())


# --- garbled text ----------------------------------------------------------------------------------------------

_CJK = ("CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "IDEOGRAPHIC", "HALFWIDTH", "FULLWIDTH", "HANGUL")
_VOWELLESS = re.compile(r"\b[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{4,}\b")
_ALPHA_TOKEN = re.compile(r"\b[A-Za-z]{4,}\b")


@functools.lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    head = name.split(" ", 1)[0]
    return "CJK" if head in _CJK else head


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def garbled_reason(text: str) -> str | None:
    """Why ``text`` looks like mis-decoded glyphs, or ``None``; only non-ASCII characters are looked at one by one."""
    n = sum(map(len, text.split()))  # characters that are not whitespace
    if n <= 0:
        return None
    bad = len(_CONTROL.findall(text))
    if bad >= 3 and bad / n > 0.02:
        return "control, replacement or private-use characters instead of letters"
    if text.isascii():
        vowelless = len(_VOWELLESS.findall(text))
        if not vowelless:  # the usual case: no need to count the words
            return None
        tokens = len(_ALPHA_TOKEN.findall(text))
        if tokens >= 15 and vowelless / tokens > 0.4:
            return "words without vowels (shifted font encoding)"
        return None
    stray = 0
    scripts: Counter[str] = Counter()
    for m in _NON_ASCII.finditer(text):
        c = m.group()
        cat = unicodedata.category(c)
        if cat == "Mn":
            at = m.start()
            if at == 0 or not text[at - 1].isalpha():
                stray += 1
        elif cat.startswith("L"):
            scripts[_script(c)] += 1
    if stray >= 3 and stray / n > 0.05:
        return "accent marks that belong to no letter"
    letters = sum(scripts.values())
    mixed = [s for s, k in scripts.items() if k >= 3 and k / max(letters, 1) >= 0.05 and s != "LATIN"]
    if len(mixed) >= 3:
        return "letters from unrelated scripts mixed together"
    return None


# --- findings --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Part:
    page: int
    start: int
    end: int


@dataclass(slots=True)
class _Unit:
    """A sentence to analyse; ``parts`` map it onto pages (two parts when a page break cuts it)."""

    text: str
    parts: list[_Part]
    offsets: list[int]
    """Start of each part within ``text``."""
    injection: bool = False
    concepts: SentenceConcepts | None = None
    technical: bool = False
    """Software prose or code (a changelog, a README's example): no deal is described, no rule applies."""
    forbidden: bool = False
    """An item of a list of what is not allowed ("We do not allow content that: - violates the privacy of..."):
    a policy describing the risk, not a deal doing it."""
    data_transfer: bool = False
    """Personal data sent abroad: a high-risk country named here is a data destination, judged as cross_border."""
    hits: list[ConceptHit] = field(default_factory=list)
    """Concept rules that fired here, recorded after the pattern rules (which name the risk more precisely)."""
    recorded: dict[str, str] = field(default_factory=dict)
    """Category -> id of the finding a pattern rule recorded on this sentence."""

    def read(self) -> SentenceConcepts:
        if self.concepts is None:
            self.concepts = read_sentence(self.text)
        return self.concepts


def is_notice(text: str) -> bool:
    """A privacy policy, terms of service or the like, speaking to its reader: it names itself so on this page (its
    first with text), or carries its address (``_NOTICE_ADDRESS``), and says "you" at least ``NOTICE_READER_WORDS``
    times, or, when the title or address opens the page (``NOTICE_HEAD_CHARS``), says "you", "users", "visitors" or
    "data subjects" that often. A contract that only refers to a privacy policy further down, and speaks of its
    parties, is none. (A document whose first page names a notice without speaking to its reader is decided on its
    next page: ``DocumentAnalysis.notice_pending``.)"""
    return _notice_reading(text)[0]


def _notice_reading(text: str) -> tuple[bool, bool | None]:
    """Whether ``text`` is a notice (``is_notice``), and, when it names one without speaking to its reader, whether
    the title opened it, for the next page's decision (``None``: nothing is pending)."""
    titles = [m.start() for m in (_NOTICE_TITLE.search(text), _NOTICE_ADDRESS.search(text)) if m is not None]
    if not titles:
        return False, None
    headed = min(titles) < NOTICE_HEAD_CHARS
    notice = _speaks_to_reader(text, headed)
    return notice, None if notice else headed


def _speaks_to_reader(text: str, headed: bool) -> bool:
    """``text`` says "you" at least ``NOTICE_READER_WORDS`` times, counting "users", "visitors" and "data subjects"
    too when a notice's title opens its document (``headed``)."""
    readers = len(_READER.findall(text))
    if headed:
        readers += len(_USERS.findall(text))
    return readers >= NOTICE_READER_WORDS


def is_proposal(text: str) -> bool:
    """A technical proposal or specification (an improvement proposal, a request for comments): its first page
    opens with a fielded preamble naming at least its title and status, and its author or creation date, and holds
    a proposal's heading of its own line (abstract, motivation, specification, rationale...). A memo or contract with
    a document-control block has no such headings; a paper with an abstract has no such preamble."""
    fields = {m.group(1).lower() for m in _PREAMBLE_FIELD.finditer(text[:PROPOSAL_HEAD_CHARS])}
    return (
        {"title", "status"} <= fields and bool(fields & {"author", "created"}) and bool(_PROPOSAL_HEADING.search(text))
    )


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()[:10]


def _window(text: str, start: int, end: int) -> tuple[int, int]:
    """A span of ``text`` around ``[start, end)`` at most MAX_QUOTE_CHARS long, cut at spaces."""
    if len(text) <= MAX_QUOTE_CHARS:
        return 0, len(text)
    room = max(MAX_QUOTE_CHARS - (end - start), 40)
    a = max(0, start - room // 2)
    b = min(len(text), end + room // 2)
    if a > 0:
        sp = text.find(" ", a, start)
        a = sp + 1 if sp >= 0 else a
    if b < len(text):
        sp = text.rfind(" ", end, b)
        b = sp if sp >= 0 else b
    return a, b


def overall_risk(findings: Iterable[Finding], unreadable_fraction: float = 0.0) -> float:
    """Combine severities as independent risks; low severities are capped; unreadable text sets a floor."""
    low = high = 1.0
    for f in findings:
        w = SEVERITY_WEIGHT.get(f.severity, 0.0)
        if f.severity <= 2:
            low *= 1.0 - w
        else:
            high *= 1.0 - w
    risk = 1.0 - (1.0 - min(1.0 - low, LOW_SEVERITY_CAP)) * high
    if unreadable_fraction > 0:
        risk = max(risk, 0.2 + 0.25 * min(unreadable_fraction, 1.0))
    return round(min(risk, 1.0), 3)


_AMOUNT = re.compile(
    r"(?:(?P<cur>US\$|USD|EUR|€|SGD|S\$|AUD|A\$|CAD|C\$|HKD|HK\$|\$)\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{4,7}"
    r"(?:\.\d{1,2})?)(?![\d,])|(?P<num2>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{4,7}(?:\.\d{1,2})?)\s?(?P<cur2>USD|EUR|SGD|"
    r"AUD|CAD|HKD|dollars|euros))"
)
_BARE_AMOUNT = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?(?![\d,]|\.\d)")
_CURRENCY = {"US$": "USD", "$": "USD", "€": "EUR", "S$": "SGD", "A$": "AUD", "C$": "CAD", "HK$": "HKD",
             "dollars": "USD", "euros": "EUR"}  # fmt: skip
_TXN = re.compile(
    r"\b(?:deposit\w*|withdr[ae]w\w*|cash|remit\w*|cheques?|checks|money orders?|top-?ups?|lodg\w+|tranches?|"
    r"bank ?drafts?)\b",
    re.I,
)
"""Structuring is about cash, cash-like instruments and split payments; one invoice paid by transfer does not count."""
_MULTIPLE = re.compile(
    r"\b(?:each|every|per (?:day|week)|daily|separate|consecutive|several|multiple|successive|a series of|"
    r"instal+ments of|tranches of)\b",
    re.I,
)
_STRUCT_EXCLUDE = re.compile(
    r"\b(?:between|monitor\w*|structuring|threshold|limit|up to|not exceed\w*|currency transaction report|CTR)\b", re.I
)


# --- which triggers may fire on which sentence -----------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _anchor_scan(anchors: frozenset[str]) -> re.Pattern[str]:
    """A regex that finds, at every position of a text, the longest of ``anchors`` that starts there."""
    return re.compile(f"(?=({_trie(anchors)}))" if anchors else "(?!)")


def _trie(words: Iterable[str]) -> str:
    """An alternation of ``words`` shaped as a trie (the engine tries a few branches per position), longest first."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def branch(node: dict[str, Any]) -> str:
        alternatives = [re.escape(ch) + branch(child) for ch, child in sorted(node.items()) if ch]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if "" in node else body

    return branch(root)


def _bits(mask: int) -> Iterator[int]:
    """The positions of the bits set in ``mask``, ascending."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


@dataclass(frozen=True, slots=True)
class _TriggerIndex:
    """The triggers of a rule list, numbered in order, and the sentences of a page each may fire on.

    A trigger can only fire on a sentence that holds a string of each of its anchor sets
    (:func:`~.rules_table.trigger_gate`). All those strings are looked for on the folded page (``fold_case``,
    which has them exactly where the case-insensitive triggers can match, at the same offsets) by one regex,
    tried at every position; the sentences each set lands in are kept as bit masks, and a trigger is tried only on
    the sentences in all of its sets' masks.
    """

    triggers: tuple[re.Pattern[str], ...]
    numbers: tuple[range, ...]
    """Per rule (by position in the rule list): the numbers of its triggers."""
    rule_of: tuple[int, ...]
    """Per trigger number: the position of its rule."""
    position: dict[str, int]
    """The position of each rule by id (of the first, should two share one)."""
    gates: tuple[tuple[int, ...], ...]
    """Per trigger number: the numbers of its anchor sets, best first; empty if it may fire on any sentence."""
    sets_with: dict[str, tuple[int, ...]]
    """For each string that ``scan`` finds: the numbers of the anchor sets holding it or one of its prefixes."""
    scan: re.Pattern[str]
    """Finds, at every position of a folded text, the longest anchor that starts there."""

    @classmethod
    def build(cls, rules: Sequence[Rule]) -> _TriggerIndex:
        triggers: list[re.Pattern[str]] = []
        numbers: list[range] = []
        gates: list[tuple[int, ...]] = []
        set_number: dict[frozenset[str], int] = {}
        for rule in rules:
            numbers.append(range(len(triggers), len(triggers) + len(rule.triggers)))
            for trigger in rule.triggers:
                triggers.append(trigger)
                gates.append(tuple(set_number.setdefault(s, len(set_number)) for s in trigger_gate(rule, trigger)))
        holding: dict[str, list[int]] = {}
        for anchors, number in set_number.items():
            for anchor in anchors:
                holding.setdefault(anchor, []).append(number)
        sets_with = {
            word: tuple(sorted({n for k in range(1, len(word) + 1) for n in holding.get(word[:k], ())}))
            for word in holding
        }
        return cls(
            triggers=tuple(triggers),
            numbers=tuple(numbers),
            rule_of=tuple(position for position, rng in enumerate(numbers) for _ in rng),
            position={rule.id: position for position, rule in reversed(list(enumerate(rules)))},
            gates=tuple(gates),
            sets_with=sets_with,
            scan=_anchor_scan(frozenset(holding)),
        )

    def candidates(self, folded: str, spans: list[tuple[int, int]]) -> dict[int, int]:
        """For each trigger that may fire, the mask of the sentences it may fire on (bit ``i``: ``spans[i]``).

        ``folded`` is the folded text (``fold_case``) and ``spans`` the ``(start, end)`` offsets of its sentences.
        """
        found: dict[str, int] = {}
        for i, (start, end) in enumerate(spans):
            for anchor in set(self.scan.findall(folded, start, end)):
                found[anchor] = found.get(anchor, 0) | 1 << i
        in_set: dict[int, int] = {}
        for anchor, sentences in found.items():
            for number in self.sets_with[anchor]:
                in_set[number] = in_set.get(number, 0) | sentences
        everywhere = (1 << len(spans)) - 1
        out: dict[int, int] = {}
        for trigger, gate in enumerate(self.gates):
            mask = everywhere
            for number in gate:
                mask &= in_set.get(number, 0)
                if not mask:
                    break
            if mask:
                out[trigger] = mask
        return out


class _TriggerPlan:
    """Which sentences to try each rule on, and with which of its triggers, while one page is analysed.

    The page's sentences come from one anchor scan of the folded page (``_TriggerIndex.candidates``). A sentence
    not (only) on the page (joined across a page break, or a tail flushed at the end) is scanned on its own.
    """

    def __init__(self, index: _TriggerIndex, on_page: list[_Unit], folded: str) -> None:
        self.index = index
        self.on_page = on_page
        self.scanned: dict[int, list[tuple[re.Pattern[str], int]]] = {}
        """Rule position -> its triggers that may fire on the page, each with the mask of those sentences."""
        spans = [(u.parts[0].start, u.parts[0].end) for u in on_page]
        for n, sentences in index.candidates(folded, spans).items():
            self.scanned.setdefault(index.rule_of[n], []).append((index.triggers[n], sentences))
        self._off_page: dict[int, dict[int, int]] = {}

    def sentences(self, position: int, other: list[_Unit]) -> list[tuple[_Unit, list[re.Pattern[str]]]]:
        """The sentences to try the rule at ``position`` on, in order, each with the triggers to try.

        ``other`` are the sentences not (only) on the page.
        """
        todo = [(u, self._off_page_triggers(u, position)) for u in other]
        triggers = self.scanned.get(position, [])
        for i in _bits(functools.reduce(operator.or_, (sentences for _, sentences in triggers), 0)):
            if not self.on_page[i].injection:
                todo.append((self.on_page[i], [t for t, sentences in triggers if sentences >> i & 1]))
        return [(u, triggers) for u, triggers in todo if triggers]

    def _off_page_triggers(self, unit: _Unit, position: int) -> list[re.Pattern[str]]:
        if id(unit) not in self._off_page:
            self._off_page[id(unit)] = self.index.candidates(fold_case(unit.text), [(0, len(unit.text))])
        found = self._off_page[id(unit)]
        return [self.index.triggers[n] for n in self.index.numbers[position] if n in found]


# --- one document ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class DocumentAnalysis:
    """The state of one document's analysis: ``feed`` each page in order, then ``finish``, then ``result``.

    ``feed`` and ``finish`` return the findings that became new (the caller emits them). Not thread-safe: one
    call at a time, which ``RulesAnalyzer.analyze`` guarantees by awaiting each page before the next.
    """

    rules: list[Rule]
    data: RuleData
    page_count: int
    findings: dict[str, Finding] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    deferred: dict[str, Finding] = field(default_factory=dict)
    safeguarded: set[str] = field(default_factory=set)
    masked_ids: dict[str, int] = field(default_factory=dict)
    tail: _Unit | None = None
    pages_seen: int = 0
    pages_empty: list[int] = field(default_factory=list)
    pages_error: list[int] = field(default_factory=list)
    pages_garbled: dict[int, str] = field(default_factory=dict)
    near_threshold: list[tuple[_Unit, int, int]] = field(default_factory=list)
    near_threshold_strong: bool = False
    injection: bool = False
    list_lead: str = ""
    """The last page ended inside a list led in by a prohibition (``"forbidding"``) or by what the firm does
    (``"firm"``); see ``_mark_forbidden_lists``."""
    health_notice: bool = False
    """The document names itself a health provider's or plan's notice of privacy practices (``_HEALTH_NOTICE``) on
    the pages that decide ``notice``; read so only when it is a notice."""
    privacy_notice: bool = False
    """The document names itself a privacy, cookie or data protection notice (``_PRIVACY_NOTICE``) on the pages that
    decide ``notice``; read so only when it is a notice."""
    notice: bool | None = None
    """The document is a notice to its reader (see ``is_notice``), decided on its first page with text: there its
    standard-form clauses are noted at severity 2, not raised. A first page that names a notice but does not yet speak
    to its reader (a saved web page's menus filled it) leaves the decision to the next page with text
    (``notice_pending``), from which on it holds."""
    notice_pending: bool | None = None
    """The first page named a notice, by its title or address, and did not speak to its reader: whether the title
    opened the page (``None``: no decision is pending)."""
    notice_model: NoticeModel | None = None
    """In a notice, the second opinion that notes a flag read as an ordinary clause (``RulesAnalyzer`` passes the
    shipped one; ``None`` raises every flag as the rules do)."""
    proposal: bool | None = None
    """The document is a technical proposal (see ``is_proposal``), decided on its first page with text: there every
    finding but an instruction to the reviewer is noted at ``PROPOSAL_SEVERITY``."""
    transfers_pending: list[tuple[Finding, tuple[str, ...]]] = field(default_factory=list)
    transfers_safe: set[str] = field(default_factory=set)
    """Destinations (ISO codes) for which some sentence of the document states a safeguard."""
    sanctioned: re.Pattern[str] | None = None
    designated: DesignatedNames | None = None
    index: _TriggerIndex | None = None
    """Which triggers may fire on which sentence; built from ``rules`` when not given (``RulesAnalyzer`` shares one)."""

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = _TriggerIndex.build(self.rules)
        if self.sanctioned is None:
            self.sanctioned = sanctioned_pattern(self.data)
        if self.designated is None:
            self.designated = DesignatedNames(self.data)

    # ---- entry points

    def feed(self, page: ExtractedPage) -> list[Finding]:
        new: list[Finding] = []
        self.pages_seen += 1
        if page.error:
            self.pages_error.append(page.number)
        if not page.text.strip():
            if not page.error:
                self.pages_empty.append(page.number)
            return new
        reason = garbled_reason(page.text)
        norm, breaks = _normalise(page.text)
        if reason is not None:
            self.pages_garbled[page.number] = reason
            self._garbled_finding(page.number, norm, reason, new)
            self._flush_tail(new)
            return new
        if self.notice is None:
            self.notice, self.notice_pending = _notice_reading(page.text)
            self._read_names(page.text)
            self.proposal = is_proposal(page.text)
        elif self.notice_pending is not None:
            # A saved web page whose menus filled its first page: the next page speaks to the reader, or no page does.
            self.notice = _speaks_to_reader(page.text, self.notice_pending)
            self._read_names(page.text)
            self.notice_pending = None
        spans = _split(norm, breaks, bool(self.notice))
        units = [_Unit(norm[a:b], [_Part(page.number, a, b)], [0]) for a, b in spans]
        # Drop trailing page numbers so that a clause cut by the page break can join the next page.
        while units and _PAGE_NUMBER.fullmatch(units[-1].text):
            units.pop()
        if self.tail is not None and units:
            head = units.pop(0)
            tail = self.tail
            units.insert(0, _Unit(tail.text + " " + head.text, tail.parts + head.parts, [0, len(tail.text) + 1]))
        elif self.tail is not None:
            units.insert(0, self.tail)
        self.tail = None
        if units and not _TERMINATED.search(units[-1].text) and len(units[-1].parts) == 1:
            self.tail = units.pop()
        self._analyse(units, norm, page.number, new)
        read = {(u.parts[0].start, u.parts[0].end): u.technical for u in units if len(u.parts) == 1}
        self._page_identifiers(page.number, norm, spans, new, read)
        return new

    def finish(self) -> list[Finding]:
        new: list[Finding] = []
        self._flush_tail(new)
        for rule_id_key, finding in self.deferred.items():
            if finding.rule_id in self.safeguarded or rule_id_key in self.findings:
                continue
            self.findings[rule_id_key] = finding
            self.order.append(rule_id_key)
            new.append(finding)
        self.deferred.clear()
        for finding, countries in self.transfers_pending:
            if "*" in self.transfers_safe or set(countries) <= self.transfers_safe:
                continue  # another sentence names a safeguard for this destination
            if finding.id in self.findings:
                self._merge(self.findings[finding.id], finding)
                continue
            self.findings[finding.id] = finding
            self.order.append(finding.id)
            new.append(finding)
        self.transfers_pending.clear()
        return new

    def result(self) -> AnalysisResult:
        findings = [self.findings[k] for k in self.order]
        unreadable = len(set(self.pages_garbled) | set(self.pages_empty) | set(self.pages_error))
        fraction = unreadable / max(self.pages_seen, 1)
        risk = overall_risk(findings, fraction)
        notes: list[str] = []
        if self.pages_garbled:
            pages = ", ".join(str(p) for p in sorted(self.pages_garbled))
            notes.append(
                f"The text of page(s) {pages} looks garbled (the PDF's fonts do not map to real characters), so "
                "it could not be analysed; the risk may be understated. Review those pages by eye or after OCR."
            )
        if self.injection:
            notes.append(
                "The document contains text addressed to an automated reviewer; it was reported and ignored, and "
                "did not change the rest of the analysis."
            )
        return AnalysisResult(
            findings=findings,
            overall_risk=risk,
            summary=self._summary(findings, risk),
            notes=notes,
            extra={
                "pages_garbled": sorted(self.pages_garbled),
                "pages_empty": sorted(self.pages_empty),
                "pages_error": sorted(self.pages_error),
                "injection_detected": self.injection,
                "masked_evidence": sorted(f.id for f in findings if f.rule_id in _MASKED_RULES),
                "data_as_of": {name: meta["as_of"] for name, meta in self.data.meta.items()},
            },
        )

    # ---- per page

    def _flush_tail(self, new: list[Finding]) -> None:
        if self.tail is not None:
            tail, self.tail = self.tail, None
            page = tail.parts[-1].page
            self._analyse([tail], None, page, new)

    def _analyse(self, units: list[_Unit], norm: str | None, page: int, new: list[Finding]) -> None:
        if not units:
            return
        folded = fold_case(norm) if norm is not None else ""

        def on_page(u: _Unit) -> bool:
            return norm is not None and len(u.parts) == 1 and u.parts[0].page == page

        assert self.index is not None  # set by __post_init__
        plan = _TriggerPlan(self.index, [u for u in units if on_page(u)], folded)
        _mark_technical(units)
        self.list_lead = _mark_forbidden_lists(units, self.list_lead, bool(self.notice))
        injection = self.index.position["DI-INJECTION"]
        self._injection(plan.sentences(injection, [u for u in units if not on_page(u)]), new)
        for unit in units:
            if not unit.injection:
                self._concepts(unit, new)
        live = [u for u in units if not u.injection]
        other = [u for u in live if not on_page(u)]
        for position, rule in enumerate(self.rules):
            if rule.id == "DI-INJECTION":
                continue
            if (
                rule.safeguards
                and rule.id not in self.safeguarded
                and (norm is None or _mentions(rule.safeguards, folded))
            ):
                self._look_for_safeguard(rule, live)
            for unit, triggers in plan.sentences(position, other):
                self._apply(rule, unit, triggers, new)
        for unit in live:
            self._concept_findings(unit, new)
        # A sentence of the page can only mention a transaction if the page holds an anchor of _TXN.
        self._amounts(live if _mentions([_TXN], folded) else other, new)

    def _apply(self, rule: Rule, unit: _Unit, triggers: list[re.Pattern[str]], new: list[Finding]) -> None:
        if unit.technical or (unit.forbidden and rule.policy_exempt):
            return
        if rule.category == "sanctions" and rule.policy_exempt and EXPORT_CLAUSE.search(unit.text):
            return  # a clause keeping goods out of a country is no dealing with it
        if unit.data_transfer and (rule.id == "DP-SPECIAL" or (rule.id.startswith("SAN-JUR-") and rule.severity < 5)):
            return  # the transfer's finding names this risk (special-category data raises its severity)
        if self.notice and rule.id == "DP-SPECIAL" and not _handled(unit.read()):
            return  # a notice naming health data in a law's title, a list or a right: no one is said to handle it
        if rule.category == "aml" and any(hit.rule.category == "bribery_corruption" for hit in unit.hits):
            return  # cash or a disguised payment to an agent or official: the bribe is the risk, the cash its sign
        for trigger in triggers:
            for m in trigger.finditer(unit.text):
                if not self._fires(rule, unit.text, m) or _in_menu(unit.text, m.start(), m.end()):
                    continue
                key = rule.key(m) if rule.key else " ".join(m.group().lower().split())
                severity = rule.severity
                if self.notice and rule.standard_form and notice_clause(unit.read(), rule.category):
                    severity = min(severity, STANDARD_FORM_SEVERITY)
                self._record(rule, key, unit, m.start(), m.end(), new, severity=severity)
                return  # one hit per rule and sentence

    def _fires(self, rule: Rule, text: str, m: re.Match[str]) -> bool:
        if any(p.search(text) for p in rule.excludes):
            return False
        if any(not p.search(text) for p in rule.requires):
            return False
        if rule.requires_any and not any(p.search(text) for p in rule.requires_any):
            return False
        if rule.negatable and _negated(text, m.start(), m.end()):
            return False
        if not rule.negatable and _WITHOUT.match(text, m.start()) and _negated(text, m.start(), m.start()):
            return False  # "never to provide data without their permission": two negations, a control
        if rule.policy_exempt and POLICY_CONTEXT.search(text):
            return False
        return rule.check is None or rule.check(text, m)

    def _look_for_safeguard(self, rule: Rule, units: list[_Unit]) -> None:
        if rule.id in self.safeguarded:
            return
        for unit in units:
            for p in rule.safeguards:
                for m in p.finditer(unit.text):
                    if not _negated(unit.text, m.start(), m.end()) and not _SAFEGUARD_DENIED.match(
                        unit.text[m.end() :]
                    ):
                        self.safeguarded.add(rule.id)
                        return

    def _injection(self, suspects: list[tuple[_Unit, list[re.Pattern[str]]]], new: list[Finding]) -> None:
        rule = self._rule("DI-INJECTION")
        for unit, triggers in suspects:
            if unit.technical:
                continue  # a prompt shown in a README's code sample is documentation, not an instruction
            for trigger in triggers:
                m = trigger.search(unit.text)
                if m and trigger in PROMPT_MARKERS and _quoted(unit.text, m.start()):
                    continue  # 'attacks such as "ignore previous instructions"': an example, not an instruction
                if m:
                    unit.injection = True
                    self.injection = True
                    self._record(rule, "injection", unit, m.start(), m.end(), new)
                    break

    def _concepts(self, unit: _Unit, new: list[Finding]) -> None:
        """Concept rules on one sentence; an instruction to an automated reviewer takes the sentence out."""
        if unit.technical:
            return
        sc = unit.read()
        assert self.sanctioned is not None and self.designated is not None  # set by __post_init__
        hits = match_rules(
            sc,
            sanctioned=self.sanctioned.search(unit.text) is not None,
            designated=self.designated.found(unit.text),
            notice=bool(self.notice),
        )
        if any(h.rule.category == "document_integrity" for h in hits):
            hit = next(h for h in hits if h.rule.category == "document_integrity")
            unit.injection = True
            self.injection = True
            self._record(self._rule("DI-INJECTION"), "injection", unit, hit.start, hit.end, new)
            return
        if (
            sc.present("SAFEGUARD") is not None
            and sc.lacking("SAFEGUARD") is None
            and not _SAFEGUARD_DENIED.search(unit.text)
        ):
            # A safeguard covers the destinations its sentence names, or every transfer when it says so.
            self.transfers_safe.update(cc for cc, _, _ in sc.countries)
            if not sc.countries and sc.has("ALL_TRANSFERS") and not sc.has("REQUIREMENT"):
                self.transfers_safe.add("*")
        unit.hits = hits
        unit.data_transfer = any(hit.rule.category == "cross_border" for hit in hits)

    def _concept_findings(self, unit: _Unit, new: list[Finding]) -> None:
        """A concept hit adds a finding where no pattern rule of its category fired on the sentence; where one did,
        it only raises that finding's severity (aggravating factors)."""
        for hit in unit.hits:
            if hit.rule.category == "sanctions" and EXPORT_CLAUSE.search(unit.text):
                continue  # a clause keeping goods out of a country is no dealing with it
            if _in_menu(unit.text, hit.start, hit.end):
                continue
            fid = unit.recorded.get(hit.rule.category)
            quote = _quote(unit, hit.start, hit.end) if self.notice else ""
            severity = self._level(hit.rule.category, hit.severity, hit.rule.id, unit, quote)
            if (
                fid is None
                and unit.recorded
                and hit.rule.category != "cross_border"
                and severity
                <= max(
                    (self.findings.get(f) or self.deferred.get(f) or _NO_FINDING).severity
                    for f in unit.recorded.values()
                )
            ):
                continue  # a pattern rule already names this sentence's risk, at least as seriously
            if fid is not None:
                existing = self.findings.get(fid) or self.deferred.get(fid)
                if (
                    existing is not None
                    and existing.severity < severity
                    and not self._health_data(existing.rule_id or "", unit)
                ):
                    existing.severity = severity
                continue
            self._record_concept(hit, unit, new)
        unit.hits = []

    def _read_names(self, text: str) -> None:
        """What kind of notice a page that decides ``notice`` names: a health notice of privacy practices, a privacy
        notice (each read so only when the document is a notice)."""
        self.health_notice = self.health_notice or _HEALTH_NOTICE.search(text) is not None
        self.privacy_notice = self.privacy_notice or any(p.search(text) for p in _PRIVACY_NOTICE)

    def _health_data(self, rule_id: str, unit: _Unit) -> bool:
        """Whether ``rule_id`` names the health data a notice of privacy practices exists to describe, on a sentence
        that neither sells it nor passes it on for others' marketing: such a finding is noted, and another rule's hit
        on the sentence does not raise it."""
        return bool(self.notice) and self.health_notice and rule_id in _SPECIAL_RULES and not passes_on(unit.read())

    def _level(
        self, category: str, severity: int, rule_id: str = "", unit: _Unit | None = None, quote: str = ""
    ) -> int:
        """``severity`` as this document reads it: in a technical proposal, a design discussed is noted; in a health
        provider's notice of privacy practices, so is the health data it exists to describe, unless sold or passed on
        for others' marketing (``passes_on``); in a privacy notice, so is a finding of a category no privacy notice
        describes (``_NOT_PRIVACY_RISKS``); in a notice, so is a flag of ``rule_id`` on ``quote`` that the notice
        model reads as ordinary, unless the rules' own reading of its sentence (``notice_clause``) keeps it a risk:
        data sold or passed on for others' marketing, a consent, notice or safeguard said to be missing."""
        if self.proposal and category != "document_integrity":
            return min(severity, PROPOSAL_SEVERITY)
        if unit is not None and self._health_data(rule_id, unit):
            return min(severity, STANDARD_FORM_SEVERITY)
        if self.notice and self.privacy_notice and category in _NOT_PRIVACY_RISKS:
            return min(severity, STANDARD_FORM_SEVERITY)
        if (
            self.notice
            and severity > STANDARD_FORM_SEVERITY
            and unit is not None
            and self.notice_model is not None
            and rule_id in self.notice_model.rules
            and notice_clause(unit.read(), category)
            and self.notice_model.ordinary(rule_id, quote)
        ):
            return STANDARD_FORM_SEVERITY
        return severity

    def _record_concept(self, hit: ConceptHit, unit: _Unit, new: list[Finding]) -> None:
        rule = _concept_rule(hit.rule, hit.severity)
        quote = _quote(unit, hit.start, hit.end) if self.notice else ""
        severity = self._level(rule.category, hit.severity, rule.id, unit, quote)
        if not hit.deferred:
            before = self.findings.get(rule_key(rule, hit.key))
            self._record(rule, hit.key, unit, hit.start, hit.end, new)
            if before is not None and before.severity < severity:
                before.severity = severity
            return
        evidence = _evidence(unit, hit.start, hit.end, _sensitive_spans(unit.text))
        finding = rule.finding(rule_key(rule, hit.key), evidence, severity)
        for pending, _ in self.transfers_pending:
            if pending.id == finding.id:
                self._merge(pending, finding)
                return
        self.transfers_pending.append((finding, hit.countries))

    @staticmethod
    def _merge(into: Finding, other: Finding) -> None:
        into.severity = max(into.severity, other.severity)
        for ev in other.evidence:
            if ev not in into.evidence and len(into.evidence) < MAX_EVIDENCE:
                into.evidence.append(ev)

    def _page_identifiers(
        self,
        page: int,
        norm: str,
        spans: list[tuple[int, int]],
        new: list[Finding],
        technical: dict[tuple[int, int], bool],
    ) -> None:
        """Identifiers are found on the whole page (a label such as "Name:" may sit in the sentence before).

        ``technical``: whether each sentence already read is software prose (its identifiers are example data)."""
        matches = find_identifiers(norm)
        if not matches:
            return
        starts = [a for a, _ in spans]
        injection = self._rule("DI-INJECTION")
        for m in matches:
            i = bisect.bisect_right(starts, m.start) - 1
            if i < 0:
                continue
            a, b = spans[i]
            text = norm[a:b]
            tech = technical[a, b] if (a, b) in technical else read_sentence(text).has("TECHNICAL")
            if tech or any(t.search(text) for t in injection.triggers):
                continue  # an instruction to the reviewer, or example data in a code sample
            unit = _Unit(text, [_Part(page, a, b)], [0])
            sensitive = [(x.start - a, x.end - a) for x in matches if x.sensitive and a <= x.start and x.end <= b]
            rule = _TEST_CARD_RULE if m.kind == "card" and m.value in TEST_CARDS else _IDENTIFIER_RULE_OBJECTS[m.kind]
            self._record(rule, self._identifier_key(m), unit, m.start - a, m.end - a, new, sensitive)

    def _identifier_key(self, m: IdentifierMatch) -> str:
        if not m.sensitive:
            return m.kind + ":" + m.value
        # The id must not be a hash of a card or IBAN (those are brute-forceable): use the masked form and an
        # ordinal among the distinct values that share it.
        masked = mask(m.value)
        seen_key = "\x00" + m.kind + m.value
        if seen_key not in self.masked_ids:
            self.masked_ids[seen_key] = sum(1 for k in self.masked_ids if k.endswith(m.value[-4:])) + 1
        return f"{m.kind}:{masked}#{self.masked_ids[seen_key]}"

    def _amounts(self, units: list[_Unit], new: list[Finding]) -> None:
        near: list[tuple[_Unit, int, int]] = []
        for unit in units:
            if not _TXN.search(unit.text) or _STRUCT_EXCLUDE.search(unit.text):
                continue
            found = self._near_threshold(unit.text)
            if not found:
                continue
            if len(found) >= 2 or _MULTIPLE.search(unit.text):
                self.near_threshold_strong = True
            near.extend((unit, a, b) for a, b in found)
        if not near:
            return
        self.near_threshold.extend(near)
        if self.near_threshold_strong or len(self.near_threshold) >= 3:
            rule = _STRUCTURING
            items = self.near_threshold if rule_key(rule, "amounts") not in self.findings else near
            for unit, a, b in items:
                self._record(rule, "amounts", unit, a, b, new)

    def _near_threshold(self, text: str) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        currency: str | None = None
        taken: list[tuple[int, int]] = []
        for m in _AMOUNT.finditer(text):
            cur = m.group("cur") or m.group("cur2")
            num = m.group("num") or m.group("num2")
            currency = _CURRENCY.get(cur, cur.upper())
            taken.append(m.span())
            if self._is_near(currency, num):
                out.append(m.span())
        if currency is not None:
            for m in _BARE_AMOUNT.finditer(text):
                if any(a <= m.start() < b for a, b in taken):
                    continue
                if self._is_near(currency, m.group()):
                    out.append(m.span())
        return sorted(out)

    def _is_near(self, currency: str, num: str) -> bool:
        try:
            value = float(num.replace(",", ""))
        except ValueError:
            return False
        frac = self.data.near_fraction
        return any(
            t["currency"] == currency and frac * float(t["amount"]) <= value < float(t["amount"])
            for t in self.data.thresholds
        )

    # ---- pages without usable text

    def _garbled_finding(self, page: int, norm: str, reason: str, new: list[Finding]) -> None:
        quote = norm[:80].rsplit(" ", 1)[0] if len(norm) > 80 else norm
        fid = "di-garbled-text"
        ev = Evidence(page, quote)
        if fid in self.findings:
            f = self.findings[fid]
            if len(f.evidence) < MAX_EVIDENCE:
                f.evidence.append(ev)
            return
        finding = Finding(
            id=fid,
            category="document_integrity",
            title="Text looks garbled (font encoding)",
            severity=2,
            why_it_matters=f"The extracted text shows {reason}: the PDF's fonts do not map glyphs to characters, so "
            "the words could not be read and the page was not analysed. A low risk score would be misleading.",
            recommendation="Review the affected pages by eye, or OCR the document and analyse it again.",
            evidence=[ev],
            rule_id="DI-GARBLED-TEXT",
        )
        self.findings[fid] = finding
        self.order.append(fid)
        new.append(finding)

    # ---- recording

    def _rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def _record(
        self,
        rule: Rule,
        key: str,
        unit: _Unit,
        start: int,
        end: int,
        new: list[Finding],
        sensitive: list[tuple[int, int]] | None = None,
        severity: int | None = None,
    ) -> None:
        evidence = _evidence(unit, start, end, sensitive if sensitive is not None else _sensitive_spans(unit.text))
        fid = rule_key(rule, key)
        unit.recorded.setdefault(rule.category, fid)
        severity = self._level(
            rule.category, rule.severity if severity is None else severity, rule.id, unit, _first_quote(evidence)
        )
        existing = self.findings.get(fid) or self.deferred.get(fid)
        if existing is not None:
            for ev in evidence:
                if ev not in existing.evidence and len(existing.evidence) < MAX_EVIDENCE:
                    existing.evidence.append(ev)
            existing.severity = max(existing.severity, severity)
            return
        finding = rule.finding(fid, evidence, severity)
        if rule.safeguards:
            self.deferred[fid] = finding
            return
        self.findings[fid] = finding
        self.order.append(fid)
        new.append(finding)

    def _summary(self, findings: list[Finding], risk: float) -> str:
        pages = self.pages_seen
        caveat = ""
        missing = sorted(set(self.pages_empty) | set(self.pages_error))
        if missing:
            caveat += f" Page(s) {_listed(missing)} had no extractable text (scanned?) and could not be read."
        if self.pages_garbled:
            caveat += (
                f" The text of page(s) {_listed(sorted(self.pages_garbled))} is unreadable (garbled font encoding) "
                "and could not be read: this report cannot clear it."
            )
        if not findings or all(f.category == "document_integrity" and f.rule_id != "DI-INJECTION" for f in findings):
            return f"The offline rules found no compliance issue in {pages} page(s).{caveat}"
        serious = [f for f in findings if f.severity >= 3]
        cats = Counter(f.category for f in (serious or findings))
        top = max(findings, key=lambda f: (f.severity, -findings.index(f)))
        where = f" (page {top.evidence[0].page})" if top.evidence else ""
        parts = ", ".join(f"{c.replace('_', ' ')} ({n})" for c, n in cats.most_common())
        return (
            f"{len(findings)} finding(s) in {pages} page(s), {len(serious)} of severity 3 or more: {parts}. "
            f"Most serious: {top.title}{where}.{caveat}"
        )


def _listed(pages: list[int]) -> str:
    return ", ".join(map(str, pages[:20])) + (" ..." if len(pages) > 20 else "")


_SAFEGUARD_DENIED = re.compile(
    r"^[^.;]{0,40}?\b(?:not (?:performed|done|completed|applied|required|in place|used|obtained)|waived|skipped|"
    r"pending|n/?a)\b",
    re.I,
)
_NO_FINDING = Finding("", "other", "", 1, "", "", [])
_STRUCTURING = Rule(
    "AML-STRUCT", "aml", 4, "Several amounts just under a reporting threshold",
    "Repeated cash or transfer amounts just below a reporting threshold (USD 10,000, EUR 10,000/15,000, "
    "SGD 20,000 ...) are the classic pattern of structuring, done to avoid the report the full amount would trigger.",
    "Aggregate the related transactions, ask for their purpose and source, and escalate to the MLRO for a "
    "possible suspicious transaction report.",
    (),
)  # fmt: skip
_IDENTIFIER_RULE_OBJECTS = {
    kind: Rule(r.id, "personal_data", r.severity, r.title, r.why_it_matters, r.recommendation, ())
    for kind, r in IDENTIFIER_RULES.items()
}
TEST_CARDS = frozenset(
    [
        "4111111111111111", "4242424242424242", "4012888888881881", "4000056655665556", "4000000000000002",
        "5555555555554444", "5105105105105100", "5200828282828210", "2223003122003222", "5454545454545454",
        "378282246310005", "371449635398431", "6011111111111117", "6011000990139424", "3056930009020004",
        "36227206271667", "3566002020360505", "6200000000000005",
    ]
)  # fmt: skip
"""Card numbers the card schemes and payment processors publish for testing: example data in documentation."""
_TEST_CARD_RULE = Rule(
    IDENTIFIER_RULES["card"].id, "personal_data", 2, IDENTIFIER_RULES["card"].title + " (a published test number)",
    "The number is one that payment processors publish for testing and belongs to no cardholder; a real number in "
    "the same place would be personal data to protect.", IDENTIFIER_RULES["card"].recommendation, (),
)  # fmt: skip
_MASKED_RULES = frozenset(r.id for k, r in IDENTIFIER_RULES.items() if k in ("card", "iban", "nric", "ssn"))


@functools.cache
def _concept_rule(rule: ConceptRule, severity: int) -> Rule:
    """The :class:`Rule` a concept rule reports as, at the severity of one hit."""
    return Rule(rule.id, rule.category, severity, rule.title, rule.why_it_matters, rule.recommendation, ())


def rule_key(rule: Rule, key: str) -> str:
    """The finding id: the rule id and a digest of the merging key (deterministic across runs)."""
    return f"{rule.id.lower()}-{_digest(rule.id, key)}"


def _mentions(patterns: Iterable[re.Pattern[str]], folded: str) -> bool:
    """Whether ``folded`` holds a literal anchor of one of ``patterns`` (a pattern without anchors always may match)."""
    for p in patterns:
        anchors = literal_anchors(p)
        if anchors is None or any(a in folded for a in anchors):
            return True
    return False


TECHNICAL_PAGE_SHARE = 0.25
"""A page whose sentences are this much software prose or code (a man page, a README, an RFC) is documentation as a
whole (40 % until round 4 of the ordinary-text measure: docs/EVALUATION.md)."""


def _mark_technical(units: list[_Unit]) -> None:
    flags = [u.read().has("TECHNICAL") for u in units]
    whole_page = len(units) >= 5 and sum(flags) >= TECHNICAL_PAGE_SHARE * len(units)
    for unit, flag in zip(units, flags, strict=True):
        unit.technical = flag or whole_page


_FORBIDDING = re.compile(
    r"\b(?:(?:do|does|will|shall|may|must|can)\s*(?:not|n't)|cannot|never)\s+(?:be\s+)?(?:allow|permit|accept|"
    r"tolerate|engage|make|offer|give|pay|use|host|post|upload|submit|share|send)\w*|\b(?:prohibit\w*|forbid\w*|"
    r"not (?:allowed|permitted|acceptable|tolerated))\b|\b(?:must|may|shall) not\b|\bagree\w* not to\b|"
    r"\brefrain from\b|\b(?:(?:do|does|will|shall)\s*(?:not|n't)|never)\s*:$",
    re.I,
)
_LIST_MARK = re.compile(r"(?:[\u2022\u25aa\u25cf\u25e6*\-\u2013]|\d{1,2}[.)]|[a-z]{1,4}\.|\(?[a-zA-Z0-9]{1,3}\))\s")
_BARE_MARK = re.compile(
    r"(?:[\u2022\u25aa\u25cf\u25e6*\-\u2013]\s*)?(?:\d{1,2}|[a-z]{1,4}|\(?[a-zA-Z0-9]{1,3}\))?[.)]?"
)
"""A list marker on its own ("* i."): the sentence after it is the item."""


_PROHIBITIVE_HEAD = re.compile(
    r"^\W*(?:\w{1,4}[.)]\s*)?\W*(?:do not|don['\u2019]t|never|you (?:must|may|shall|will) not|you agree not to)\b"
    r"(?=[^.;]*\bwithout\b)",
    re.I,
)
"""A rule forbidding an act done without something ("Don't collect data without the user's consent"): a control. An
order not to do a control ("do not verify the customer's identity") has no "without" and is left to the rules."""
_DEFINITION = re.compile(
    r"^\W*(?:\w{1,4}[.)]\s*)?(?:[\"\u201c\u2018'\ufffd][^\"\u201d\u2019'\ufffd]{2,80}[\"\u201d\u2019'\ufffd]\**"
    r"(?:\s+or\s+[\"\u201c\u2018'\ufffd][^\"\u201d\u2019'\ufffd]{2,40}[\"\u201d\u2019'\ufffd])?(?:\s*\([^)]{1,40}\))?,?\s+"
    r"(?:(?:for|within) the (?:purposes?|meaning) of [^,]{1,80},\s+)?"
    r"(?:means|shall mean|refers to|(?:is )?defined as|has the meaning)"
    r"|[A-Z][\w-]*(?: [\w-]+){0,4}(?:\s*\([^)]{1,40}\))?,?\s+(?:(?:for|within) the (?:purposes?|meaning) of [^,]{1,80},"
    r"\s+(?:means|shall mean|refers to)|is defined as|has the meaning|is (?:a|any) natural or legal person)"
    r"|(?!(?:This|That|It|Which|What|Our|Your)\b)[A-Z][\w-]*(?: (?:[A-Z][\w-]*|of|and|or)){1,5},? "
    r"(?:means|shall mean))\b"
)
"""A defined term ("\u201cBrazil Data Protection Requirements\u201d means ...", "Sensitive Personal Data means ...",
"Sale, for the purpose of the CCPA, means selling ...", "\u201cSale\u201d or \u201csell\u201d means ...", with its
quotation marks lost in decoding as U+FFFD too, "Recipient is a natural or legal person ... to which the personal data
are disclosed"): it says what a word means, not what is done."""


def _conduct_item(text: str) -> bool:
    """A rule of a notice for its reader naming a conduct done without something ("* harvest information about
    users without their consent", "- using brand logos without permission", and with no list marker "Harvest or
    otherwise collect information about others without their consent"): it opens with a verb, so it is a rule for
    the reader, not a practice of the firm (which would open with "we" or name the data)."""
    if _WITHOUT.search(text) is None:
        return False
    m = _LIST_MARK.match(text)
    word = _FIRST_WORD.match(text, m.end() if m else 0)
    if word is None:
        return False
    verb = word.group(1).lower()
    forms = getAllLemmas(verb)
    if "VERB" not in forms or "ADJ" in forms:
        return False
    # No list marker: an order in the base form followed by lower-case words ("Harvest or otherwise collect ...",
    # "Upload, post, email ..."), or an item of a list of what content must not do ("Violates the rights of others
    # ... without consent"), not a heading that opens with a word that can be a verb or a noun ("Site Terms of Use
    # Modifications ...", "Changes to these terms without notice").
    ordered = verb in forms["VERB"] or (verb.endswith("s") and "NOUN" not in forms)
    return m is not None or (ordered and text[word.end() : word.end() + 3].lstrip(", ")[:1].islower())


_WITHOUT = re.compile(r"\bwithout\b", re.I)
_FIRST_WORD = re.compile(r"\W*(?:(?:directly|knowingly|intentionally|otherwise|fraudulently)\s+)?([A-Za-z]+)\b", re.I)
_WE_LEAD = re.compile(
    r"\b(?:we|us)\b|\bour\b(?!\s+(?:products?|services?|site|websites?|platforms?|apps?|software|tools?|models?)\b)",
    re.I,
)
"""A lead-in naming what the firm does ("We may:", "How we use data:"), not what is done with its products ("This
includes using our products or services to:")."""
_DENIAL = re.compile(
    r"^(?:[A-Z][\w&.,'-]*\s+|(?:of|and|with|to|the|for|our|your|&)\s+)*?(?:we|it|[A-Z][\w&.-]*(?:\s+data)?|"
    r"(?:(?:any|all|the)\s+)?(?:(?:your|customer|personal|user)\s+)?(?:data|information)(?:\s+(?:we\s+)?collected)?)"
    r"\s+(?:(?:do|does|did|will|shall|would)\s*(?:not|n't)|won't|"
    r"never|(?:is|are|will be) (?:never|not))(?:\s+be)?(?:\s+(?:\w+ly|ever))?"
    r"(?:\s+(?:intend|want|wish|seek|plan|aim|need) to)?\s+(?:sell|rent|share|disclose|collect|"
    r"process|transfer|trade|monetis|monetiz|provide|receive|create|sold|rented|shared|disclosed|transferred|traded|"
    r"use (?:your|personal|customer|users?'?|any personal))\w*\b"
    r"(?![^.;]*\b(?:but|however|except|unless)\b)",
)
"""The firm denies a practice at the head of a sentence, perhaps after a heading ("We do not sell, rent or ...",
"Customer data is never sold", "Foot Locker does not collect ...", "We do not use your e-mail for marketing", "We do
not intend to collect ..."), with no exception after it: a promise, not a practice. A denied control ("we do not
verify ...") is not among the verbs."""
_FIRM_AFTER = r"(?![^.]*\b(?:but|however|although|yet|while)\s*,?\s+we\b)"
"""Not when the sentence goes on to what the firm does all the same ("You may opt out, but we still sell ...")."""
_READER_RIGHT = re.compile(
    "^"
    + _FIRM_AFTER
    + r"\W*(?:\w{1,4}[.)]\s*)?(?:[A-Z][a-z]+(?: [a-z]+){0,3}:\s+)?(?:(?:however|specifically|also|additionally|in "
    r"addition|finally),?\s+)?(?:(?:as an?|if you are an?|if you (?:live|reside) in) [^.,;:]{1,50},\s+)?(?:"
    r"(?:the\s+|your\s+)?right (?:to|of)\b"
    r"|(?:(?:a|an|the|each|any|every|all)\s+)?(?:\w+\s+){0,2}?(?:you|users?|data subjects?|consumers?|residents?|"
    r"individuals?|parents?|guardians?|customers?|members?|persons?)\s+(?:also\s+)?(?:ha(?:s|ve)|(?:shall|will|may|"
    r"might) (?:also )?have|(?:are|is) entitled|may|can)\s+(?:also\s+|at any time\s+)?(?:the\s+|a\s+)?"
    r"(?:right|ask|request|opt|object|withdraw|choose|direct|exercise|instruct|unsubscribe|require|contact us)"
    r"|if you (?:wish|want|would like|choose|decide|prefer|are a [^.;]{0,40}\byou wish)\b(?=[^.]{0,120}\b(?:right|"
    r"opt[- ]?out|unsubscribe|withdraw|object|request|ask us|contact us|not to)\b)"
    r"|(?:to\s+)?exercise (?:your|this|these|the|any)\b"
    r"|(?:ask|request|direct|instruct) (?:us|that we|a business)\b|opt[- ]out (?:of|from)\b"
    r"|withdraw\w* (?:your |of )?consent\b"
    r"|please note that you (?:are not required|may|can)\b|you are (?:free|entitled) to\b"
    r")",
    re.I,
)
"""A right of the reader ("You have the right to ...", "Right to erasure", "A California resident may opt out of
...", "If you are a resident of Nevada, you may ...", "Ask us not to share ..."): in a notice, it says what the
reader may ask, not what the firm does. Not when it goes on to what the firm does ("You may opt out, but we still
sell ...")."""
_LAW_GIVES_RIGHT = re.compile(
    "^" + _FIRM_AFTER + r"[^.;]{0,160}?"
    r"\b(?:laws?|act|code|sections?|regulations?|statutes?|GDPR|CCPA|CPRA)\b(?:[^.;]|\.(?=\d)){0,80}?"
    r"\b(?:gives?|grants?|provides?|permits?|allows?|entitles?|affords?)\s+(?:[a-z]+\s+)?"
    r"(?:residents?|users?|consumers?|individuals?|customers?|visitors?|you|data subjects?)\b[^.;]{0,60}?"
    r"\b(?:the right|rights?\b|to (?:request|ask|obtain|opt|know|access|delete|object|receive))",
    re.I,
)
"""A law that gives the reader a right ("California Civil Code sections 1798.83-1798.84 give California residents
the right to ask us ...", "California law permits users who are California residents to request ..."), perhaps
after a heading run into it, its section numbers' full stops no sentence end: in a notice, what the reader may ask,
like ``_READER_RIGHT``. Not a law that allows the firm something ("California law permits us to ..."), nor a right
followed by what the firm does all the same ("..., but we ...")."""
_READERS_CHOICE = re.compile(
    r"\bby (?:selecting|choosing|checking|ticking|clicking)\s+(?:on\s+)?(?:this|that|the)\s+"
    r"(?:option|box|button|link)\b,?\s+you (?:are|will be|have)\b",
    re.I,
)
"""An option of a form the notice offers its reader ("Request to Know By selecting this option, you are instructing
us to tell you the categories of third parties ..."): what the reader asks by choosing it, not what the firm does."""
_YES_NO_QUESTION = re.compile(
    r"\W*(?:do|does|did|will|would|can|could|may|might|is|are|was|were|has|have|had|shall|should)\s[^.!?]{3,200}\?$",
    re.I,
)
"""A question a notice asks ("Does Stoneware sell personal information?", "Do you sell the personal data
collected?"), as a heading or a frequently asked question does: it asks, it states no practice; the answer after it
is read on its own."""
_TERM_QUOTE = "[\"'\u201c\u201d\u2018\u2019\ufffd]"
_SALE_TERM = re.compile(
    rf"{_TERM_QUOTE}(?:sell|sold|sale|selling)s?,?{_TERM_QUOTE}|\bthe term {_TERM_QUOTE}?(?:sell|sale)"
    r"|\bpurposes? for (?:\w+ing,? )?(?:(?:and|or|and/or) )?(?:\w+ing,? ){0,3}(?:and/or|and|or) selling\b"
    r"|\bcategories of (?:[\w\u2019']+ ){0,8}(?:(?:that|which) (?:we )?(?:have |has |was |were )?|we (?:have )?)?"
    r"(?:(?:collected|disclosed|shared),? )*(?:(?:and|or|and/or) )?(?:sold|disclosed) (?:or (?:sold|disclosed) )?"
    r"(?:for a business purpose|to)\b"
    r"|\bwhether we(?:\u2019ve|'ve|\ufffdve| have)? (?:\w+ ){0,8}?(?:sold|selling)\b",
    re.I,
)
_SALE_WORD = re.compile(r"\b(?:sell|sells|sold|selling|sale|sales|rent|rents|rented|renting)\b", re.I)


def _sale_as_a_term(text: str) -> bool:
    """Whether a notice's sentence names a sale only as the California Consumer Privacy Act's term, in the
    disclosures the Act asks for ("the categories of personal information that we have sold or disclosed for a
    business purpose", "the business or commercial purpose for collecting or selling", "whether we've sold your
    Personal Information", "The CCPA requires that we use the term "sell" ...", "the categories of Personal
    Information "sold""): every word of a sale in it is such a term ("We sell the categories of personal information
    below", "partners, who may sell it; the categories ... sold to them" stay sales)."""
    rest, terms = _SALE_TERM.subn(" ", text)
    return terms > 0 and _SALE_WORD.search(rest) is None


_LONG_WORD = re.compile(r"\b[A-Za-z]{4,}")


def _heading_run(text: str, least: int = 6) -> bool:
    """Headings run together, as a web page's menu or table of contents loses its line breaks ("Table of Contents
    How We Collect Information How We Use the Information ..."): ``least`` or more words of four letters or more, at
    least 60 % of them capitalised (not in capitals throughout, as a disclaimer is), the last two too: a run that
    ends in a sentence ("... How Long We Retain Your Data If you leave a comment, it is kept indefinitely") is read
    as one."""
    words = _LONG_WORD.findall(text)
    if len(words) < least:
        return False
    return _capitalised(words) >= 0.6 * len(words) and all(w[0].isupper() for w in words[-2:])


def _capitalised(words: list[str]) -> int:
    """How many of ``words`` are capitalised, not in capitals throughout."""
    return sum(1 for w in words if w[0].isupper() and not w.isupper())


_SPECIAL_RULES = frozenset(["DP-SPECIAL", "DP-C-SPECIAL"])
_HANDLING = ("PROCESS", "TRANSFER", "SELL", "KEEP")
"""Concepts of handling data (collect, use, share, disclose, store, hold ...)."""
_PROCESSING = frozenset(
    [
        *("organise", "organize", "adapt", "retrieve", "transmit", "disseminate", "combine", "erase", "destroy"),
        *("gather", "compile", "publish"),
    ]
)
"""Operations on data that processing also is (GDPR art. 4(2): "collection, recording, organisation, structuring,
storage, adaptation or alteration, retrieval, consultation, use, disclosure by transmission, dissemination ...,
alignment or combination, restriction, erasure or destruction"), as lemmas, beyond those of ``_HANDLING``: not the
ones that are mostly other things in a notice ("records", "consult a doctor", "obtain healthcare services")."""


def _handled(sc: SentenceConcepts) -> bool:
    """Whether a sentence says data is handled (``_HANDLING``, ``_PROCESSING``): a notice's sentence naming
    special-category data without it says nothing of what is done with it ("the Health Records and Information
    Privacy Act 2002", "information that could be linked back to you, including your Genetic Information")."""
    return any(sc.has(c) for c in _HANDLING) or any(t.lemmas & _PROCESSING for t in sc.tokens)


_PRIVACY_NOTICE = (re.compile(_PRIVACY_TITLE, re.IGNORECASE), _address_naming(_PRIVACY_PAGES))
"""A privacy, cookie or data protection notice, by its name or by its address on a line of its own."""
_NOT_PRIVACY_RISKS = frozenset(["bribery_corruption"])
"""Categories whose findings a privacy notice does not describe: it tells its reader what is done with their data,
not how the firm deals with officials and agents. The words that look like one there are of another sense ("the
official website", "customs fees", "share it with HM Revenue & Customs", "a doctor's visit"): such a finding is noted
at ``STANDARD_FORM_SEVERITY`` (docs/EVALUATION.md, round 15). Customer due diligence is not among them: a notice
that says no one's identity is checked before an account is opened tells of a gap."""
_HEALTH_NOTICE = re.compile(
    r"\bnotice of (?:health information )?privacy practices\b|\bthis notice describes how (?:your )?(?:medical|health|"
    r"protected health) information\b",
    re.IGNORECASE,
)
"""A health provider's or plan's notice of privacy practices, by its name or by the sentence HIPAA requires it to
open with ("This notice describes how medical information about you may be used and disclosed ...", 45 CFR
164.520(b)(1)(i))."""
_SENTENCE_WORD = re.compile(r"\b(?:" + "|".join(sorted(_NOT_HEADING)) + r")\b")
"""A subject or a verb in lower case (``_NOT_HEADING``): searched first, as most sentences hold one early."""
MENU_WORDS = 10
"""Words of four letters or more a saved web page's menu runs to, at the least, in a document that is no notice."""


def _menu(text: str) -> bool:
    """A saved web page's menu, its links run together ("Benefits, Grants, Loans Government Agencies and Elected
    Officials A-Z Index of ..."), in any document: headings run together (``_heading_run``), ``MENU_WORDS`` long or
    longer, with no subject or verb in lower case (``_NOT_HEADING``: "We can be contacted at the Bala Sailing Club" is
    a sentence)."""
    return _SENTENCE_WORD.search(text) is None and _heading_run(text, MENU_WORDS)


MENU_SHARE = 0.75
"""The share of capitalised long words around a match that reads it as a link of a menu (``_in_menu``)."""


def _in_menu(text: str, start: int, end: int) -> bool:
    """A match among the links of a menu that a sentence of the unit was run into ("Care Diploma What employers
    and grads say Worksite learning Disability and Community Studies ..." before "We collect ..."): the words a quote
    of it would show (``_window``) are at least eight long words, three in four of them capitalised, with no subject
    or verb in lower case (``_NOT_HEADING``). ``_menu`` reads a unit that is a menu throughout; this reads the part of
    a unit too long to quote whole where the match is. A unit short enough to quote whole is a sentence unless
    ``_menu`` says otherwise ("Pay to Crimea Sevastopol Port Works, account at Gazprombank Moscow Central Branch.")."""
    if len(text) <= MAX_QUOTE_CHARS:
        return False
    a, b = _window(text, start, end)
    near = text[a:b]
    if _SENTENCE_WORD.search(near) is not None:
        return False
    words = _LONG_WORD.findall(near)
    return len(words) >= 8 and _capitalised(words) >= MENU_SHARE * len(words)


_REMEDY = re.compile(
    r"^\W*(?:(?:however|but|and|also|further(?:more)?|moreover|in addition|similarly)\W+)?"
    r"(?:(?:consistent with|in (?:accordance|compliance|line) with|as required by|under)\b[^,.;]{0,80},\s*)?(?:"
    r"(?:if|in the event(?: that)?|when|where|should)\b[^.;]{0,40}\b(?:learn|discover|become aware|are made aware|"
    r"find out|notice)\w*\b[^.]{0,300}\b(?:delete|remove|erase|destroy|purge)\w*"
    r"|if you(?:['\u2019]re| are)? (?:believe|think|suspect|become aware|a parent|parents?)\b[^.]{0,200}\b"
    r"(?:notify|contact|tell|inform|let us know|report|delete|remove)\w*)",
    re.I,
)
"""A remedy ("If we learn that we have collected data of a child without parental consent, we will delete it", "If
you believe a child gave us data without consent, please notify us"), perhaps after a connective ("However, if
...") or the law it follows ("Consistent with COPPA, if we learn ..."): a control, whatever the condition names."""


_CONTENTS_ENTRY = re.compile(r"(?:\.\s?|\u2026\s?){4,}\s*\d{1,4}$")
"""An entry of a table of contents, its dot leader and page number ("3.6 A-to-z guarantee and return policy ......
16"): it names a section, it says nothing."""


def _mark_forbidden_lists(units: list[_Unit], lead: str, notice: bool = False) -> str:
    """The items of a list led in by a prohibition ("We do not allow content that:", "The following are
    prohibited:") describe what is forbidden: each is read as policy, like "gifts to officials are prohibited", and
    so is a sentence forbidding an act done without something, or defining a term. In a notice to its reader, a
    rule naming a conduct done without something is one too (``_conduct_item``), unless it is an item of a list
    led in by what the firm does ("We may:", "How we use data:"). In any document, a practice the firm denies
    (``_DENIAL``), a remedy (``_REMEDY``), an entry of a table of contents (``_CONTENTS_ENTRY``) and a saved web
    page's menu (``_menu``) are policy too, and in a notice so are a right of the reader (``_READER_RIGHT``), one a
    law gives them (``_LAW_GIVES_RIGHT``), an option of a form the reader may choose (``_READERS_CHOICE``) and
    headings run together (``_heading_run``, ``_question_headings``).

    An item's second sentence does not end the list; a heading or another lead-in does. ``lead``: the lead-in of
    the list the previous units ended inside (``"forbidding"``, ``"firm"`` or ``""``); returns this one's."""
    marked = False
    for unit in units:
        item = lead == "forbidding" and (marked or _LIST_MARK.match(unit.text) is not None)
        conduct = notice and lead != "firm" and _conduct_item(unit.text)
        control = (
            _DENIAL.match(unit.text)
            or _REMEDY.match(unit.text)
            or (unit.text[-1:].isdigit() and _CONTENTS_ENTRY.search(unit.text) is not None)
            or (
                _READER_RIGHT.match(unit.text)
                or _heading_run(unit.text)
                or _question_headings(unit.text)
                or _YES_NO_QUESTION.match(unit.text)
                or _READERS_CHOICE.search(unit.text)
                or _LAW_GIVES_RIGHT.match(unit.text)
                or _sale_as_a_term(unit.text)
                if notice
                else _menu(unit.text)  # a menu is a heading run, which a notice already reads as none
            )
        )
        if item or conduct or control or _PROHIBITIVE_HEAD.match(unit.text) or _DEFINITION.match(unit.text):
            unit.forbidden = True
            unit.read().hits.setdefault("POLICY", [(0, 1)])
        if item:
            marked = _BARE_MARK.fullmatch(unit.text) is not None
        elif unit.text.endswith(":"):
            lead = "forbidding" if _FORBIDDING.search(unit.text) else "firm" if _WE_LEAD.search(unit.text) else ""
        elif unit.text.startswith("#") or _HEADING.fullmatch(unit.text):
            lead = ""
    return lead


_QUOTES = re.compile("[\"\u201c\u201d\u00ab\u00bb\u2018]|(?<!\\w)'")


def _quoted(text: str, at: int) -> bool:
    """Whether ``at`` sits inside quotation marks opened earlier in the sentence (an odd count of marks)."""
    return len(_QUOTES.findall(text, 0, at)) % 2 == 1


_INNER_NEGATION = re.compile(
    r"\b(?:not|never|n['\u2019]t)\s+(?:(?:be|been|ever|\w+ly)\s+){0,2}(?:sold|rented|shared|disclosed|traded|"
    r"transferred|provided|given|passed|licen[cs]ed|released|exchanged|monetis\w+|monetiz\w+)\b",
    re.I,
)
"""A negated verb inside a trigger's match ("personal information will never be sold")."""


_CONDITION_HEAD = re.compile(r"\W*(?:if|unless)\b[^,;.]{0,200},", re.I)
"""A sentence's opening condition up to its comma ("If you don't, ..."): a negation in it stays in it."""


def _negated(text: str, start: int, end: int) -> bool:
    origin = max(0, start - 140)
    before = text[origin:start]
    cut = 0
    condition = _CONDITION_HEAD.match(text)
    if condition is not None and origin < condition.end() <= start:
        cut = condition.end() - origin
    for m in _CLAUSE_BREAK.finditer(before, cut):
        cut = m.end()
    cut = max([cut, *clause_openings(before, cut)])
    if NEGATION_BEFORE.search(before[cut:]) or _INNER_NEGATION.search(text, start, end):
        return True
    return NEGATION_AFTER.match(text[end:]) is not None


def _sensitive_spans(text: str) -> list[tuple[int, int]]:
    if not any(ch.isdigit() for ch in text):
        return []
    return [(m.start, m.end) for m in find_identifiers(text) if m.sensitive]


def _quote(unit: _Unit, start: int, end: int) -> str:
    """The quote a finding on ``unit.text[start:end]`` would show (the notice model reads it)."""
    return _first_quote(_evidence(unit, start, end, _sensitive_spans(unit.text)))


def _first_quote(evidence: list[Evidence]) -> str:
    return evidence[0].quote if evidence else ""


def _evidence(unit: _Unit, start: int, end: int, sensitive: list[tuple[int, int]]) -> list[Evidence]:
    a, b = _window(unit.text, start, end)
    out: list[Evidence] = []
    for i, part in enumerate(unit.parts):
        p0 = unit.offsets[i]
        p1 = p0 + (part.end - part.start)
        lo, hi = max(a, p0), min(b, p1)
        if hi <= lo:
            continue
        chars = list(unit.text[lo:hi])
        for s, e in sensitive:
            for j, ch in enumerate(mask(unit.text[s:e]), start=s):
                if lo <= j < hi:
                    chars[j - lo] = ch
        quote = "".join(chars).strip()
        if quote:
            out.append(Evidence(part.page, quote))
    return out


# --- the analyzer ----------------------------------------------------------------------------------------------


class RulesAnalyzer(Analyzer):
    """Offline, deterministic analyzer; pages are analysed as they arrive.

    ``data_dir`` replaces the packaged jurisdiction/threshold lists (same file names). Per-page work runs through
    ``ctx.run_blocking``; ``inline=True`` runs it on the calling thread instead (tests, the evaluation).
    """

    name = "rules"

    def __init__(self, data_dir: Path | None = None, *, inline: bool = False) -> None:
        self._data = load_data(data_dir)
        self._rules = load_rules(self._data)
        self._inline = inline
        # Parse every trigger's anchors now, not on the first page of the first job.
        self._index = _TriggerIndex.build(self._rules)
        self._designated = DesignatedNames(self._data)
        self._notice_model = notice_model()  # read here, never in the event loop on a first page
        for rule in self._rules:
            for trigger in rule.triggers:
                literal_anchors(trigger)

    @property
    def rules(self) -> list[Rule]:
        return list(self._rules)

    def new_document(self, page_count: int = 0) -> DocumentAnalysis:
        return DocumentAnalysis(
            self._rules,
            self._data,
            page_count,
            notice_model=self._notice_model,
            index=self._index,
            designated=self._designated,
        )

    async def analyze(self, pages: AsyncIterator[ExtractedPage], ctx: AnalysisContext) -> AnalysisResult:
        doc = self.new_document(ctx.page_count)
        total = ctx.page_count
        async for page in pages:
            new = await self._run(ctx, functools.partial(doc.feed, page))
            for finding in new:
                await ctx.on_finding(finding)
            await ctx.on_progress(doc.pages_seen, total, f"Analysed page {page.number} of {total}")
        for finding in await self._run(ctx, doc.finish):
            await ctx.on_finding(finding)
        return doc.result()

    async def _run(self, ctx: AnalysisContext, fn: Callable[[], list[Finding]]) -> list[Finding]:
        if self._inline:
            return fn()
        result: list[Finding] = await ctx.run_blocking(fn)
        return result


def analyze_pages(texts: Iterable[str], analyzer: RulesAnalyzer | None = None) -> AnalysisResult:
    """Synchronous helper: analyse page texts (page 1 first) in one go."""
    doc = (analyzer or RulesAnalyzer()).new_document()
    for number, text in enumerate(texts, start=1):
        doc.feed(ExtractedPage(number, text))
    doc.finish()
    return doc.result()
