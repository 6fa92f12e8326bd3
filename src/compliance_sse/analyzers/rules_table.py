"""The rule table of the offline analyzer: what each rule looks for and what it tells a reviewer.

A :class:`Rule` is data. Its ``triggers`` are searched on the whole page; a hit counts only if its sentence also
matches every pattern of ``requires`` (and one of ``requires_any`` when given), matches none of ``excludes``, is
not negated before the trigger ("we do not accept cash", "must not bypass") or after it ("cash payments are not
accepted"), and is not a policy describing the red flag ("escalate any request to split payments"). Rules whose
trigger already holds a negation ("no audit rights", "not licensed by") set ``negatable=False``.

``safeguards`` suppress a rule when a safeguard is stated, itself not negated, anywhere in the document (for
example standard contractual clauses for a transfer abroad, enhanced due diligence for a PEP). Such rules cannot
know a document is missing its safeguard until the last page: their findings are emitted when the document ends.

Lists that change (sanctioned jurisdictions, offshore centres, thresholds, controlled goods) live in
``compliance_sse/data/*.json`` with their source and as-of date, and are compiled into rules by :func:`load_rules`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from re import _parser as _sre
from typing import Any

from rapidfuzz import fuzz

from .base import RuleText
from .gazetteer import sanctioned_places

__all__ = [
    "EXPORT_CLAUSE",
    "IDENTIFIER_RULES",
    "NEGATION_AFTER",
    "NEGATION_BEFORE",
    "POLICY_CONTEXT",
    "PROMPT_MARKERS",
    "DesignatedNames",
    "IdentifierRule",
    "Rule",
    "RuleData",
    "is_acronym",
    "literal_anchors",
    "literal_gate",
    "load_data",
    "load_rules",
    "sanctioned_pattern",
    "trigger_gate",
]

_I = re.IGNORECASE


def _rx(*patterns: str, flags: int = _I) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, flags) for p in patterns)


def _words(words: Sequence[str]) -> str:
    """An alternation of phrases, longest first, with flexible inner whitespace and hyphens."""
    ordered = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]?") for w in ordered)


NEGATION_BEFORE = re.compile(
    r"\b(?:no(?!\.?\s*\d)|not|never|neither|nor|none|cannot|(?:ca|wo|do|does|did|is|are|was)n['\u2019]t"
    r"|prohibit\w*|forbid\w*|ban|bans|banned|refus\w*|reject\w*|declines?|declined|prevent\w*|free of|rather than"
    r"|instead of|against|avoid\w*|under no circumstances|zero[- ]tolerance)\b",
    _I,
)
"""A negation between the start of a trigger's clause and the trigger."""

NEGATION_AFTER = re.compile(
    r"^[^.;:]{0,80}?\b(?:is|are|will be|shall be|must be|be|were|was|has been|have been)\s+(?:strictly\s+|expressly\s+|"
    r"absolutely\s+)?(?:not\s+(?:be\s+)?(?:permitted|allowed|accepted|tolerated|made|paid|used|engaged|undertaken|"
    r"offered|given|sold|shared)|prohibited|forbidden|banned|rejected|refused|declined|excluded|not\s+permitted)\b",
    _I,
)
"""A negation in the clause after a trigger ("cash payments are not accepted")."""

POLICY_CONTEXT = re.compile(
    r"\b(?:red[- ]flags?|warning signs?|indicators? (?:of|include)|typolog\w+|escalat\w+|"
    r"report(?:ed)? (?:it |them )?(?:immediately )?to (?:compliance|the mlro|the money laundering reporting officer|"
    r"the authorities|the fiu|stro|the compliance (?:team|officer|function))|"
    r"suspicious (?:activity|transaction) reports?|we (?:screen|monitor|detect)|screen(?:ed|s|ing)? against|"
    r"(?:staff|employee|mandatory|annual|compliance|aml|awareness) training|training (?:programmes?|programs?|"
    r"courses?|sessions?|materials?|modules?)|(?:must|should) (?:be )?(?:reported|escalated|report|escalate)|"
    r"policy "
    r"(?:prohibits|forbids)|"
    r"(?:zero|no)[- ]tolerance)\b",
    _I,
)
"""A policy or training text describing a red flag instead of doing it."""

_CLAUSE_BREAK = re.compile(r"[;:]|\.\s|\b(?:but|however|whereas|although|except|unless|provided that)\b", _I)

_ACCESS = r"\b(?:access\w*|accommodat\w*|assistive|adapted)\b"
_DISABLED = (
    r"\b(?:people|persons|individuals|users|visitors|employees|students|customers|applicants|members|those) "
    r"(?:with|living with|who have) (?:a |an |any |\w+ )?disabilit\w*"
)
"""Access made for people with disabilities (``_ACCESS`` near ``_DISABLED``): a service for them, not their data."""
_NOT_INCLUDING = r"(?<!including )(?<!including, )"
"""Not after "including": "including, without limitation" means "for example", not "with no limit"."""

_PAY = (
    r"(?:pay\w*|paid|remit\w*|transfer\w*|wire[sd]?|wiring|deposit\w*|route[sd]?|routing|settle\w*|fund(?:s|ed|ing)?|"
    r"proceeds|invoice\w*|send|sent|moved?)"
)


@dataclass(frozen=True, slots=True)
class Rule(RuleText):
    """One rule: where it fires and what it tells the reviewer (see the module docstring)."""

    triggers: tuple[re.Pattern[str], ...]
    requires: tuple[re.Pattern[str], ...] = ()
    requires_any: tuple[re.Pattern[str], ...] = ()
    excludes: tuple[re.Pattern[str], ...] = ()
    negatable: bool = True
    policy_exempt: bool = True
    safeguards: tuple[re.Pattern[str], ...] = ()
    check: Callable[[str, re.Match[str]], bool] | None = field(default=None, compare=False)
    """Extra predicate on (sentence, trigger match); the rule fires only if it returns True."""
    key: Callable[[re.Match[str]], str] | None = field(default=None, compare=False)
    """Merging key of a hit (default: the trigger text, lower-cased); same rule and key are one finding."""
    standard_form: bool = False
    """A clause nearly every consumer terms or privacy notice holds: at most severity 2 in such a document
    (``concepts.notice_clause``)."""

    def __post_init__(self) -> None:
        if not 1 <= self.severity <= 5:
            raise ValueError(f"rule {self.id}: severity must be 1..5, got {self.severity}")


@dataclass(frozen=True, slots=True)
class RuleData:
    """The data files, parsed; ``meta`` keeps each file's source and as-of date for the report."""

    jurisdictions: list[dict[str, Any]]
    entities: list[dict[str, Any]]
    not_after: list[str]
    not_before: list[str]
    offshore: list[str]
    thresholds: list[dict[str, Any]]
    near_fraction: float
    goods: list[str]
    meta: dict[str, dict[str, str]]


_DATA_FILES = (
    "sanctioned_jurisdictions",
    "sanctioned_entities",
    "offshore_jurisdictions",
    "reporting_thresholds",
    "dual_use_goods",
)


def load_data(data_dir: Path | None = None) -> RuleData:
    """Read the data files from ``data_dir`` or the packaged ``data`` folder.

    Raises ``ValueError`` if a file does not state its ``source`` and ``as_of`` date.
    """
    raw: dict[str, dict[str, Any]] = {}
    for name in _DATA_FILES:
        if data_dir is not None:
            text = (data_dir / f"{name}.json").read_text(encoding="utf-8")
        else:
            text = resources.files("compliance_sse").joinpath("data", f"{name}.json").read_text(encoding="utf-8")
        doc = json.loads(text)
        if not doc.get("source") or not doc.get("as_of"):
            raise ValueError(f"data file {name}.json must state its source and as_of date")
        raw[name] = doc
    sj = raw["sanctioned_jurisdictions"]
    return RuleData(
        jurisdictions=_with_gazetteer(sj["jurisdictions"]),
        entities=list(raw["sanctioned_entities"]["entities"]),
        not_after=list(sj["not_a_mention"]["after"]),
        not_before=list(sj["not_a_mention"]["before"]),
        offshore=list(raw["offshore_jurisdictions"]["jurisdictions"]),
        thresholds=list(raw["reporting_thresholds"]["thresholds"]),
        near_fraction=float(raw["reporting_thresholds"]["near_fraction"]),
        goods=list(raw["dual_use_goods"]["terms"]),
        meta={name: {"source": doc["source"], "as_of": doc["as_of"]} for name, doc in raw.items()},
    )


def _with_gazetteer(jurisdictions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hand-kept jurisdictions, each with the cities and regions the gazetteer places in it."""
    extra = sanctioned_places()
    out: list[dict[str, Any]] = []
    for j in jurisdictions:
        known = set(j["aliases"]) | set(j["places"])
        added = [p for p in extra.get(str(j["id"]), ()) if p not in known]
        out.append({**j, "places": [*j["places"], *added]})
    return out


@cache
def _sanctioned_pattern(
    names: tuple[str, ...], not_after: tuple[str, ...], not_before: tuple[str, ...]
) -> re.Pattern[str]:
    after = "|".join(re.escape(w) for w in not_after)
    before = "".join(rf"(?<!\b{re.escape(w)} )" for w in not_before)
    return re.compile(rf"(?<![\w-]){before}(?:{_words(list(names))})(?![\w-])(?!\s+(?:{after})\b)")


_CAPITALISED_RUN = re.compile(r"\b[A-Z][\w'\u2019-]*(?:(?:\s+(?:of|al|the|de|for|and)\s+|\s+)[A-Z][\w'\u2019-]*){2,}")


class DesignatedNames:
    """Designated organisations in a sentence: exact aliases, acronyms with a confirming context word, and
    names of three words or more spelled a little differently (rapidfuzz, 88% or more: "Islamic Revolutionary
    Guards Corp")."""

    FUZZY_CUTOFF = 88.0

    def __init__(self, data: RuleData) -> None:
        self.exact = re.compile(
            rf"(?<![\w-])(?:{_words([a for e in data.entities for a in e['aliases'] if not is_acronym(a)])})" + _LINKED,
            _I,
        )
        with_context = [(a, e) for e in data.entities if e.get("context") for a in e["aliases"] if is_acronym(a)]
        self.acronyms = [
            (re.compile(rf"(?<![\w-]){re.escape(a)}{_LINKED}"), re.compile(rf"\b(?:{_words(e['context'])})\b", _I))
            for a, e in with_context
        ]
        # Any of the acronyms at all: one search that most sentences fail, before one search per acronym.
        acronyms = "|".join(re.escape(a) for a, _e in with_context)
        self.any_acronym = re.compile(rf"(?<![\w-])(?:{acronyms}){_LINKED}") if acronyms else None
        self.long_names = [a for e in data.entities for a in e["aliases"] if len(a.split()) >= 3]

    def found(self, sentence: str) -> bool:
        if self.exact.search(sentence):
            return True
        if (
            self.any_acronym is not None
            and self.any_acronym.search(sentence)
            and any(a.search(sentence) and c.search(sentence) for a, c in self.acronyms)
        ):
            return True
        for m in _CAPITALISED_RUN.finditer(sentence):
            run = m.group().strip()
            for name in self.long_names:
                if fuzz.partial_ratio(name.lower(), run.lower()) >= self.FUZZY_CUTOFF:
                    return True
        return False


def sanctioned_pattern(data: RuleData) -> re.Pattern[str]:
    """Any name of a sanctioned or high-risk jurisdiction, its cities and regions (case-sensitive)."""
    names = tuple(sorted({n for j in data.jurisdictions for n in (*j["aliases"], *j["places"])}))
    return _sanctioned_pattern(names, tuple(data.not_after), tuple(data.not_before))


# --- data protection: breach notification later than the law allows ---------------------------------------------

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90,
    "seventy-two": 72, "forty-eight": 48, "twenty-four": 24,
}  # fmt: skip
_DURATION = re.compile(
    r"\b(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")(?:\s*\(\d{1,3}\))?\s*(calendar\s+|business\s+|working\s+)?"
    r"(hours?|days?|weeks?|months?)\b",
    _I,
)
_UNIT_HOURS = {"hour": 1.0, "day": 24.0, "week": 168.0, "month": 720.0}
BREACH_LIMIT_HOURS = 72.0
"""GDPR art. 33(1): 72 hours to the authority; Singapore PDPA s 26D(1): 3 calendar days to the PDPC."""


def breach_notice_hours(sentence: str) -> float | None:
    """The longest notification period in ``sentence``, in hours (business days count 7/5 of a day)."""
    longest: float | None = None
    for m in _DURATION.finditer(sentence):
        n = m.group(1).lower()
        count = float(_NUMBER_WORDS[n]) if n in _NUMBER_WORDS else float(n)
        unit = m.group(3).lower().rstrip("s")
        hours = count * _UNIT_HOURS[unit]
        if m.group(2) and m.group(2).strip().lower() in ("business", "working"):
            hours *= 7 / 5
        longest = hours if longest is None else max(longest, hours)
    return longest


_NO_DEADLINE = re.compile(
    r"\b(?:no|not|never)\b[^.;]{0,40}\b(?:obliged|required|obligation|need)\b|\bat (?:its|our) (?:sole "
    r")?discretion\b",
    _I,
)


def _breach_late(sentence: str, m: re.Match[str]) -> bool:
    if _NO_DEADLINE.search(sentence):
        return True
    hours = breach_notice_hours(sentence)
    return hours is not None and hours > BREACH_LIMIT_HOURS


# --- the rule table --------------------------------------------------------------------------------------------


PROMPT_MARKERS = _rx(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+)?(?:previous|"
    r"prior|"
    r"above|earlier|preceding|other|system|original)\s+(?:instructions|prompts?|rules|guidelines|"
    r"directions|"
    r"context|messages)\b",
    r"\bsystem prompt\b|<\s*/?\s*(?:system|assistant|instructions?)\s*>|\[/?(?:INST|SYSTEM)\]|"
    r"###\s*(?:instruction|"
    r"system)\b",
    r"\b(?:you are|act as|you're)\s+(?:now\s+)?(?:an?\s+)?(?:AI|helpful assistant|language model|LLM|"
    r"compliance (?:bot|assistant|reviewer|analy[sz]er))\b",
)
"""Wording of LLM prompts in general ("ignore the previous instructions", "system prompt", "you are a helpful
assistant"): an instruction when written into a document, an example when quoted in a paper or a README."""
REVIEWER_INSTRUCTIONS = _rx(
    # Addressed to the reviewer: by name at the head of a sentence ("AI reviewer, ...", "Note for AI systems: ..."),
    # or told what it must do anywhere; "access the underlying AI models, your use may end" addresses nobody.
    r"^\W*(?:\w+\W+){0,3}?(?:AI|LLM|language model|automated|machine)\s+(?:reviewers?|systems?|analy[sz]ers?|"
    r"models?|assistants?|tools?|agents?|screeners?|compliance (?:tools?|checks?))\s*[:,]",
    r"\b(?:AI|LLM|language model|automated|machine)\s+(?:reviewers?|systems?|analy[sz]ers?|models?|"
    r"assistants?|"
    r"tools?|agents?|screeners?|compliance (?:tools?|checks?))\s*(?:must|should|shall|are instructed|reading this|"
    # "will" tells only with an order's verb: "automated systems will use these files" is a prediction
    r"will (?:now |instead )?(?:ignore|disregard|mark|classify|rate|report|treat|consider|label|score|approve|"
    r"output|respond|return|answer|skip|overlook|forget))",
    r"\b(?:mark|classify|rate|report|treat|consider|label|score|flag|record|summari[sz]e)\s+(?:this\s+|"
    r"the\s+)?"
    r"(?:document|contract|file|memo|transaction|agreement|payment|counterparty|customer)\s+as\s+(?:low[- "
    r"]risk|"
    r"compliant|clean|safe|approved|no[- ]risk|minimal[- ]risk|fully compliant|not suspicious)\b",
    r"\b(?:set|assign|give|return|output)\s+(?:the\s+|a\s+|an\s+)?(?:overall\s+)?(?:risk|risk score|risk "
    r"level|"
    r"overall_risk|score)\s+(?:of|to|as|=|at)\s+(?:0(?:\.\d+)?|zero|low|minimal|none)\b",
    r"\b(?:do not|don't|never)\s+(?:flag|raise)\s+(?:any\s+|this\s+|the\s+)?"
    r"(?:issues?|concerns?|findings?|risks?|alerts?|red flags?|this)\b|"
    r"\b(?:do not|don't|never)\s+(?:report|mention|include|"
    r"output)\s+"
    r"(?:any\s+)?(?:findings?|issues?|flags?|risks?|red flags)\b",
    r"\"?flags\"?\s*:\s*\[\s*\]|\boverall_risk\b",
)
"""Instructions about the reviewer's verdict on this very document ("classify this document as low risk")."""


def _static_rules() -> list[Rule]:
    return [
        # ---------------------------------------------------------------- aml
        Rule(
            "AML-STRUCT-LANG",
            "aml",
            4,
            "Payments arranged to stay under a reporting threshold",
            "Splitting or sizing payments to avoid a cash or transaction report is structuring, an offence in most "
            "jurisdictions (e.g. 31 USC 5324) and a core money-laundering red flag.",
            "Do not process as instructed. Aggregate the linked payments, escalate to the MLRO and consider a "
            "suspicious transaction report.",
            _rx(
                r"\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several|multiple|"
                r"numerous)\s+(?:money "
                r"orders|cashier'?s (?:cheques|checks)|traveller'?s (?:cheques|checks)|prepaid cards|bank drafts)\b",
                r"\b(?:cash|money orders?|cheques?|deposits?|withdrawals?)\b[^.;]{0,60}\b(?:at|from|in) (?:different|"
                r"several|"
                r"multiple|various|separate) (?:branches|post offices|locations|banks|outlets|ATMs|cashiers)\b",
                r"\bjust (?:under|below|short of)\b[^.;]{0,15}(?:USD|US\$|EUR|SGD|S\$|AUD|CAD|HKD|\$|€)\s?\d",
                r"\bso (?:that )?no (?:declaration|report|CTR|currency transaction report|cash transaction report) "
                r"(?:is|will be|"
                r"needs to be) (?:needed|required|filed|made|triggered)\b",
                r"\b(?:split|break|divide|spread|structure)\w*\b[^.;]{0,60}\b(?:into|across|over)\b[^.;]{0,40}"
                r"\b(?:smaller|several|multiple|separate|two|three|four|five)\b[^.;]{0,40}"
                r"\b(?:payments?|deposits?|transfers?|amounts?|tranches?|instalments?|installments?|withdrawals?)",
                r"\b(?:keep|kept|stay|remain)\w*\b[^.;]{0,50}\b(?:below|under|beneath|less than)\b[^.;]{0,30}"
                r"\b(?:the )?(?:reporting|report|ctr|declaration|threshold|limit)",
                r"\b(?:avoid|evade|circumvent|not trigger|without triggering|so as not to trigger|stay "
                r"off)\w*\b[^.;]{0,40}"
                r"\b(?:currency transaction report|ctr|cash transaction report|reporting (?:threshold|requirement|"
                r"obligation)s?|"
                r"the threshold|declaration)",
                r"\bso (?:that )?(?:the bank|it|they|we|nobody|no one|the authorities)\b[^.;]{0,20}\b(?:does|do|will|"
                r"would|"
                r"need)\s*(?:not|n't)\s+(?:have to\s+)?(?:file|report|flag|notice|trigger|declare)",
            ),
            requires_any=_rx(
                r"\b(?:cash|pay\w*|paid|deposit\w*|transfer\w*|wire[sd]?|amounts?|funds?|money|cheques?|checks|"
                r"withdraw\w*|remit\w*|couriers?|border|customs|currency|banknotes?|threshold|ctr|reporting)\b|"
                r"(?:USD|US\$|EUR|SGD|S\$|AUD|CAD|HKD|\$|€|£)\s?\d"
            ),
            negatable=False,
        ),
        Rule(
            "AML-CASH",
            "aml",
            3,
            "Large or unusual cash payment",
            "Cash breaks the audit trail that banks rely on to trace the origin of funds; large cash settlements of "
            "commercial obligations are a classic placement channel.",
            "Ask why cash is needed, require payment through a regulated bank account, and check whether a cash "
            "transaction report is due.",
            _rx(
                r"\b(?:settl\w*|pay\w*|paid|purchas\w*|buy\w*)\b[^.;]{0,50}\b(?:in|by|with|"
                r"using)\s+(?:[\w-]+\s+){1,3}(?:and|or)\s+"
                r"cash\b",
                r"\b(?:gold bars|gold bullion|bullion|precious stones)\b[^.;]{0,40}\b(?:pay\w*|paid|settl\w*|"
                r"purchas\w*|buy\w*)\b",
                r"\b(?:pay\w*|paid|settl\w*|purchas\w*|buy\w*)\b[^.;]{0,40}\b(?:gold bars|gold bullion|bullion|"
                r"precious stones)\b",
                r"\b(?:USD|US\$|EUR|SGD|S\$|GBP|HKD|AUD|CAD|CHF|\$|€|£)\s?\d{1,3}(?:[,.]\d{3})+(?:\.\d{2})?\s+(?:in )?"
                r"(?:cash|banknotes|bank notes|bills)\b",
                r"\b(?:paid|pay|payable|payment|settle\w*|deliver\w*|deposit\w*|remit\w*|collect\w*|"
                r"tender\w*)\b[^.;]{0,50}"
                r"\b(?:in|by|with|using)\s+(?:physical\s+|hard\s+|bank\s*notes?\s+or\s+)?cash\b",
                r"\bcash[- ](?:only|payment|settlement|deposit|delivery)s?\b",
                r"\b(?:suitcase|bag|envelope|briefcase)s? (?:of|full of|with) (?:cash|banknotes|bank notes|money)\b",
                r"\bbank ?notes\b[^.;]{0,40}\b(?:handed|delivered|collected|paid)\b",
                r"\b(?:banknotes|bank notes|cash|currency notes)\b[^.;]{0,30}\b(?:in|inside) (?:a|an|the) (?:\w+ "
                r")?(?:bag|"
                r"suitcase|envelope|briefcase|box|holdall|backpack)\b",
                r"\bhanded over\b[^.;]{0,20}\b(?:as|in) (?:cash|banknotes|bank notes)\b",
            ),
            excludes=_rx(
                r"\bcurrency transaction report\b|\bCTR\b|\bcash transaction report\b|\breport(?:ed)? to (?:FinCEN|the "
                r"FIU|STRO|AUSTRAC|FINTRAC)\b",
                r"\bcash (?:flow|equivalents?|management|pooling|balance)s?\b|\bpetty cash\b|\bcash ?back\b|"
                r"\bcashless\b",
            ),
        ),
        Rule(
            "AML-SECRECY",
            "aml",
            3,
            "Secrecy or pressure around a payment",
            "Requests to keep a payment confidential from the bank, auditors or compliance, or to rush it through "
            "without questions, are typical of fraud and laundering schemes and of payment-diversion scams.",
            "Verify the instruction through an independent channel, do not skip approvals, and escalate to compliance.",
            _rx(
                r"\b(?:backdat\w+|falsif\w+|doctor(?:ed|ing)?)\b[^.;]{0,20}\b(?:the )?(?:invoices?|receipts?|records?|"
                r"books|"
                r"ledgers?|contracts?|statements?)\b",
                r"\bnot (?:to )?(?:record|book|enter|register|log)\b[^.;]{0,30}\b(?:the )?(?:cash|payments?|receipts?|"
                r"transactions?|transfers?)\b",
                r"\b(?:keep|kept|remain)\w*\b[^.;]{0,40}\b(?:strictly )?(?:confidential|secret|quiet|off the books|"
                r"between us)\b"
                r"[^.;]{0,60}\b(?:bank|compliance|auditors?|finance|regulators?|anyone|accounting|payment|transfer|"
                r"wire)",
                r"\b(?:do not|don't|never)\s+(?:tell|inform|notify|copy|involve|alert)\s+(?:the\s+)?(?:bank|compliance|"
                r"auditors?|"
                r"finance|legal|regulators?|anyone|anybody|management)\b",
                r"\boff[- ]the[- ]books\b",
                r"\burgent(?:ly)?\b[^.;]{0,40}\b(?:wire|transfer|payment|remit)\w*\b[^.;]{0,60}\b(?:no questions|"
                r"without "
                r"(?:the usual |any )?(?:checks|approval|verification|questions)|before (?:compliance|the bank|"
                r"anyone))",
                r"\bno[- ]questions[- ]asked\b",
            ),
            negatable=False,
            check=_not_a_refund,
        ),
        Rule(
            "AML-THIRD-PARTY",
            "aml",
            3,
            "Payment to or from an unrelated third party",
            "Payments routed to an account that does not belong to the contracting party hide who really receives "
            "the money and are a common layering and fraud technique.",
            "Pay only to an account in the counterparty's own name at a bank in its country of business; obtain "
            "and verify a written reason for any exception.",
            _rx(
                r"\b(?:hawala|hundi|fei ch\'ien|underground bank\w*|informal value transfer|unlicensed (?:money )?"
                r"(?:remitt\w+|transmitter|money changer|exchange house))\b",
                r"\bpay\w*\b[^.;]{0,100}\b(?:not (?:a )?party to|unrelated to|no connection (?:to|with)) (?:the|this|"
                r"our) "
                r"(?:sale|contract|agreement|transaction|deal|purchase)\b",
                rf"\b{_PAY}\b[^.;]{{0,40}}\b(?:to|into|via|through|from)\b[^.;]{{0,20}}\b(?:a |an |the )?"
                r"(?:third[- ]party|unrelated|different|another company's|personal|private|nominee|numbered)\s+"
                r"(?:account|company|entity|beneficiary|bank account|individual)s?",
                r"\baccount (?:held )?in the name of (?:a |an )?(?:third party|different (?:company|person|entity)|"
                r"unrelated|another (?:company|person|entity))",
                rf"\b(?:split|divide)\w*\b[^.;]{{0,30}}\b{_PAY}\b[^.;]{{0,30}}\b(?:between|across|among|"
                rf"to)\b[^.;]{{0,20}}"
                r"\b(?:several|multiple|different|two|three|four)\s+(?:accounts|beneficiaries|entities|companies|"
                r"recipients)",
                r"\bon behalf of (?:an? )?(?:undisclosed|unnamed|unidentified) (?:third )?part(?:y|ies)\b",
                r"\b(?:his|her|their|its|the (?:director|owner|manager|beneficiary)'s) (?:cousin|brother|sister|wife|"
                r"husband|spouse|friend|relative|son|daughter|partner|uncle|nephew)'s (?:personal )?(?:bank )?"
                r"(?:account|company)\b",
            ),
        ),
        Rule(
            "AML-LAYERING",
            "aml",
            4,
            "Layering: funds moved rapidly through several accounts or jurisdictions",
            "Moving funds quickly through chains of accounts, entities or countries, or in and out on the same day, "
            "has no business purpose other than obscuring their origin.",
            "Map the full flow of funds, ask for the commercial rationale of each leg, and escalate to the MLRO.",
            _rx(
                r"\b(?:arriv\w+|received?|credited|come in|comes in|paid in)\b[^.;]{0,80}\b(?:leave|leaves|left|sent "
                r"(?:out|on)|"
                r"transferred (?:out|on)|moved (?:out|on)|paid out|wired out|forwarded)\b[^.;]{0,60}\b(?:the same day|"
                r"within "
                r"(?:hours|\d+ hours|a day|minutes))",
                r"\b(?:series|chain|succession|number|sequence) of (?:rapid |quick |successive |back-to-back )?"
                r"(?:transfers|wires|payments|transactions|movements)\b[^.;]{0,60}\b(?:through|between|across|via)\b"
                r"[^.;]{0,30}\b(?:several|multiple|various|different|\w+ intermediary)",
                # "layer" as a verb: the noun ("the social layer", "a transport layer") is not layering.
                r"\b(?:layer(?:ed|ing)|layers? (?:the|their|these|its))\b[^.;]{0,30}\b(?:funds|payments|transactions|"
                r"money|proceeds)\b",
                r"\b(?:funds|money|proceeds)\b[^.;]{0,40}\blayer(?:ed|ing)\b",
                r"\bback[- ]to[- ]back (?:loans?|transfers?|wires?)\b",
                r"\bround[- ]trip(?:ping|ped)?\b[^.;]{0,40}\b(?:funds|money|transactions|payments)\b",
                r"\b(?:immediately|same[- ]day|within (?:the same day|hours))\b[^.;]{0,30}\b(?:transferred|wired|moved|"
                r"forwarded|sent) (?:out|on|onward|back)\b",
                r"\b(?:in and out|through) (?:the|our|its) account(?:s)? (?:on )?the same day\b",
            ),
        ),
        Rule(
            "AML-TBML",
            "aml",
            4,
            "Trade-based laundering: invoice value does not match the goods",
            "Over- or under-invoicing, duplicate invoices and phantom shipments move value across borders disguised "
            "as trade (FATF trade-based money laundering typologies).",
            "Compare invoice prices with market prices and shipping documents; refuse invoices that misstate "
            "value, quantity or goods.",
            _rx(
                r"\binvoice\w*\b[^.;]{0,60}\b(?:although|while|whereas|but|even though|when)\b[^.;]{0,40}"
                r"\b(?:worth|valued at|cost(?:s|ing)?|market (?:price|value)|actual (?:price|value))\b",
                r"\b(?:over|under)[- ]?invoic\w+",
                r"\b(?:inflate|inflated|inflating|deflate|deflated|understate|understated|overstate|"
                r"overstated)\b[^.;]{0,30}"
                r"\b(?:invoice|invoiced|price|value|declared value)s?",
                r"\binvoice\w*\b[^.;]{0,40}\b(?:above|below|higher than|lower than|more than|less than|double|twice|"
                r"half)\b"
                r"[^.;]{0,20}\b(?:the )?(?:market|actual|real|true|agreed|contract) (?:price|value|amount)",
                r"\b(?:second|separate|duplicate|additional|parallel) (?:set of )?invoices?\b[^.;]{0,60}\b(?:same|for "
                r"the)\b"
                r"[^.;]{0,20}\b(?:shipment|goods|consignment|delivery)",
                r"\bphantom (?:shipment|goods|cargo|consignment)s?\b",
                r"\b(?:mis)?declare\w*\b[^.;]{0,20}\b(?:a |an )?(?:lower|higher|false|different) (?:value|price|"
                r"description)\b",
            ),
        ),
        Rule(
            "AML-CRYPTO-MIXER",
            "aml",
            4,
            "Crypto mixer or privacy coin",
            "Mixers and privacy coins break the traceability of virtual-asset transfers; several mixers are "
            "themselves sanctioned (e.g. Tornado Cash was, Blender.io and Sinbad are), and FATF treats their use as "
            "a high-risk indicator.",
            "Do not accept or send funds through mixers or privacy coins; obtain the on-chain history of the "
            "source wallet and escalate.",
            _rx(
                r"\b(?:tornado[\s.]?cash|blender\.io|sinbad\.io|chipmixer|wasabi wallet|samourai(?: wallet)?|coin "
                r"?join|"
                r"whirlpool mix\w*)\b",
                r"\b(?:monero|zcash|xmr|zec|dash privatesend|beam coin)\b",
                r"\b(?:crypto\w*|bitcoin|btc|eth|ether|usdt|tokens?|coins?|wallets?|blockchain|virtual "
                r"assets?)\b[^.;]{0,60}"
                r"\b(?:mixer|mixing service|tumbler|tumbling|mixed)\b",
                r"\b(?:mixer|mixing service|tumbler|tumbling)\b[^.;]{0,60}\b(?:crypto\w*|bitcoin|btc|eth|usdt|tokens?|"
                r"coins?|wallets?|blockchain)\b",
            ),
        ),
        Rule(
            "AML-BYPASS",
            "aml",
            4,
            "Request to bypass controls",
            "Asking staff to skip KYC, screening, approvals or reporting removes the controls the firm relies on "
            "to meet its AML obligations; it often accompanies fraud or laundering.",
            "Refuse the request, complete the normal controls, and report the request to compliance.",
            _rx(
                r"\b(?:bypass|circumvent|skip|get around|override|waive|disable|turn off|work around|"
                r"sidestep)\w*\b[^.;]{0,25}"
                r"\b(?:the |our |your |any |all |usual |normal |standard )*(?:kyc|aml|compliance|sanctions? screening|"
                r"screening|due diligence|cdd|edd|controls?|checks|verification|approvals?|four[- ]eyes|dual "
                r"(?:authori[sz]ation|signature|control)|transaction monitoring|reporting)\b",
                rf"\b(?:process|release|execute|push|approve|send)\w*\b[^.;]{{0,30}}\b{_PAY}?[^.;]{{0,20}}\bwithout\b"
                r"[^.;]{0,15}\b(?:the )?(?:usual |normal |standard |any )?(?:kyc|checks|screening|approvals?|"
                r"verification|due diligence|compliance review)\b",
                r"\b(?:kyc|aml|compliance|sanctions screening|screening|due diligence|cdd|controls?|checks|"
                r"verification|"
                r"approvals?|sign-?offs?|reviews?)\b[^.;]{0,25}\b(?:can|could|may|will|should|would|is|are) be "
                r"(?:waived|skipped|bypassed|overridden|ignored|dispensed with|switched off|disabled)\b",
            ),
            check=_bypasses_a_control,
        ),
        # ---------------------------------------------------------------- kyc_cdd
        Rule(
            "KYC-UBO",
            "kyc_cdd",
            4,
            "Beneficial owner undisclosed or hidden behind nominees",
            "Without knowing the natural persons who own or control a customer, a firm cannot screen them for "
            "sanctions or PEP status; FATF Recommendation 10 and 24 require beneficial ownership to be identified "
            "and verified.",
            "Obtain and verify the ultimate beneficial owners (25 % or more, or control by other means) before "
            "onboarding; treat refusal as grounds to decline.",
            _rx(
                r"\b(?:chain|layers?|series|web|maze|network) of\b[^.]{0,40}\b(?:companies|entities|trusts|vehicles|"
                r"foundations)\b[^.]{0,60}\b(?:unknown|undisclosed|not (?:identified|known|disclosed)|opaque|"
                r"unclear)\b",
                r"\b(?:beneficial owner|UBO)s?\b[^.;]{0,30}\b(?:field |section |box |details )?(?:is |are |was |were "
                r")?(?:left )?"
                r"(?:blank|empty|missing|not (?:completed|filled(?: in)?))\b",
                r"\b(?:ultimate )?beneficial own(?:er|ers|ership)\b[^.;]{0,40}\b(?:not (?:be )?(?:disclosed|identified|"
                r"known|provided|revealed|verified)|undisclosed|unknown|withheld|confidential|anonymous|not available|"
                r"will not be (?:disclosed|shared|revealed))",
                r"\bUBOs?\b[^.;]{0,30}\b(?:not (?:disclosed|identified|known|provided)|undisclosed|unknown|withheld|"
                r"confidential|n/?a)\b",
                r"\b(?:declin\w+|refus\w+|unwilling|will not|does not wish|not prepared) to (?:disclose|identify|"
                r"reveal|"
                r"name|provide)\b[^.;]{0,30}\b(?:its |their |the )?(?:ultimate )?(?:beneficial owners?|ubos?|"
                r"shareholders?|"
                r"owners?|controllers?|ultimate parent|(?:individuals|persons|people|person|individual) who "
                r"(?:ultimately )?"
                r"(?:owns?|controls?))",
                r"\bnominee (?:shareholders?|directors?|owners?|arrangements?)\b",
                r"\b(?:undisclosed|unnamed|unknown|anonymous) (?:principal|owner|beneficiary|controller)s?\b",
                r"\bbearer shares?\b",
            ),
            negatable=False,
            excludes=_rx(
                r"\b(?:no|not|never|neither)\b[^.;]{0,25}\b(?:nominee|bearer shares?)\b",
                r"\bhas been (?:disclosed|identified|verified)\b|\bverified\b[^.;]{0,20}\bregist",
            ),
        ),
        Rule(
            "KYC-SHELL",
            "kyc_cdd",
            3,
            "Shell company with no real presence",
            "A company with no employees, premises or operations, often registered at a corporate-services "
            "address, can hide who is behind a transaction and is a recurring vehicle in laundering cases.",
            "Establish the company's real business, its owners and why it is used; decline if no economic "
            "substance can be shown.",
            _rx(
                r"\bno (?:employees|staff|operations|premises)\b[^.;]{0,60}\b(?:registered agent|corporate service "
                r"provider|nominee director|mail ?box|virtual office|P\.?O\.? box)\b",
                r"\bshell (?:company|companies|entity|entities|corporation|corporations|firm)\b",
                r"\b(?:letterbox|letter-box|brass[- ]plate) (?:company|companies|entity|entities)\b",
                r"\bno (?:physical|real|actual|operational) (?:presence|office|premises|operations|employees|staff|"
                r"business activity)\b",
                r"\bno (?:employees|staff)(?:,| or| and) (?:no )?(?:office|premises|operations)\b",
            ),
            excludes=_rx(
                r"\bRoyal Dutch Shell\b|\bShell (?:plc|Oil|Energy|Petroleum|International|station)\b", flags=0
            ),
        ),
        Rule(
            "KYC-PEP",
            "kyc_cdd",
            4,
            "Politically exposed person without enhanced due diligence",
            "PEPs and their relatives and close associates carry a higher risk of bribery and corruption; FATF "
            "Recommendation 12 requires senior-management approval, source-of-wealth checks and enhanced ongoing "
            "monitoring.",
            "Apply enhanced due diligence: senior management approval, source of wealth and funds established, "
            "enhanced monitoring; record the outcome.",
            _rx(
                r"\b(?:is|are|was|being|as) (?:a |an |the )?(?:politically exposed persons?|PEPs?|(?:close "
                r")?(?:relative|"
                r"associate|family member|spouse|son|daughter|brother|sister|nephew|niece|wife|husband) of (?:a |an |"
                r"the )?"
                r"(?:former )?(?:politically exposed person|PEP|(?:deputy )?minister|senator|(?:central bank "
                r")?governor|"
                r"mayor|judge|general|ambassador|member of parliament|head of state|president|senior (?:government |"
                r"public )?official))\b",
                r"\b(?:PEP|politically exposed person)(?:\s+status)?\s*[:\-]\s*(?:yes|y|confirmed|positive)\b",
                r"\b(?:minister|deputy minister|senator|governor|member of parliament|head of state|ambassador|judge|"
                r"general|director of the state)\b[^.;]{0,40}\b(?:is|as|will be|becomes?|remains?) (?:the |a |an )?"
                r"(?:sole |majority |ultimate |main |principal )?(?:beneficial owner|shareholder|director|customer|"
                r"client|"
                r"account holder|signatory)\b",
            ),
            excludes=_rx(
                r"\b(?:not|no|never)\b[^.;]{0,15}\b(?:a )?(?:politically exposed|PEP)\b",
                # The acronym alone is also Python's enhancement proposal: it needs a confirming context.
                r"^(?!.*\b(?:politically|customers?|clients?|minister|officials?|due diligence|EDD|screen\w*|"
                r"onboard\w*|beneficial|account holders?|relatives?|associates?|wealth|funds|bank\w*|sanction\w*|"
                r"public (?:function|office)|government|senator|governor|mayor|judge|ambassador|parliament|"
                r"directors?|shareholders?|owners?|signator(?:y|ies)|counterpart(?:y|ies)|agents?|intermediar\w*)\b)"
                r"(?=.*\bPEPs?\b)",
            ),
            negatable=False,
            safeguards=_rx(
                r"\benhanced due diligence\b|\bEDD\b|\bsenior management approv\w+\b|\benhanced (?:ongoing "
                r")?monitoring\b"
            ),
        ),
        Rule(
            "KYC-SOF",
            "kyc_cdd",
            3,
            "Source of funds or wealth not verified",
            "Unexplained funds are the main way criminal proceeds enter the financial system; due diligence must "
            "establish where the money comes from, more so for large or high-risk business.",
            "Obtain documentary evidence of source of funds (and of wealth for high-risk customers) before the "
            "transaction; escalate if it cannot be explained.",
            _rx(
                r"\bsource (?:of|for) (?:the )?(?:funds|wealth)\b[^.;]{0,40}\b(?:not (?:been )?(?:verified|known|"
                r"documented|"
                r"explained|provided|disclosed|established|evidenced)|unverified|unknown|unexplained|undocumented|"
                r"undisclosed|pending|declined|refused|n/?a|none provided)\b",
                r"\b(?:unverified|unknown|unexplained|undocumented|undisclosed|unclear) (?:source|origin)s? of (?:the "
                r")?"
                r"(?:funds|wealth|money)\b",
                r"\b(?:(?:declin\w+|refus\w+|unwilling|unable|failed) to|could not|cannot|can't|would not|will not|did "
                r"not)"
                r" (?:explain|provide|disclose|document|evidence|justify|confirm)\b[^.;]{0,20}\b(?:the )?(?:source|"
                r"origin)s? of\b",
                r"\b(?:no|without) (?:evidence|documentation|proof|explanation|supporting documents?) (?:of|for|about) "
                r"(?:the )?(?:source|origin) of (?:the )?(?:funds|wealth)\b",
            ),
            negatable=False,
        ),
        Rule(
            "KYC-ID",
            "kyc_cdd",
            3,
            "Customer identity or due diligence not completed",
            "Business started before the customer's identity is verified breaks the basic CDD obligation "
            "(FATF Recommendation 10) and leaves sanctions and PEP screening without a subject.",
            "Complete identification and verification, and screening, before the relationship starts or funds move.",
            _rx(
                r"\b(?:kyc|cdd|due diligence|periodic review|refresh|customer review)\w*\b[^.;]{0,20}\b(?:overdue|"
                r"expired|"
                r"lapsed|out of date|outdated)\b",
                r"\b(?:have|has|had)\s+not\s+(?:yet\s+)?(?:obtained|received|verified|collected|"
                r"seen)\b[^.;]{0,40}\b(?:proof "
                r"of (?:identity|address)|passports?|identity documents?|ID|identification)\b",
                r"\b(?:no|without)\s+(?:proof of (?:identity|address)|identity documents?|(?:a )?copy of the "
                r"passport)\b",
                r"\b(?:identity|identification|id documents?|passport|kyc|cdd|customer due diligence)\b[^.;]{0,30}"
                r"\b(?:not (?:yet )?(?:been )?(?:verified|completed|checked|performed|done|obtained)|unverified|waived|"
                r"skipped|outstanding|incomplete)\b",
                r"\b(?:verification|kyc|cdd|due diligence)\s*(?:status)?\s*[:\-]\s*(?:pending|waived|not (?:done|"
                r"performed|"
                r"completed)|incomplete|outstanding)\b",
            ),
            negatable=False,
            excludes=_rx(r"\bbefore\b[^.;]{0,40}\b(?:verified|completed)\b|\buntil\b"),
        ),
        # ---------------------------------------------------------------- sanctions (data-driven ones are added later)
        Rule(
            "SAN-EVASION",
            "sanctions",
            5,
            "Sanctions evasion: concealing destination, origin or end user",
            "Asking to leave out or change the destination, origin or end user of goods is how sanctioned trade is "
            "disguised; knowingly helping is itself a sanctions breach (OFAC and OFSI enforcement cases, FATF "
            "proliferation-financing guidance).",
            "Stop the transaction, do not follow the concealment request, preserve the records and escalate to "
            "the sanctions officer.",
            _rx(
                r"\b(?:re-?export|ship|route|transship|deliver|sell|supply)\w*\b[^.;]{0,80}\bso (?:that )?(?:the "
                r")?(?:\w+ ){0,2}"
                r"(?:does not|doesn't|will not|won't|cannot|can't|do not|don't) (?:see|know|notice|find out|learn|"
                r"realise|"
                r"realize)\b",
                r"\b(?:describe|declare|state|show|list|record|label|enter)\w*\b[^.;]{0,20}\b(?:the )?(?:final |"
                r"real |true |actual )?(?:destination|origin|end[- ]?user|consignee)s?\b[^.;]{0,20}\bonly as\b",
                r"\b(?:do not|don't|never|must not|should not|avoid)\s+(?:mention|state|show|disclose|reference|name|"
                r"write|"
                r"include|declare|reveal)\w*\b[^.;]{0,40}\b(?:final|end|ultimate|real|true|actual)?\s*(?:destination|"
                r"end[- ]?"
                r"users?|origin|country|consignee|port of (?:loading|discharge))",
                r"\b(?:to|so as to|in order to) (?:avoid|evade|circumvent|get around|bypass) (?:the )?(?:sanctions|"
                r"embargo|"
                r"export controls?|ofac|screening|asset freeze)",
                r"\b(?:certificates? of origin|bills? of lading|end[- ]user certificates?|invoices?|shipping "
                r"documents?)\b"
                r"[^.;]{0,30}\b(?:will|shall|should|must|can|to) be (?:changed|altered|amended|modified|re-?issued|"
                r"backdated)\b[^.;]{0,40}\b(?:show|state|read|indicate|instead)\b",
            ),
            negatable=False,
            excludes=_rx(
                r"\b(?:we|the (?:company|supplier|buyer|parties))\s+(?:do not|does not|never|shall not|will not)\s+"
                r"(?:engage|participate|conduct|permit|allow)\b|\bprohibit\w*\b"
            ),
        ),
        Rule(
            "SAN-DECEPTIVE-SHIPPING",
            "sanctions",
            4,
            "Deceptive shipping practice",
            "Ship-to-ship transfers, disabled AIS transponders, falsified cargo papers and transshipment to hide "
            "the real destination are the deceptive practices listed in OFAC's and the UK's maritime sanctions "
            "advisories.",
            "Ask for the voyage history and AIS data, screen the vessels and parties, and escalate before "
            "financing, insuring or carrying the cargo.",
            _rx(
                r"\bship[- ]to[- ]ship (?:transfers?|operations?|STS)\b",
                r"\b(?:switch\w*|turn\w*|shut\w*)\s+off\b[^.;]{0,15}\b(?:the )?(?:AIS|transponder)s?\b",
                r"\b(?:AIS|transponder)s?\b[^.;]{0,20}\b(?:switched off|turned off|disabled|dark|gaps?)\b",
                r"\b(?:re-?label|rebrand|re-?flag|relabel|re-?export|re-?route)\w*\b[^.;]{0,60}\b(?:to (?:hide|conceal|"
                r"disguise|"
                r"avoid|evade)|so (?:that )?(?:it|the goods|the cargo) (?:does not|doesn't|will not) (?:appear|show))",
                r"\b(?:false|fake|forged|altered|amended|backdated)\s+(?:bill of lading|certificate of origin|end[- "
                r"]user "
                r"certificate|shipping documents?)\b",
                r"\btrans-?ship\w*\b[^.;]{0,80}\b(?:hide|conceal|disguise|so that|not (?:appear|show)|avoid|evade|"
                r"final destination|real destination|true destination|re-?export)\b",
            ),
        ),
        # ---------------------------------------------------------------- bribery_corruption
        Rule(
            "ABC-FACILITATION",
            "bribery_corruption",
            4,
            "Facilitation payment to an official",
            "Small 'grease' payments to speed up routine government action are bribes under the UK Bribery Act "
            "and most local laws (the US FCPA exception is narrow), and expose the company to prosecution.",
            "Refuse the payment; pay only official published fees against an official receipt, and report the "
            "request to compliance.",
            _rx(
                r"\bfacilitation (?:payments?|fees?|money)\b",
                r"\b(?:grease|speed|tea) (?:payments?|money)\b",
                r"\b(?:small |unofficial |informal |cash |extra |personal )(?:payments?|fees?|tips?|"
                r"gifts?)\b[^.;]{0,30}"
                r"\b(?:to|for) (?:the )?(?:customs|port|tax|police|immigration|licensing|border|government|public) "
                r"(?:officials?|officers?|inspectors?|authorit(?:y|ies)|clerks?)\b",
                r"\b(?:expedite|speed up|accelerate|fast[- ]track)\w*\b[^.;]{0,40}\b(?:customs|permit|licen[cs]e|"
                r"clearance|"
                r"inspection|approval|visa)\w*\b[^.;]{0,40}\b(?:cash|unofficial|informal|personal|small) (?:payment|"
                r"fee|gift)s?\b",
                r"\b(?:cash|extra|additional|unofficial|informal)\b[^.;]{0,40}\bto (?:clear|release|pass|"
                r"get)\b[^.;]{0,40}"
                r"\bwithout (?:an? )?(?:inspection|checks?|examination|paperwork)\b",
            ),
        ),
        Rule(
            "ABC-OFFICIAL",
            "bribery_corruption",
            4,
            "Payment, fee or gift to a public official or their relatives",
            "Anything of value given to a public official, directly or through a relative, in connection with a "
            "decision (a tender, a licence, a permit) is a bribe under the FCPA, the UK Bribery Act and Singapore's "
            "Prevention of Corruption Act.",
            "Stop the payment; have legal review the arrangement, the recipient's link to the official and the "
            "decision involved.",
            _rx(
                r"\b(?:set aside|earmark\w*|reserve[sd]?|allocat\w+|budget\w*)\b[^.;]{0,40}\b(?:for|to) (?:the "
                r")?(?:members "
                r"of the )?(?:evaluation|tender|procurement|selection|award|licensing|bid) (?:committee|panel|board|"
                r"officials?|"
                r"officers?)\b",
                r"\b(?:reimburse|compensate|tip|reward|thank)\w*\b[^.;]{0,20}\b(?:the |a |an )?(?:\w+ )?(?:official|"
                r"officer|"
                r"inspector|minister|mayor|judge|regulator)s?\b",
                r"\b(?:minister|official|officer|mayor|governor|judge|inspector|regulator|president)(?:'s|"
                r"s')\s+(?:\w+\s+)?"
                r"(?:relative|family member|son|daughter|wife|husband|spouse|brother|sister|cousin|nephew|niece|"
                r"in-law)s?\b"
                r"[^.;]{0,60}\b(?:join|hire|hired|employ\w*|consult\w*|contract\w*|fee|pay\w*|paid|shareholder|agent|"
                r"commission|concession|tender|licen[cs]e|permit|internship)\b",
                r"\b(?:pay|paid|cover\w*|fund\w*|sponsor\w*|book\w*|arrange\w*)\b[^.;]{0,20}\b(?:the |a )?(?:\w+ )?"
                r"(?:minister|official|officer|mayor|governor|judge|inspector|regulator|procurement officer)(?:'s|"
                r"s')\s+"
                r"(?:\w+\s+)?(?:holiday|vacation|travel|trip|flights?|tuition|school fees|wedding|medical bills?|rent|"
                r"car|"
                r"watch|hotel|expenses|shopping)\b",
                r"\b(?:fee|commission|payment|retainer)s?\b[^.;]{0,80}\bintroduc\w+\b[^.;]{0,30}\b(?:minist\w+|"
                r"officials?|government|regulators?|authorit(?:y|ies)|the (?:mayor|governor|president))\b",
                r"\bsuccess fees?\b[^.;]{0,80}\b(?:officials?|minist(?:er|ry)|government|tender|contract award|award "
                r"of the|"
                r"permit|licen[cs]e|concession|public|regulator)\b",
                r"\b(?:officials?|minist(?:er|ry)|government|tender|permit|licen[cs]e|"
                r"concession)\b[^.;]{0,60}\bsuccess fees?\b",
                r"\b(?:gifts?|hospitality|payments?|donations?|scholarships?|jobs?|employment|internships?|consultancy "
                r"fees?|"
                r"commissions?|travel|watch|car)\b[^.;]{0,30}\b(?:to|for)\b (?:the |a |an )?(?:minister|official|"
                r"public "
                r"official|government official|officer|mayor|governor|judge|inspector|procurement officer|customs "
                r"officer|"
                r"tender committee|evaluation committee)(?:'s|s)?\b",
                r"\b(?:relative|family member|son|daughter|wife|husband|spouse|brother|sister|cousin|nephew|niece|"
                r"in-law)s? "
                r"of (?:a |an |the )?(?:government |public |senior |state |procurement |customs )?(?:official|minister|"
                r"officer|mayor|governor|judge|inspector|committee member)\b",
            ),
            excludes=_rx(r"\b(?:official (?:receipt|fee|tariff|published fee)s?)\b"),
        ),
        Rule(
            "ABC-AGENT",
            "bribery_corruption",
            4,
            "Agent or consultant commission without services or documentation",
            "Commissions to intermediaries with no defined services, no invoices or reports, or paid offshore are "
            "the most common route for bribes in enforcement cases (FCPA Resource Guide, third-party red flags).",
            "Require a written contract with defined services, due diligence on the agent, invoices and activity "
            "reports, and payment to the agent's own account in its country.",
            _rx(
                r"\b(?:agent|consultant|intermediary|introducer|middleman|finder|adviser|advisor|representative)s?\b"
                r"[^.;]{0,40}\b(?:paid|receive|get|earn|entitled to)\w*\b[^.;]{0,20}\b\d{1,2}(?:\.\d+)?\s?%",
                r"\b(?:agent|consultant|intermediary|introducer|middleman|finder|adviser|advisor|representative)s?\b"
                r"[^.;]{0,120}\b(?:commission|fee|retainer|success fee|remuneration)s?\b",
                r"\b(?:consulting|consultancy|introduc\w+|advisory|finder's|brokerage) (?:fee|commission|"
                r"retainer)s?\b",
                r"\b(?:commission|fee|retainer|success fee|remuneration)s?\b[^.;]{0,120}\b(?:agent|consultant|"
                r"intermediary|"
                r"introducer|middleman|finder|adviser|advisor|representative)s?\b",
            ),
            requires_any=_rx(
                r"\b(?:no|without|not required to (?:provide|submit|produce|keep)|need not (?:provide|"
                r"submit))\b[^.;]{0,30}"
                r"\b(?:invoices?|documentation|documents|reports?|timesheets?|receipts?|deliverables|description of "
                r"(?:the )?services|written (?:contract|agreement)|contract|services (?:are|will be) (?:required|"
                r"rendered))\b",
                r"\bno (?:specific |defined |actual )?services\b",
                r"(?<!not )(?<!never )\b(?:paid|payable|transferred)\b[^.;]{0,30}\b(?:in cash|to (?:an? )?(?:offshore|"
                r"personal|numbered|third[- ]party) account)\b",
                r"\bregardless of (?:any )?(?:services|work|activity)\b",
            ),
            negatable=False,
            excludes=_rx(
                r"\b(?:against|upon|on receipt of|subject to) (?:a )?(?:detailed |itemised |valid )?(?:invoice|"
                r"activity report|documentation)\b"
            ),
        ),
        # ---------------------------------------------------------------- cross_border
        # Transfers abroad are concept rules (concepts.XB-TRANSFER): the safeguard is read per destination.
        # ---------------------------------------------------------------- data_protection
        Rule(
            "DP-CONSENT",
            "data_protection",
            4,
            "Personal data used without consent or lawful basis",
            "GDPR art. 6 needs a lawful basis for every use of personal data and PDPA s 13 needs consent (or an "
            "exception); processing without one is unlawful and fineable.",
            "State the lawful basis for each purpose; obtain and record consent where it is the basis, and let "
            "individuals withdraw it.",
            _rx(
                r"\b(?:do not|don't|never|without)\s+(?:ask\w*|obtain\w*|seek\w*|request\w*|get\w*|"
                r"collect\w*)\s+(?:for\s+)?"
                r"(?:their\s+|the\s+|any\s+|prior\s+|explicit\s+)?consent\b",
                r"\bwithout (?:the |their |his |her |its |any |prior )?(?:(?:data subjects?|customers?|users?|"
                r"individuals?|"
                r"employees?|candidates?)'?s? )?(?:consent|knowledge|permission|authori[sz]ation|opt[- ]in)\b",
                r"\b(?:consent|lawful basis|legal basis|opt[- ]in)\b[^.;]{0,30}\b(?:is|are|will be|shall be)\s+not\s+"
                r"(?:required|needed|necessary|sought|obtained|requested)\b",
                r"\b(?:no|not)\s+(?:need|needed|required|requirement|necessary)\b[^.;]{0,20}\b(?:to (?:obtain|seek|ask "
                r"for) )?"
                r"(?:consent|opt[- ]in|a lawful basis|a legal basis)\b",
                r"\b(?:opt[- ]out|withdraw\w* (?:of )?consent)\b[^.;]{0,20}\b(?:is|are|will be)\s+not\s+(?:possible|"
                r"available|permitted|allowed|accepted)\b",
                r"\bdeemed to (?:have )?consent\w*\b[^.;]{0,40}\b(?:by|through) (?:visiting|using|browsing|"
                r"accessing)\b",
            ),
            requires_any=_rx(
                r"\b(?:personal|customer|client|user|employee|patient|candidate|member|contact)s?'? (?:data|"
                r"information|"
                r"details|records|lists?|e-?mails?|profiles?)\b|\bdata\b|\bprocess\w*|\bcollect\w*|\bmarketing\b|"
                r"\be-?mail addresses\b|\bnewsletters?\b|\bmailing lists?\b|\bcontact details\b|"
                r"\bshare\w*"
            ),
            negatable=False,
            excludes=_rx(r"\b(?:will|shall|must|may)\s+not\b[^.;]{0,40}\bwithout\b[^.;]{0,30}\bconsent\b"),
        ),
        Rule(
            "DP-SALE",
            "data_protection",
            4,
            "Sale or sharing of personal data with third parties",
            "Selling or sharing personal data with third parties for their own purposes needs a lawful basis, "
            "transparency and often consent (GDPR art. 6, 13, 21; PDPA s 13, 20); it is also a breach of trust "
            "customers notice.",
            "Stop the sale or sharing unless a lawful basis and notice exist; list recipients and purposes in the "
            "privacy notice and offer an opt-out.",
            _rx(
                r"\b(?:personal|customer|customers'|user|users'|member|client|contact)s?'? (?:data|information|details|"
                r"records|lists?|databases?|profiles?)\b[^.;]{0,30}\b(?:sold|rented|monetis\w+|monetiz\w+|auctioned)\b",
                r"\bpass(?:es|ed|ing)?(?: on)?\b[^.;]{0,20}\b(?:personal|customer|customers'|user|users'|member|client|"
                r"your|"
                r"contact)s?\'? (?:data|information|details|records|lists?)\b[^.;]{0,20}\bto\b[^.;]{0,15}\b(?:third[- "
                r"]part(?:y|ies)|"
                r"partners|advertis\w+|data brokers?|marketers|other companies)\b",
                r"\b(?:sell|sold|selling|sale of|rent|rented|renting|monetis\w+|monetiz\w+|trade|traded|license|"
                r"licence|"
                r"share|shared|sharing|disclose|disclosed|provide|provided|transfer\w*)\b[^.;]{0,30}\b(?:personal|"
                r"customer|"
                r"customers'|user|users'|member|client|employee|patient|contact)s?'? (?:data|information|details|"
                r"records|"
                r"lists?|databases?|profiles?)\b[^.;]{0,40}\b(?:to|with)\b[^.;]{0,15}\b(?:any )?(?:third[- ]part(?:y|"
                r"ies)|"
                r"advertis\w+|data brokers?|marketers|marketing (?:partners|companies|agencies)|partners for (?:their|"
                r"marketing)|other companies|affiliates for marketing|list brokers?)\b",
                r"\b(?:sell|sold|selling|sale of|monetis\w+|monetiz\w+)\b[^.;]{0,20}\b(?:personal|customer|user|member|"
                r"client|contact)s?'? (?:data|information|details|lists?|records)\b",
                r"\b(?:personal|customer|user|member|client|employee|patient|contact)s?'? (?:data|information|details|"
                r"records|lists?|databases?|profiles?)\b[^.;]{0,30}\b(?:sold|shared|disclosed|rented|provided|"
                r"transferred|"
                r"licensed|made available)\b[^.;]{0,10}\b(?:to|with)\b[^.;]{0,15}\b(?:any )?(?:third[- ]part(?:y|ies)|"
                r"advertis\w+|data brokers?|marketers|marketing (?:partners|companies|agencies)|other companies|list "
                r"brokers?)\b",
            ),
            excludes=_rx(
                r"\b(?:processors?|service providers?)\b[^.;]{0,60}\b(?:under|bound by|subject to) (?:a )?"
                r"(?:written )?(?:contract|agreement|data processing agreement|confidentiality)\b",
                # "The CCPA requires businesses to disclose whether they sell Personal Data": a question, no sale
                r"\bwhether (?:we|they|it|the business|a business|businesses) (?:sells?|shares?|rents?)\b",
            ),
            standard_form=True,
        ),
        Rule(
            "DP-RETENTION",
            "data_protection",
            3,
            "Personal data kept indefinitely",
            "Storage limitation (GDPR art. 5(1)(e), PDPA s 25) requires personal data to be deleted or anonymised "
            "once the purpose is served; indefinite retention multiplies breach impact.",
            "Set a retention period per data category tied to its purpose and legal requirements, and delete or "
            "anonymise afterwards.",
            _rx(
                r"\b(?:retain\w*|kept|keep\w*|store\w*|hold|held|archiv\w+|preserv\w+)\b[^.;]{0,50}\b(?:indefinitely|"
                r"forever|"
                r"permanently|in perpetuity|for an? (?:unlimited|indefinite|unspecified) (?:period|time|duration)|"
                + _NOT_INCLUDING
                + r"without (?:any )?(?:time )?limit\w*)\b",
                r"\bno (?:fixed |defined |set |maximum )?(?:retention (?:period|limit|schedule)|time limit on "
                r"(?:retention|"
                r"storage))\b",
                r"\b(?:will|shall|is|are)\s+never\s+be\s+(?:deleted|erased|destroyed|purged)\b",
                r"\bretention\s+(?:period)?\s*[:\-]\s*(?:indefinite|unlimited|permanent|forever|none)\b",
            ),
            requires_any=_rx(r"\b(?:data|information|records|details|files|profiles?|CVs?|documents|copies)\b"),
        ),
        Rule(
            "DP-BREACH",
            "data_protection",
            4,
            "Data breach notified later than the law allows",
            "GDPR art. 33 requires notifying the supervisory authority within 72 hours and Singapore's PDPA "
            "s 26D within 3 calendar days of assessing a notifiable breach; a processor must tell the controller "
            "without undue delay so it can meet that deadline.",
            "Shorten the notice period to no more than 72 hours (24-48 hours for a processor to the controller), "
            "without discretion.",
            _rx(r"\bnotif\w*|\binform\w*|\breport\w*|\btell\b|\balert\w*"),
            requires=_rx(
                r"\b(?:(?:affected|impacted) (?:customers|individuals|users|data subjects|persons|"
                r"clients)\b[^.;]{0,40}\bbreach|(?:personal )?data breach\w*|security (?:breach|incident)s?|data "
                r"(?:security )?incidents?|"
                r"breach(?:es)? of (?:personal data|security|data)|unauthori[sz]ed (?:access|disclosure))\b"
            ),
            negatable=False,
            policy_exempt=False,
            check=_breach_late,
            key=_constant_key("breach-notice"),
        ),
        Rule(
            "DP-SPECIAL",
            "data_protection",
            3,
            "Special-category personal data",
            "Health, biometric, genetic, racial or ethnic, religious, political, trade-union, sex-life and "
            "criminal data need an art. 9/10 GDPR condition (usually explicit consent) and extra security; under "
            "the PDPA they raise the harm of any breach.",
            "Confirm the legal condition for each special category (explicit consent, employment law, vital "
            "interests), limit access, and document a DPIA.",
            _rx(
                r"\b(?:religion|religious beliefs?|ethnicity|sexual orientation|trade union membership|political "
                r"opinions?|"
                r"criminal records?|medical history|diagnos[ie]s|disabilit(?:y|ies)|HIV status)\b",
                r"\b(?:fingerprints?|facial (?:images|scans|geometry)|iris scans?|retina scans?|voiceprints?|DNA "
                r"samples?)\b",
                r"\b(?:health|medical|biometric|genetic|DNA|fingerprint|facial recognition|retina|iris scan|racial|"
                r"ethnic|"
                r"religio\w+|political (?:opinions?|affiliations?|views)|trade union|sexual orientation|sex life|"
                r"criminal "
                r"(?:record|conviction|histor)\w*)\b[^.;]{0,30}\b(?:data|information|records|details|scans?|templates?|"
                r"membership|origin|beliefs?)\b",
            ),
            excludes=_rx(
                r"\b(?:(?:sub)?keys?|ssh|pgp|gpg|certificates?|host|hash|digest|sha-?\d*|md5|rsa|browser|device|tls|ssl)\b"
                r"[^.;]{0,40}\bfingerprints?\b|\bfingerprints?\b[^.;]{0,40}\b(?:(?:sub)?keys?|keyrings?|certificates?|"
                r"hosts?|files?|deployments?|requests?|commits?|transactions?)\b",
                # A rule against discrimination names the characteristics it protects, not data anyone holds.
                r"\b(?:discriminat\w*|harass\w*|hate|hateful|intoleran\w*|bigot\w*|protected (?:status|"
                r"characteristics?|class\w*|categor\w*)|regardless of|irrespective of|equal opportunit\w*)\b"
                r"[^.;]{0,100}\b(?:race|racial|religio\w*|ethnic\w*|sexual orientation|disabilit\w*)\b",
                # Access for people with disabilities (Section 508, accommodations) is about a service, not data.
                rf"{_ACCESS}[^.;]{{0,200}}{_DISABLED}|{_DISABLED}[^.;]{{0,200}}{_ACCESS}",
            ),
            requires_any=_rx(
                # "criminal records" names the data; it does not record it.
                r"\b(?:collect\w*|process\w*|(?<!criminal )record\w*|store\w*|retain\w*|obtain\w*|use[sd]?|using|"
                r"capture\w*|gather\w*|share[sd]?|keep|kept|hold|held)\b"
            ),
            safeguards=_rx(
                r"\bexplicit consent\b|\bArticle 9\b|\bArt\. 9\b|\bspecial category\b[^.;]{0,40}\b(?:condition|"
                r"basis)\b|"
                r"\bdata protection impact assessment\b|\bDPIA\b"
            ),
        ),
        Rule(
            "DP-PROCESSOR",
            "data_protection",
            3,
            "Processor or sub-processor without contractual terms",
            "GDPR art. 28 requires a written contract with every processor and prior authorisation for "
            "sub-processors; PDPA s 24 and 26 make the organisation answerable for its data intermediaries.",
            "Put a data processing agreement in place (art. 28 terms), require prior notice and objection rights "
            "for sub-processors, and keep a register.",
            _rx(
                r"\b(?:processors?|sub-?processors?|vendors?|service providers?|contractors?|data intermediar(?:y|"
                r"ies))\b"
                r"[^.;]{0,60}\b(?:without|no)\b[^.;]{0,15}\b(?:a |any )?(?:written )?(?:contract|agreement|data "
                r"processing "
                r"agreement|DPA|terms|confidentiality (?:undertaking|obligations)|data protection (?:terms|clauses))\b",
                r"\b(?:engage|appoint|use|add|replace)\w*\b[^.;]{0,20}\bsub-?processors?\b[^.;]{0,40}\b(?:at (?:its|"
                r"our|their) "
                r"(?:sole |absolute )?discretion|without (?:prior |any )?(?:notice|notification|consent|"
                r"authori[sz]ation|"
                r"approval))\b",
            ),
            requires_any=_rx(r"\b(?:data|personal|information|records|processing|process|(?:sub-?)?processors?)\b"),
            negatable=False,
            excludes=_rx(r"\b(?:shall|will|must|may)\s+not\b[^.;]{0,40}\bwithout\b"),
        ),
        # ---------------------------------------------------------------- financial_regulation
        Rule(
            "FIN-GUARANTEE",
            "financial_regulation",
            4,
            "Guaranteed or risk-free returns promised",
            "Promising guaranteed or risk-free investment returns is misleading under securities law (e.g. SFA "
            "s 199, FCA COBS 4) and the hallmark of Ponzi and investment-fraud schemes.",
            "Remove the promise, add balanced risk warnings, and check that the product and its promoter are "
            "licensed to offer it.",
            _rx(
                r"\b(?:will|shall) (?:earn|receive|get|make|return)\b[^.;]{0,20}\b(?:at least|a minimum of|no less "
                r"than|"
                r"guaranteed)\s+\d{1,3}(?:\.\d+)?\s?%",
                r"\bguarantee(?:d|s)?\b[^.;]{0,20}\b(?:returns?|profits?|income|yields?|interest|payouts?|gains?|"
                r"dividends?)\b",
                r"\b(?:risk[- ]free|no[- ]risk|zero[- ]risk|without (?:any )?risk)\b[^.;]{0,20}\b(?:investment|"
                r"returns?|profits?|"
                r"income|opportunity|gains?)\b",
                # "certain" only as a statement ("returns are certain"), not "in certain circumstances"
                r"\b(?:returns?|profits?|yields?|gains?)\b[^.;]{0,20}\b(?:guaranteed|assured|(?:is|are|be|being) "
                r"certain|risk[- ]free)\b",
                r"\b\d{1,3}(?:\.\d+)?\s?%\s+(?:per |a |each |every )?(?:day|week|month|daily|weekly|"
                r"monthly)\b[^.;]{0,30}"
                r"\b(?:returns?|profits?|interest|yields?|gains?)\b",
                r"\b(?:double|triple) your (?:money|investment|capital)\b(?! back)|\bcannot lose\b|\bcan't lose\b",
            ),
            excludes=_rx(
                r"\bguaranteed to (?:\w+ )?return\b",  # the verb: "guaranteed to always return the same value"
                r"\b(?:not|no|never|cannot be)\b[^.;]{0,15}\bguarantee\w*",
                r"\bpast performance\b|\bdeposit insurance\b|\bgovernment[- ]guaranteed (?:bonds?|securities)\b",
            ),
        ),
        Rule(
            "FIN-UNLICENSED",
            "financial_regulation",
            4,
            "Regulated activity without a licence",
            "Dealing in securities, managing funds, lending, payment or virtual-asset services without the licence "
            "the law requires (e.g. SFA s 82, PSA s 5, FSMA s 19) is a criminal offence and leaves clients "
            "unprotected.",
            "Check the regulator's register for the entity and activity; do not proceed unless it is licensed or "
            "an exemption is documented.",
            _rx(
                r"\b(?:holds?|has|have|possess\w*|obtained)\s+no\s+(?:\w+\s+)?(?:licen[cs]e|authori[sz]ation|"
                r"registration)\b",
                r"\b(?:not|un)[- ]?(?:licensed|licenced|registered|authori[sz]ed|regulated)\b[^.;]{0,15}\b(?:by|with|"
                r"under) "
                r"(?:the |any )?(?:MAS|Monetary Authority|SEC|FCA|Financial Conduct Authority|BaFin|FINRA|CFTC|ASIC|"
                r"SFC|"
                r"FINMA|(?:financial )?regulators?|authorit(?:y|ies)|supervisory)\b",
                r"\b(?:does not|do not|doesn't|don't|without)\s+(?:hold|have|holding|having|need|require|"
                r"obtain\w*)\s+(?:a |any )?"
                r"(?:capital markets services |banking |money-lending |payment services |financial |investment |"
                r"broker-dealer |money transmitter |virtual asset service provider |VASP )?(?:licen[cs]e|"
                r"authori[sz]ation|"
                r"registration)\b",
                r"\boperat\w+\b[^.;]{0,30}\bwithout (?:a |any )?(?:licen[cs]e|authori[sz]ation|registration)\b",
                r"\bunlicen[cs]ed\b[^.;]{0,20}\b(?:broker|dealer|adviser|advisor|lender|fund manager|payment|"
                r"remittance|"
                r"money (?:lender|changer|transmitter)|exchange|platform|investment)\w*\b",
            ),
            requires_any=_rx(
                r"\b(?:invest\w*|fund\w*|securities|shares|bonds|deposits?|loans?|lend\w*|credit|payment\w*|remittance|"
                r"money|financial|broker\w*|dealer|advi[sc]\w+|trading|crypto\w*|token\w*|digital (?:assets?|payment)|"
                r"exchange|insurance|capital markets?|portfolio|wealth)\b"
            ),
            negatable=False,
            excludes=_rx(r"\b(?:is|are) (?:duly )?(?:licensed|licenced|regulated|authori[sz]ed) by\b"),
        ),
        Rule(
            "FIN-DISCLOSURE",
            "financial_regulation",
            3,
            "Missing risk or fee disclosure",
            "Investors must receive the prospectus or product highlights, risk warnings and all fees before they "
            "commit (SFA Part 13, MiFID II art. 24, PRIIPs KID); hidden fees and missing warnings are mis-selling.",
            "Provide the required offering documents, risk warnings and a full fee schedule before acceptance.",
            _rx(
                r"\b(?:no|without (?:a |any )?)\s*(?:risk (?:disclosures?|warnings?|statements?)|prospectus|offering "
                r"(?:document|memorandum)|key information document|KID|product highlights sheet|fee (?:schedule|"
                r"disclosure))\b",
                r"\b(?:fees|charges|commissions|costs|risks|conflicts of interest)\b[^.;]{0,20}\b(?:are|will|shall|"
                r"need)\s+not\s+"
                r"(?:be\s+)?(?:disclosed|shown|provided|explained|stated)\b",
                r"\b(?:hidden|undisclosed|secret)\s+(?:fees|charges|commissions|mark-?ups|rebates|kickbacks)\b",
                r"\bnot required to (?:disclose|provide|issue)\b[^.;]{0,30}\b(?:risks?|fees|prospectus|disclosures?|"
                r"KID)\b",
            ),
            requires_any=_rx(
                r"\b(?:invest\w*|fund|funds|securities|shares|bonds|notes|products?|portfolio|clients?|customers?|"
                r"offer\w*|"
                r"subscri\w+|tokens?|scheme|returns?|fees|charges|commissions)\b"
            ),
            negatable=False,
        ),
        # ---------------------------------------------------------------- risk_management
        Rule(
            "RM-UNLIMITED",
            "risk_management",
            3,
            "Unlimited liability or indemnity",
            "An uncapped liability or indemnity (beyond the usual carve-outs for fraud, death or personal injury) "
            "can exceed the value of the contract many times over and may not be insurable.",
            "Negotiate a cap (e.g. fees paid in the prior 12 months), mutual indemnities limited to third-party "
            "claims, and exclusion of indirect loss.",
            _rx(
                # "including, without limitation" means "for example", not "with no limit".
                r"\bindemnif\w+\b[^.;]{0,120}\b(?:however (?:caused|arising)|" + _NOT_INCLUDING + r"without "
                r"(?:a |any )?(?:cap|limit\w*)|uncapped)\b",
                r"\bliable\b[^.;]{0,20}\b(?:without (?:any )?limit\w*|unlimited|in full for all)\b",
                r"\bunlimited (?:liability|indemnit\w+)\b",
                r"\b(?:liability|indemnit\w+)\b[^.;]{0,40}\b(?:shall|will|is|are)\s+(?:be\s+)?(?:unlimited|uncapped|"
                r"not\s+"
                r"(?:be\s+)?(?:limited|capped)|without (?:any )?(?:limit|cap)\w*)\b",
                r"\bno (?:cap|limit|limitation|ceiling) (?:on|of|to) (?:its |the |their )?(?:liability|indemnit\w+)\b",
                r"\bindemnif\w+\b[^.;]{0,80}\b(?:any and all|all)\b[^.;]{0,40}\b(?:losses|claims|damages|liabilities)\b"
                r"[^.;]{0,60}\b(?:howsoever|whatsoever|" + _NOT_INCLUDING + r"without limit\w*|regardless of "
                r"(?:cause|fault|negligence)|whether or not caused by)\b",
            ),
            excludes=_rx(r"\b(?:fraud\w*|death|personal injury|gross negligence|wil+ful misconduct|wilful default)\b"),
            negatable=False,
        ),
        Rule(
            "RM-NO-AUDIT",
            "risk_management",
            3,
            "No audit or inspection rights",
            "Without audit rights the firm cannot verify a supplier's compliance, which regulators expect for "
            "outsourcing (MAS Guidelines on Outsourcing, EBA Outsourcing Guidelines) and GDPR art. 28(3)(h) "
            "requires for processors.",
            "Add audit and information rights for the firm, its auditors and regulators, with reasonable notice.",
            _rx(
                r"\bnot (?:be )?(?:required|obliged|obligated)\s+to\s+(?:grant|give|provide|allow|"
                r"permit)\b[^.;]{0,40}\b(?:audit|"
                r"inspection|access to (?:its |the )?(?:records|premises|books))",
                r"\b(?:no|without (?:any )?)\s*(?:right|rights) (?:to|of) (?:audit|inspect\w*|access (?:the "
                r")?(?:records|"
                r"premises|books))\b",
                r"\b(?:shall|will|may)\s+not\s+(?:be\s+)?(?:entitled|permitted|allowed|have (?:the|any) "
                r"right)\s+to\s+(?:audit|"
                r"inspect)\b",
                r"\b(?:audit|inspection)\s+rights?\b[^.;]{0,20}\b(?:are|is)\s+(?:hereby\s+)?(?:excluded|waived|not "
                r"granted|"
                r"not provided)\b",
                r"\bwaive\w*\b[^.;]{0,20}\b(?:right|rights)\s+to\s+(?:audit|inspect)\b",
                r"\b(?:customer|client|you|licensee|the company)\s+(?:may|shall|will)\s+not\s+(?:audit|inspect)\b",
            ),
            negatable=False,
        ),
        Rule(
            "RM-UNILATERAL",
            "risk_management",
            3,
            "One party may change the terms unilaterally",
            "A right to change prices, services or terms at will, without notice or consent, shifts risk to the "
            "other party and may be unenforceable as an unfair term.",
            "Require written agreement for changes, or at least advance notice with a right to terminate without "
            "penalty.",
            _rx(
                r"\b(?:may|can|reserves? the right to)\s+(?:at any time|from time to time|unilaterally)\s+(?:amend|"
                r"change|"
                r"modify|vary|update|alter|revise)\w*\b",
                r"\b(?:amend|change|modify|vary|update|alter|revise)\w*\b[^.;]{0,50}\bwithout (?:prior )?(?:informing|"
                r"notifying|telling|consulting)\b",
                r"\b(?:may|can|will|reserves? the right to)\s+(?:amend|change|modify|vary|update|alter|"
                r"revise)\w*\b[^.;]{0,40}"
                r"\bwhenever (?:we|it|they|the (?:supplier|provider|company|vendor)) (?:want|wants|wish|wishes|choose|"
                r"chooses|"
                r"like|likes|see fit|sees fit)\b",
                r"\b(?:prices?|fees?|charges|terms|rates|tariffs?)\b[^.;]{0,20}\b(?:may|can|will) be (?:revised|"
                r"changed|amended|increased|modified|varied|altered)\b[^.;]{0,40}\b(?:unilaterally|at any time|at "
                r"(?:its|"
                r"their|our) (?:sole |absolute )?discretion|without (?:prior |any )?(?:notice|consent))",
                r"\b(?:may|can|reserves? the right to|is entitled to|shall be entitled "
                r"to)\s+(?:unilaterally\s+)?(?:amend|"
                r"change|modify|vary|update|alter|revise|increase)\w*\b[^.;]{0,50}\b(?:at any time|at (?:its|our) "
                r"(?:sole|"
                r"absolute) discretion|unilaterally|without (?:prior |any )?(?:notice|consent|agreement))\b",
                r"\bunilateral(?:ly)?\s+(?:amend|change|modify|vary|alter|revise)\w*\b",
            ),
            excludes=_rx(
                r"\b\d{1,3}\s*(?:\(\w+\)\s*)?(?:calendar |business )?days'?\s*(?:prior |advance )?(?:written "
                r")?notice\b|"
                r"\b(?:thirty|sixty|ninety|fourteen|seven)\s+(?:\(\d+\)\s*)?days'?\s*(?:prior |advance )?(?:written "
                r")?notice\b|"
                r"\bmutual(?:ly)?\b|\bboth parties\b|\bright to terminate\b|\bsigned by (?:both|each|the) part"
            ),
            # What changes must be a term of the deal, not an API, a password or a board's size (nor "them" that
            # "the owning client may update").
            requires_any=_rx(
                r"\b(?:prices?|pricing|fees?|charges?|terms?|rates?|tariffs?|agreement|contract|services?|scope|"
                r"specifications?|conditions|polic(?:y|ies)|plans?|subscriptions?|commissions?|interest|payments?|"
                r"discounts?|deliver\w*|products?|order)\b"
            ),
            negatable=False,
            standard_form=True,
        ),
        Rule(
            "RM-AUTORENEW",
            "risk_management",
            2,
            "Automatic renewal without notice",
            "A contract that renews silently can lock the firm into another term and price before anyone reviews "
            "it, and some consumer laws require a reminder.",
            "Require a renewal reminder (e.g. 60-90 days before) and a right to give notice of non-renewal.",
            _rx(r"\b(?:auto(?:matically|matic)?[- ]?renew\w*|renew\w*\s+automatically|evergreen)\b"),
            excludes=_rx(
                r"\bunless\b[^.;]{0,80}\bnotice\b|\b\d{1,3}\s*days'?\s*(?:prior |advance )?(?:written )?notice\b|"
                r"\b(?:will|shall|must)\s+(?:send|give|provide|issue)\b[^.;]{0,30}\b(?:reminders?|notices?)\b|"
                r"\b(?:reminds?|notif(?:y|ies)) (?:the )?(?:customer|client|you|licensee)\b|\bnotice of non-renewal\b|"
                r"\bnot (?:renew|be renewed) automatically\b|\bwill not auto"
            ),
            requires_any=_rx(r"\b(?:agreement|contract|term|subscription|licen[cs]e|services?|order)\b"),
        ),
        # ---------------------------------------------------------------- document_integrity
        Rule(
            "DI-INJECTION",
            "document_integrity",
            4,
            "Text addressed to an automated reviewer (prompt injection)",
            "The document contains instructions aimed at an AI or automated reviewer, often hidden in tiny or "
            "white text; a genuine business document has no reason to do this, and it may be an attempt to hide "
            "other problems. The instruction was ignored.",
            "Treat the document as suspicious, review it manually in full, and ask the sender why it contains the "
            "hidden instruction.",
            (*REVIEWER_INSTRUCTIONS, *PROMPT_MARKERS),
            negatable=False,
            policy_exempt=False,
            key=_constant_key("injection"),
        ),
    ]


_NAMED_CONTROL = re.compile(
    r"\b(?:kyc|aml|compliance|sanctions?|screening|due diligence|cdd|edd|four[- ]eyes|dual (?:authori|signature|"
    r"control)|transaction monitoring)",
    _I,
)
_DEAL = re.compile(
    r"\b(?:customers?|clients?|payments?|pay|paid|transfers?|transactions?|accounts?|wires?|funds?|onboarding|"
    r"invoices?|payees?|beneficiar(?:y|ies)|suppliers?|vendors?|counterpart(?:y|ies)|deposits?|loans?|shipments?|"
    r"remittances?|cash|trades?|deals?)\b",
    _I,
)


def _bypasses_a_control(text: str, m: re.Match[str]) -> bool:
    """A named control (KYC, screening, due diligence) is one; "checks" or "verification" are one only where the
    sentence is about a customer, a payment or a deal ("skip the version checks" in a changelog is not)."""
    return _NAMED_CONTROL.search(m.group()) is not None or _DEAL.search(text) is not None


_REFUND = re.compile(r"\b(?:refund\w*|money[- ]back|returns?|return policy|exchanges?|cancel\w*)\b", _I)


_NO_QUESTIONS = re.compile(r"no[- ]questions[- ]asked", _I)


def _not_a_refund(text: str, m: re.Match[str]) -> bool:
    """ "No questions asked" of a refund, a return or a cancellation is the customer's guarantee ("a no questions
    asked refund"), not a payment kept from scrutiny; the rule's other triggers ("not to record the cash") keep
    their reading whatever the sentence refunds."""
    return _NO_QUESTIONS.match(m.group()) is None or _REFUND.search(text) is None


# --- rules compiled from the data files --------------------------------------------------------------------------

_TRADE_CONTEXT = re.compile(
    r"\b(?:ship\w*|deliver\w*|export\w*|import\w*|pay\w*|paid|transfer\w*|supply|supplie[sd]|supplier|sell|sold|sale|"
    r"buy\w*|purchas\w+|cargo|goods|consign\w+|contract\w*|bank\w*|customer|client|counterpart\w*|port|vessel|origin|"
    r"destin\w+|bound for|based in|located in|incorporated in|registered in|resident|national|branch|subsidiar\w+|"
    r"agent|trade|trading|invoice\w*|funds?|account|wire|remit\w*|route\w*|transit|crude|oil|order|beneficiar\w+|"
    r"end[- ]users?|deal|plant|project|facility|joint venture)\b",
    _I,
)

_LICENCE_OK = re.compile(
    r"\b(?:licen[cs]e|authori[sz]ation|permit)\b[^.;]{0,30}\b(?:obtained|granted|issued|has been|was|in place|held)\b|"
    r"\b(?:classified|screened|assessed) (?:under|against)\b|\bEAR99\b|\bnot (?:controlled|dual[- ]use)\b",
    _I,
)
_NO_LICENCE = re.compile(r"\b(?:without|no)\b[^.;]{0,20}\b(?:export )?(?:licen[cs]e|authori[sz]ation|permit)\b", _I)


def _constant_key(value: str) -> Callable[[re.Match[str]], str]:
    """All hits of the rule merge into one finding (e.g. every mention of one jurisdiction)."""

    def key(_: re.Match[str]) -> str:
        return value

    return key


def _jurisdiction_rules(data: RuleData) -> list[Rule]:
    rules: list[Rule] = []
    after = "|".join(re.escape(w) for w in data.not_after)
    before = "|".join(re.escape(w) for w in data.not_before)
    for j in data.jurisdictions:
        names = list(j["aliases"]) + list(j["places"])
        comprehensive = j["level"] == "comprehensive"
        pattern = re.compile(
            rf"(?<![\w-])(?<!\d )(?<!\d, )(?:{_words(names)})(?![\w-])(?!\s+(?:{after})\b)",
        )
        programmes = "; ".join(j["programmes"])
        if comprehensive:
            why = (
                f"{j['name']} is under comprehensive sanctions ({programmes}); almost any dealing with it, its "
                "government or persons there needs a licence, and a breach is a strict-liability offence for "
                "US and EU persons."
            )
            rec = (
                "Stop and escalate to the sanctions officer; do not proceed without a documented licence or legal "
                "opinion, and screen every party and vessel involved."
            )
        else:
            why = (
                f"{j['name']} is subject to broad sanctions and export controls ({programmes}); many sectors, "
                "entities and goods are restricted even where trade as a whole is not."
            )
            rec = (
                "Screen all parties, banks and vessels against current sanctions lists, check sectoral and export-"
                "control restrictions for the goods and services, and record the outcome."
            )
        rules.append(
            Rule(
                f"SAN-JUR-{j['id'].upper()}",
                "sanctions",
                5 if comprehensive else 4,
                f"Dealing involving a {'sanctioned' if comprehensive else 'high-risk'} jurisdiction: {j['name']}",
                why,
                rec,
                (pattern,),
                requires_any=(_TRADE_CONTEXT,),
                excludes=(re.compile(rf"\b(?:{before})\s+(?:{_words(names)})\b"),) if before else (),
                key=_constant_key(str(j["id"])),
            )
        )
    return rules


EXPORT_CLAUSE = re.compile(
    r"\b(?:no\b[^.;]{0,40}\b(?:may|shall|will) be|(?:may|must|shall|will) not(?: be)?|agrees? not to|not to)\b"
    r"[^.;]{0,40}\b(?:exported|re-?exported|downloaded|export|re-?export)\b"
    r"|\b(?:ha(?:s|ve)|(?:is|are) (?:under|subject to) an?) embargo\w*"
    r"|\bembargoed (?:countr\w+|jurisdictions?|regions?|territor\w+|destinations?)\b|"
    r"\bexport (?:control|administration) (?:laws?|regulations?)\b",
    _I,
)
"""An export-control clause of a licence or terms ("No Software may be downloaded or exported into Cuba, Iran ...",
"countries the U.S. has embargoed"): it keeps the goods out of the country; it is no dealing with it."""


def _offshore_rule(data: RuleData) -> Rule:
    places = _words(data.offshore)
    return Rule(
        "AML-OFFSHORE",
        "aml",
        3,
        "Payment routed through an offshore centre",
        "Routing payments through offshore or secrecy jurisdictions with no link to the business hides the "
        "money trail and the ultimate recipient; it is a recurring element of laundering and tax-evasion schemes.",
        "Ask for the business reason for the routing, identify the account holder and beneficial owner, and "
        "pay to the counterparty's account in its own country of business.",
        (
            re.compile(
                rf"\b{_PAY}\b[^.;]{{0,60}}\b(?:to|into|via|through|in|at)\b[^.;]{{0,30}}(?:\b(?:an |a )?offshore\b|"
                rf"(?<![\w-])(?:{places})(?![\w-]))",
                _I,
            ),
            re.compile(
                rf"(?:\boffshore\b|(?<![\w-])(?:{places})(?![\w-]))[^.;]{{0,30}}\b(?:account|bank|entity|company|"
                rf"vehicle|"
                r"SPV)s?\b[^.;]{0,40}\b(?:receive|route|routed|paid|payable|transfer\w*|remit\w*|wire[sd]?)\b",
                _I,
            ),
        ),
        excludes=(re.compile(r"\boffshore (?:wind|drilling|oil|platform|rig|engineering|supply vessel)s?\b", _I),),
    )


_STRONG_GOODS = re.compile(r"dual[\s-]?use|military end", _I)


def _goods_rule(data: RuleData, jurisdiction_names: str) -> Rule:
    terms = _words(data.goods)
    sanctioned = re.compile(rf"(?<![\w-])(?:{jurisdiction_names})(?![\w-])")

    def risky(sentence: str, m: re.Match[str]) -> bool:
        if _LICENCE_OK.search(sentence):
            return False
        strong = _STRONG_GOODS.search(m.group()) is not None
        return strong or sanctioned.search(sentence) is not None or _NO_LICENCE.search(sentence) is not None

    return Rule(
        "SAN-GOODS",
        "sanctions",
        4,
        "Sanctioned-sector or dual-use goods",
        "Dual-use and military-end-use items, and goods in sanctioned sectors (oil to embargoed buyers, "
        "battlefield items listed by the EU/US/UK/Japan), need an export licence or are banned outright for "
        "certain destinations.",
        "Classify the goods against the control lists (EU 2021/821 Annex I, US CCL), confirm the end user and "
        "destination, and obtain any licence before shipping.",
        (re.compile(rf"(?<![\w-])(?:{terms})(?![\w-])", _I),),
        requires_any=(
            re.compile(
                r"\b(?:ship\w*|deliver\w*|export\w*|supply|suppl(?:ied|ies)|sell|sold|sale|"
                r"transport\w*|consign\w*|order\w*|purchas\w+|buy\w*|procure\w*|goods|cargo)\b",
                _I,
            ),
        ),
        check=risky,
    )


def is_acronym(alias: str) -> bool:
    """An all-capitals alias ("ISIS", "IRGC-QF"): it needs a confirming context word."""
    letters = [c for c in alias if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters) and len(letters) <= 7


_LINKED = r"(?=[^\w-]|$|-(?:linked|backed|affiliated|controlled|owned|run|related)\b)"


def _entity_rule(data: RuleData) -> Rule:
    names = _words([a for e in data.entities for a in e["aliases"]])
    contexts = {
        alias: re.compile(rf"\b(?:{_words(e.get('context', []))})\b", _I) if e.get("context") else None
        for e in data.entities
        for alias in e["aliases"]
        if is_acronym(alias)
    }

    def confirmed(sentence: str, m: re.Match[str]) -> bool:
        if m.group() not in contexts:
            return True
        context = contexts[m.group()]
        return context is not None and context.search(sentence) is not None

    return Rule(
        "SAN-ENTITY",
        "sanctions",
        5,
        "Dealing involving a designated organisation",
        "The document names an organisation designated under US, EU or UN sanctions or terrorism lists; making "
        "funds, goods or services available to it, directly or indirectly, is prohibited.",
        "Stop and escalate to the sanctions officer; screen every party and its owners against the consolidated "
        "lists and do not proceed without legal clearance.",
        (re.compile(rf"(?<![\w-])(?:{names}){_LINKED}"),),
        requires_any=(
            _TRADE_CONTEXT,
            re.compile(r"\b(?:resell|distribut\w+|provid\w+|financ\w+|donat\w+|money|support\w*|reach\w*)\b", _I),
        ),
        excludes=(
            re.compile(
                r"\b(?:is|are) (?:listed|designated|sanctioned)\b|\b(?:do not|does not|never|shall not|will not)\s+"
                r"(?:do business|deal|trade|ship|export|sell|supply|engage|provide)\b",
                _I,
            ),
        ),
        check=confirmed,
    )


def _concealment_rule(data: RuleData) -> Rule:
    names = _words([n for j in data.jurisdictions for n in (*j["aliases"], *j["places"])])
    return Rule(
        "SAN-EVASION-JUR",
        "sanctions",
        5,
        "Sanctions evasion: hiding a sanctioned jurisdiction",
        "Leaving a sanctioned country, region or port out of documents or correspondence is how sanctioned "
        "business is disguised from banks, insurers and carriers; knowingly doing so is itself a breach.",
        "Stop the transaction, do not follow the request, preserve the records and escalate to the sanctions officer.",
        (
            re.compile(
                rf"\b(?:do not|don't|never|avoid|without|must not|should not|omit|leave out|remove)\s+(?:any\s+|"
                rf"all\s+)?"
                rf"(?:mention\w*|referenc\w*|nam(?:e|ing)|disclos\w*|show\w*|"
                rf"stat\w*)?\b[^.;]{{0,30}}(?<![\w-])(?:{names})"
                rf"(?![\w-])",
                _I,
            ),
        ),
        negatable=False,
        excludes=(
            re.compile(
                r"\b(?:do not|does not|never|shall not|will not)\s+(?:do business|deal|trade|ship|"
                r"export|sell|supply|engage)\b",
                _I,
            ),
        ),
    )


def load_rules(data: RuleData) -> list[Rule]:
    """Every rule: the static table plus those compiled from ``data``."""
    names = _words([n for j in data.jurisdictions for n in (*j["aliases"], *j["places"])])
    return [
        *_static_rules(),
        *_jurisdiction_rules(data),
        _entity_rule(data),
        _concealment_rule(data),
        _offshore_rule(data),
        _goods_rule(data, names),
    ]


# --- personal_data: one rule per recogniser of compliance_sse.analyzers.recognizers ------------------------------


@dataclass(frozen=True, slots=True)
class IdentifierRule:
    """What the report says about one kind of identifier found in the document."""

    id: str
    severity: int
    title: str
    why_it_matters: str
    recommendation: str


_PD_REC = (
    "Check that the document needs to carry it; if it is shared, make sure recipients are entitled to it, and "
    "redact or mask it otherwise."
)

IDENTIFIER_RULES: dict[str, IdentifierRule] = {
    "card": IdentifierRule(
        "PD-CARD",
        4,
        "Payment card number (masked in this report)",
        "A full card number (PAN) in a document is cardholder data under PCI DSS: it must not be stored or "
        "shared in clear, and its exposure enables card fraud.",
        "Remove or truncate the card number (first six / last four at most) and move card handling to a "
        "PCI DSS compliant channel.",
    ),
    "iban": IdentifierRule(
        "PD-IBAN",
        3,
        "Bank account number (IBAN, masked in this report)",
        "An IBAN identifies a person's or company's bank account; with a name it is personal data and is used "
        "in payment-diversion fraud.",
        "Confirm the account belongs to the named counterparty through an independent channel before paying; "
        + _PD_REC[0].lower()
        + _PD_REC[1:],
    ),
    "nric": IdentifierRule(
        "PD-NRIC",
        4,
        "Singapore NRIC/FIN number (masked in this report)",
        "The PDPC's advisory guidelines restrict collecting, using and disclosing full NRIC/FIN numbers to "
        "cases required by law or needed to establish identity to a high degree of fidelity.",
        "Keep the full number only where the law requires it; otherwise use a partial number (last 3 digits "
        "and letter) or another identifier.",
    ),
    "ssn": IdentifierRule(
        "PD-SSN",
        4,
        "US Social Security number (masked in this report)",
        "An SSN is the key to identity theft in the US; state laws require protecting and, if exposed, notifying it.",
        "Remove the SSN or keep only the last four digits.",
    ),
    "passport": IdentifierRule(
        "PD-PASSPORT",
        3,
        "Passport number",
        "A passport number is a government identifier; with a name and date of birth it enables identity fraud.",
        _PD_REC,
    ),
    "dob": IdentifierRule(
        "PD-DOB",
        3,
        "Date of birth next to a name",
        "A name with a date of birth identifies a person and is the basis of most identity checks, so it needs "
        "protection and a purpose.",
        _PD_REC,
    ),
    "wallet": IdentifierRule(
        "PD-WALLET",
        2,
        "Crypto wallet address",
        "A wallet address links a person to their on-chain transaction history; for AML it must be screened "
        "against sanctioned and high-risk addresses.",
        "Screen the address with a blockchain analytics tool and record the owner's identity.",
    ),
    "email": IdentifierRule(
        "PD-EMAIL",
        1,
        "Personal e-mail address",
        "A named person's e-mail address is personal data under the GDPR and the PDPA.",
        _PD_REC,
    ),
    "phone": IdentifierRule(
        "PD-PHONE",
        1,
        "Phone number",
        "A person's phone number is personal data under the GDPR and the PDPA (and subject to the DNC rules for "
        "marketing in Singapore).",
        _PD_REC,
    ),
    "bic": IdentifierRule(
        "PD-BIC",
        1,
        "Bank details (SWIFT/BIC)",
        "A BIC names the bank of a payment; with an account number it forms the bank details used in "
        "payment-diversion fraud.",
        "Verify changed or new bank details by calling a known contact before paying.",
    ),
}


# --- literal anchors: skip a trigger cheaply when the page cannot match it ----------------------------------------

_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", _sre.MAX_REPEAT)}
_ZERO_WIDTH = {_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT}


_COMMON = frozenset(
    ["of", "not", "no", "without", "need", "the", "and", "to", "in", "is", "are", "for", "with", "on", "as", "by",
     "be", "will", "may", "information", "inform", "data", "origin", "any", "all"]
)  # fmt: skip


def _score(anchors: frozenset[str]) -> tuple[int, int]:
    """Prefer anchors that are long and not everyday words: they rule out more pages (soundness is unaffected)."""
    return (min(1 if a.strip() in _COMMON else len(a) for a in anchors), -len(anchors))


def _required_sets(items: Any) -> list[frozenset[str]]:
    """Sets of lower-case strings such that every match of the parsed sequence ``items`` contains one of each set."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def close() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is _sre.LITERAL:
            run.append(chr(av).lower())
            continue
        if op in _ZERO_WIDTH:
            continue
        close()
        if op is _sre.SUBPATTERN:
            candidates += _required_sets(av[-1])
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            candidates += _required_sets(av)
        elif op in _REPEATS and av[0] >= 1:
            candidates += _required_sets(av[2])
        elif op is _sre.BRANCH:
            parts = [_required(b) for b in av[1]]
            if all(p is not None for p in parts):
                candidates.append(frozenset().union(*(p for p in parts if p is not None)))
    close()
    return candidates


def _required(items: Any) -> frozenset[str] | None:
    """The best of ``_required_sets(items)`` by ``_score`` (the first of equals), or ``None``."""
    candidates = _required_sets(items)
    if not candidates:
        return None
    return max(candidates, key=_score)


@cache
def literal_anchors(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Strings (lower case) one of which any match of ``pattern`` contains; ``None`` when there is no such set.

    Sound by construction: only literal characters that every path through the pattern must consume are used, so
    a page whose lower-cased text contains none of them cannot match and its search can be skipped.
    """
    return _required(_sre.parse(pattern.pattern, pattern.flags))


@cache
def literal_gate(pattern: re.Pattern[str]) -> tuple[frozenset[str], ...]:
    """Every set of strings (ASCII, lower case) one of each of which any match of ``pattern`` contains, best first.

    The sets of :func:`literal_anchors` and more: a sentence must contain a string of *each* set to match. Only
    ASCII strings are kept: the analyzer looks for them in text folded by ``recognizers.fold_case``, which has an
    ASCII letter exactly where a case-insensitive pattern's letter matches. Empty when there is no such set.
    """
    sets = _required_sets(_sre.parse(pattern.pattern, pattern.flags))
    usable = dict.fromkeys(s for s in sets if all(a.isascii() for a in s))
    return tuple(sorted(usable, key=_score, reverse=True))


def trigger_gate(rule: Rule, trigger: re.Pattern[str]) -> tuple[frozenset[str], ...]:
    """The :func:`literal_gate` sets a sentence must hit for ``trigger`` to fire in ``rule``, best first.

    Besides the trigger's own sets: those of every ``requires`` pattern (each must match the sentence) and, last
    because it is a list of everyday context words, the union of the best sets of the ``requires_any`` patterns
    (one of them must match) when each has one. Sets with a string shorter than three letters or an everyday word
    are left out: nearly every sentence holds one, so they cost more to look for than they save.
    """
    sets = [*literal_gate(trigger), *(s for p in rule.requires for s in literal_gate(p))]
    best = [literal_gate(p)[:1] for p in rule.requires_any]
    ordered = sorted(dict.fromkeys(sets), key=_score, reverse=True)
    if best and all(best):
        ordered.append(frozenset().union(*(b[0] for b in best)))
    return tuple(s for s in ordered if _score(s)[0] >= 3)
