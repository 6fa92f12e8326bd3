"""Concept rules: a finding is a combination of concepts (actor, action, object, condition) in one sentence.

A sentence is cut into word tokens; each token carries its lemmas (lemminflect's dictionary, no model), so "paid",
"pays" and "payment" all meet the concept PAY. A concept is a synonym set of single words and multi-word lemma
sequences (``"success fee"``, ``"without limit"``). A rule lists *slots*, each one concept or alternatives:

* ``"PAY"``: the concept occurs, and if it is an action, not under a negation or a prohibition in its clause
  ("we do not accept cash", "third-party payments are refused");
* ``"!SAFEGUARD"``: the concept occurs *negated* ("no transfer agreement", "without any safeguard", "EDD not
  started", "refused to sign"): the missing control is the risk;
* ``"A|B|!C"``: any of them.

Sentences describing a red flag in a policy or training text ("staff must report...", "red flags include") are
left alone, and so are those whose ``unless`` concepts occur (a safeguard in the same sentence cancels only that
sentence's transfer). Severity starts at the rule's base and rises by one for an aggravating factor (cash,
officials or their relatives, secrecy or evasion wording, offshore centres, amounts far above the stated profile,
special-category data) and by one more for three of them, never above 5.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from lemminflect import getAllLemmas, getAllLemmasOOV

from .base import RuleText
from .gazetteer import ADEQUATE, find_places

__all__ = [
    "CONCEPTS",
    "CONCEPT_RULES",
    "STANDARD_FORM_SEVERITY",
    "ConceptHit",
    "ConceptRule",
    "SentenceConcepts",
    "is_name",
    "lemmas",
    "match_rules",
    "notice_clause",
    "passes_on",
    "read_sentence",
]

# --- tokens and lemmas -----------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9]+|[;:]|%|[$\u20ac\u00a3]|['\u2018\u2019\"\u201c\u201d]")


def lemmas(word: str) -> frozenset[str]:
    """The word, lower-cased, and every lemma lemminflect knows for it (nouns and verbs guessed when unknown)."""
    w = word.lower()
    out = {w}
    found = getAllLemmas(w)
    if found:
        for forms in found.values():
            out.update(forms)
    elif w.isalpha() and len(w) > 3:
        for upos in ("NOUN", "VERB"):
            out.update(getAllLemmasOOV(w, upos).get(upos, ()))
    if w.endswith("s") and len(w) >= 3 and w[-2] != "s":
        out.add(w[:-1])  # plurals lemminflect does not know: "CVs", "SCCs"
    return frozenset(out)


_UNLISTED_WORDS = frozenset(["website", "online", "email", "ecommerce", "app", "apps"])


def is_name(word: str) -> bool:
    """A capitalised word that reads as a name, not an English word: in camel case ("CobbleStone", "AzireVPN") or
    unknown to the lemmatiser ("Coflnet", "Hasbro"; not "Goods", "Website")."""
    if not word[:1].isupper():
        return False
    if any(c.isupper() for c in word[1:]):
        return any(c.islower() for c in word)  # not an acronym ("IP", "GDPR")
    w = word.lower()
    return w.isalpha() and w not in _UNLISTED_WORDS and not getAllLemmas(w)


NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "nor",
        "neither",
        "cannot",
        "t",
        "nothing",
        "none",
        "nobody",
        "without",
        "lack",
        "lacking",
        "absent",
        "missing",
        "zero",
    ]
)
"""Words that negate what follows them in their clause ("t" is the tail of "don't")."""
_ACTION_NEGATORS = NEGATORS - {"without", "lack", "lacking", "absent", "missing"}
_AFTER_NEGATORS = frozenset(
    ["not", "never", "missing", "pending", "outstanding", "withheld", "waived", "skipped", "blank"]
)
_PROHIBIT = frozenset(["prohibit", "forbid", "ban", "refuse", "reject", "decline", "block", "disallow", "bar"])
_ALLOW = frozenset(
    [
        "permit",
        "allow",
        "accept",
        "tolerate",
        "authorise",
        "authorize",
        "make",
        "offer",
        "give",
        "pay",
        "right",
        "ability",
    ]
)
_OR = frozenset(["or", "nor"])
_WITHDRAW = frozenset(["withdrawn", "revoked"])
_REFUSE_CONSENT = frozenset(["refuse", "decline", "withdraw", "revoke"])
_GIVE = frozenset(["give", "grant", "provide"])
_CONDITIONS = frozenset(["if", "unless"])
_ASK = frozenset(["ask", "asking"])
_SAY = frozenset(["consent", "permission", "approval", "agreement", "authorisation", "authorization", "opt"])
_FIRMS = re.compile(r"\s+(?:and authori[sz]ation\s+)?(?:of|from)\s+(?!The\b|A\b|An\b|Any\b|Each\b)[A-Z]")
"""A named party's own consent after the word ("of YouGov", "from Experteer"), not that of "the Customers"."""
_OR_AND = _OR | {"and"}
_ERASURE_EXCUSES = frozenset(
    [
        *("must", "require", "law", "legal", "legally", "obligation", "oblige", "tax", "able", "possible"),
        *("guarantee", "warrant", "lose", "obligate", "immediately", "except", "prefer"),
    ]
)
"""A reason the law allows for keeping data a person asked to erase (GDPR Art. 17(3)), a copy out of reach, a
disclaimer of loss or of a duty, a delay, an exception or a wish: no erasure refused."""
_BACKUPS = re.compile(r"\bback[- ]?ups?\b", re.I)
_CLAUSE_WORDS = frozenset(["but", "however", "although", "whereas", "unless", "except", "while"])
_NEG_WINDOW = 6
_AND_CLAUSE = re.compile(
    r",\s+and\s+(?=(?:we|you|they|he|she|it|i)\b|(?:[\w'\u2019-]+\s+){1,4}(?:is|are|was|were|will|would|may|might|"
    r"can|could|shall|should|must|has|have|had|does|did)\b)",
    re.I,
)
_TOLD = re.compile(r"\b(?:told|tell|tells|informed|notified|advised|warned|aware|know|knows|knew)$", re.I)


def clause_openings(text: str, start: int = 0) -> list[int]:
    """Where a clause of its own starts inside ``text`` (from ``start``), so that a negation before it does not reach
    into it: after ", and" before a subject and its verb ("We do not encrypt the files, and we keep them forever"),
    and at what a person is (not) told ("Users are not told that their data is sold"). Cheap when neither is there:
    most sentences hold no ", and" and no "that"."""
    found = [m.end() for m in _AND_CLAUSE.finditer(text, start)] if ", and " in text else []
    at = text.find(" that", start)
    while at >= 0:
        if not text[at + 5 : at + 6].isalnum() and _TOLD.search(text, max(start, at - 9), at):
            found.append(at + 1)
        at = text.find(" that", at + 5)
    return sorted(found)


# --- concepts --------------------------------------------------------------------------------------------------

_TABLE: dict[str, Any] = json.loads(
    resources.files("compliance_sse").joinpath("data", "concepts.json").read_text(encoding="utf-8")
)
CONCEPTS: dict[str, tuple[str, ...]] = {name: tuple(terms) for name, terms in _TABLE["concepts"].items()}
"""Concept name -> its terms, written as lemmas; a term of several words matches consecutive tokens."""

ACTIONS = frozenset(
    [
        "PAY",
        "SHIP",
        "TRANSFER",
        "SELL",
        "KEEP",
        "PROCESS",
        "CHANGE",
        "BENEFIT",
        "FLOW_OUT",
        "RESELL",
        "LIABLE",
        "GUARANTEE",
        "RENEW",
        "SUBCONTRACT",
        "RECOMMEND",
        "ASK",
    ]
)
"""Concepts that are things done: a negation or prohibition in their clause makes them not happen."""

NOUN_TERMS = frozenset((name, term) for name, terms in _TABLE.get("nouns", {}).items() for term in terms)
"""(concept, term) pairs met only by a noun: "interest" is a return, "interesting" is not; a "judge" is an official,
"judged" is not; a "trust" is an entity, "trusted" is not."""

BARE_TERMS = frozenset((name, term) for name, terms in _TABLE.get("bare", {}).items() for term in terms)
"""(concept, term) pairs met only by the word as written: an instruction is an imperative ("approve this file"),
not "the pre-approved output"."""

_INDEX: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
for _name, _terms in CONCEPTS.items():
    for _term in _terms:
        _words = tuple(w for w in re.split(r"[\s-]+", _term.lower()) if w)
        if _words:
            _INDEX.setdefault(_words[0], []).append((_name, _words))


_INDEX_SYMBOLS = {s: tuple(_INDEX.get(s, ())) for s in ("%", "$")}


_WORDS_CACHED = 8192
"""Words whose reading is kept: about 4 MB when full (two caches of 65,536 held 37 MB, 1.1 KB an upload)."""


def _number(word: str) -> tuple[frozenset[str], tuple[tuple[str, tuple[str, ...]], ...], bool, bool]:
    """A number's reading, as :func:`_word` gives it, not cached: most are new in every upload (ids, amounts)."""
    return frozenset([word]), tuple(_INDEX.get(word, ())), False, False


@functools.lru_cache(maxsize=_WORDS_CACHED)
def _word(word: str) -> tuple[frozenset[str], tuple[tuple[str, tuple[str, ...]], ...], bool, bool]:
    """A token's lemmas, the concept terms that may start at it, whether it opens a clause, and whether it is "no"
    (cached: a page repeats most of its words)."""
    if not word[0].isalnum():
        return frozenset([word]), _INDEX_SYMBOLS.get(word, ()), False, False
    lem = lemmas(word)
    lower = word.lower()
    cands = tuple(c for lemma in lem for c in _INDEX.get(lemma, ()))
    if any((name, words[0]) in NOUN_TERMS for name, words in cands):
        nouns = _noun_lemmas(lower)
        cands = tuple(c for c in cands if (c[0], c[1][0]) not in NOUN_TERMS or c[1][0] in nouns)
    if any((name, words[0]) in BARE_TERMS for name, words in cands):
        cands = tuple(c for c in cands if (c[0], c[1][0]) not in BARE_TERMS or c[1][0] == lower)
    return lem, cands, lower in _CLAUSE_WORDS, lower == "no"


def _noun_lemmas(word: str) -> frozenset[str]:
    """What ``word`` is as a noun: itself, its noun lemmas, and its singular ("trusts", not "trusted")."""
    found = getAllLemmas(word).get("NOUN", ())
    return frozenset([word, *found, *([word[:-1]] if word.endswith("s") else [])])


@dataclass(slots=True)
class _Tok:
    # Not frozen: a frozen dataclass's __init__ costs four object.__setattr__ calls, and a page makes ~500 tokens.
    start: int
    end: int
    lemmas: frozenset[str]
    clause: int


@dataclass(slots=True)
class SentenceConcepts:
    """What one sentence holds: tokens, the concepts met (with token spans), amounts and places."""

    text: str
    tokens: list[_Tok]
    hits: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    amounts: list[float] = field(default_factory=list)
    countries: list[tuple[str, int, int]] = field(default_factory=list)
    negated_clause: int | None = None
    """A clause negated as a whole by the sentence's opening ("In no event shall X be liable ...")."""

    def has(self, concept: str) -> bool:
        return concept in self.hits

    def negated(self, i: int) -> bool:
        """Whether token ``i`` is under a negation before it (or just after it) within its clause."""
        clause = self.tokens[i].clause
        if clause == self.negated_clause:
            return True
        for k in range(max(0, i - _NEG_WINDOW), i):
            if self.tokens[k].clause == clause and self.tokens[k].lemmas & NEGATORS:
                return True
            if self.tokens[k].clause == clause and self.tokens[k].lemmas & _PROHIBIT and not self._alongside(k, i):
                return True
        for k in range(i + 1, min(len(self.tokens), i + 3)):
            if self.tokens[k].clause == clause and self.tokens[k].lemmas & _AFTER_NEGATORS:
                return True
        return False

    def action_denied(self, i: int) -> bool:
        """An action is denied by a negation before it, or a prohibition anywhere in its clause. A verb joined by
        "or" or "nor" to a denied one is denied with it, however far the negation ("does not tie information to
        individuals for marketing purposes or sell it")."""
        clause = self.tokens[i].clause
        if clause == self.negated_clause:
            return True
        for k in range(max(0, i - _NEG_WINDOW), i):
            if self.tokens[k].clause == clause and self.tokens[k].lemmas & _ACTION_NEGATORS:
                return True
        joined = i > 0 and self.tokens[i - 1].lemmas & _OR and self.tokens[i - 1].clause == clause
        if joined and any(t.clause == clause and t.lemmas & _ACTION_NEGATORS for t in self.tokens[: i - 1]):
            return True
        return any(
            t.clause == clause and t.lemmas & _PROHIBIT and not self._alongside(k, i) for k, t in enumerate(self.tokens)
        )

    def _alongside(self, k: int, i: int) -> bool:
        """Whether a refusal at ``k`` is one of a list of acts with ``i`` ("may refuse, suspend or cancel an
        account"), not what is refused ("refuse to pay or sign"): a comma, "or" or "and" between them, no "to"
        after it."""
        if k > i:
            k, i = i, k
        if k + 1 < len(self.tokens) and "to" in self.tokens[k + 1].lemmas:
            return False
        between = self.text[self.tokens[k].end : self.tokens[i].start]
        return "," in between or any(t.lemmas & _OR_AND for t in self.tokens[k + 1 : i])

    def forbidden(self, i: int) -> bool:
        """The clause of token ``i`` says it is not allowed ("... are not permitted", "is not accepted")."""
        clause = self.tokens[i].clause
        toks = [t for t in self.tokens if t.clause == clause]
        for k, tok in enumerate(toks):
            if tok.lemmas & _ACTION_NEGATORS and any(t.lemmas & _ALLOW for t in toks[k + 1 : k + 5]):
                return True
        return False

    def present(self, concept: str, taken: Iterable[tuple[int, int]] = ()) -> tuple[int, int] | None:
        """A span where ``concept`` occurs in the affirmative (actions: not denied), overlapping none of ``taken``."""
        for a, b in self.hits.get(concept, ()):
            if a > 0 and "as" in self.tokens[a - 1].lemmas and "disclose" in self.tokens[a].lemmas:
                continue  # "other than as disclosed in this policy": as stated, not passed on
            if concept == "LIABLE" and any("without" in t.lemmas for t in self.tokens[max(0, a - 4) : a]):
                continue  # "without notice or liability": no liability at all
            if (concept not in ACTIONS or not self.action_denied(a)) and (not taken or _apart((a, b), taken)):
                return a, b
        return None

    def lacking(self, concept: str, taken: Iterable[tuple[int, int]] = ()) -> tuple[int, int] | None:
        """A span where ``concept`` occurs negated ("no safeguard", "not verified", "refused to sign"), overlapping
        none of ``taken``."""
        for a, b in self.hits.get(concept, ()):
            if not self.negated(a) or (taken and not _apart((a, b), taken)):
                continue
            if concept == "INFORM" and (
                self._firms_leave(a, b)
                or self._asked_for_something_else(a)
                or self._consent_kept(a, b)
                or self._declined(a)
                or self._a_legal_basis(a, b)
            ):
                continue  # a consent that is not the data subject's, or not missing
            if concept == "ERASE_REQ" and not self._erasure_refused(a):
                continue
            return a, b
        return None

    def _erasure_refused(self, a: int) -> bool:
        """Whether a negated erasure word at ``a`` is an erasure refused: the act, denied or refused, of a request
        ("refuses to delete it when customers ask", "will not erase it after a deletion request"); not a request that
        is missing or free ("no request for erasure", "not charged for deletion"), an act "without" something
        ("without parental consent, we will delete it"), the person's own choice ("if you do not delete them") or a
        promise ("won't delete it without notice"), or what the reader cannot do ("you cannot delete what others
        copied"); and with no reason the law allows, no copy out of reach, no disclaimer, delay or exception ("data we
        must keep by law", "not deleted immediately from our back-up systems", "cannot guarantee that files will not
        be deleted or lost", "not obligated to delete", "cannot delete it except by deleting your account")."""
        tokens = self.tokens
        if not tokens[a].lemmas & _ERASE or not self.action_denied(a):
            return False
        if "REQUEST" not in self.hits and all(tokens[k].lemmas & _ERASE for k, _ in self.hits["ERASE_REQ"]):
            return False  # no one asked: "transfer jobs won't delete any data", "deleting it does not delete ..."
        if any(t.lemmas & _ERASURE_EXCUSES for t in tokens) or _BACKUPS.search(self.text):
            return False
        clause = tokens[a].clause
        if any(t.clause == clause and t.lemmas & _CONDITIONS for t in tokens[:a]):
            return False
        if any(t.clause == clause and "you" in t.lemmas for t in tokens[max(0, a - 4) : a]):
            return False  # "you cannot recall or delete what others copied": the reader's own reach
        return not any(t.clause == clause and "without" in t.lemmas for t in tokens[a + 1 :])

    def _consent_kept(self, a: int, b: int) -> bool:
        """Whether a consent read as lacking is one the sentence keeps: an act denied without it is a promise to
        ask ("will not be sold to other companies without your consent", "does not store it ... without their
        knowledge"), and a consent not withdrawn is still given ("as long as such consent is not withdrawn")."""
        tokens = self.tokens
        after = tokens[b : b + 3]
        if any(t.lemmas & _WITHDRAW and after[n - 1].lemmas & _ACTION_NEGATORS for n, t in enumerate(after) if n):
            return True
        without = next((k for k in range(a - 1, max(-1, a - 8), -1) if "without" in tokens[k].lemmas), None)
        if without is None:
            return False
        clause = tokens[without].clause
        for k in range(without - 1, -1, -1):
            if tokens[k].clause != clause or self._joins_clauses(k):
                return False  # "customers are not told, and their data is sold without consent": another clause
            if tokens[k].lemmas & _ACTION_NEGATORS:
                return True
        return False

    def _a_legal_basis(self, a: int, b: int) -> bool:
        """Whether a consent read as lacking is named as a legal basis, the one a processing does not rest on ("we do
        not rely on consent as a legal basis for processing your personal data other than ..."): the notice says on
        what ground it processes, not that it processes without asking where it must."""
        return (
            _AS_A_BASIS.match(self.text, self.tokens[b - 1].end) is not None
            or _RELY_ON.search(self.text, 0, self.tokens[a].start) is not None
        )

    def _declined(self, a: int) -> bool:
        """Whether a consent read as lacking is one the person may refuse, a choice and what follows from it ("you may
        refuse consenting", "by not granting us permission", "If you do not provide such consent, ..."), not data used
        without it: unless the sentence says the data is used all the same ("... we still use it", "even if")."""
        tokens = self.tokens
        if "ANYWAY" in self.hits or any("even" in t.lemmas for t in tokens):
            return False
        given = [k for k in range(max(0, a - 4), a) if tokens[k].lemmas & (_GIVE | _REFUSE_CONSENT)]
        if any(tokens[k].lemmas & _REFUSE_CONSENT for k in given):
            return True
        opening = next(t for t in tokens if t.clause == tokens[a].clause)
        return bool(given) and (
            bool(opening.lemmas & _CONDITIONS) or any(k and "not" in tokens[k - 1].lemmas for k in given)
        )

    def _joins_clauses(self, k: int) -> bool:
        """Whether token ``k`` is an "and" after a comma, which joins two clauses ("..., and it is sold")."""
        return (
            k > 0 and "and" in self.tokens[k].lemmas and "," in self.text[self.tokens[k - 1].end : self.tokens[k].start]
        )

    def _asked_for_something_else(self, a: int) -> bool:
        """Whether "ask" is not about a person's say over their data: "without asking" and asking for consent are
        ("customers are never asked for consent"); "we will never ask you for your password" is not."""
        if not self.tokens[a].lemmas & _ASK:
            return False
        if any("without" in t.lemmas for t in self.tokens[max(0, a - 3) : a]):
            return False
        return not any(t.lemmas & _SAY for t in self.tokens[a + 1 : a + 6])

    def _firms_leave(self, a: int, b: int) -> bool:
        """Whether a consent or permission is the firm's own ("without our permission", "without the prior written
        consent of Experteer"), not that of the people the data is about."""
        if a > 0 and "our" in self.tokens[a - 1].lemmas:
            return True
        after = self.text[self.tokens[b - 1].end : self.tokens[b - 1].end + 40]
        return _FIRMS.match(after) is not None

    def char_span(self, span: tuple[int, int]) -> tuple[int, int]:
        return self.tokens[span[0]].start, self.tokens[span[1] - 1].end


def _apart(span: tuple[int, int], taken: Iterable[tuple[int, int]]) -> bool:
    return all(span[1] <= a or b <= span[0] for a, b in taken)


_DIGIT = re.compile(r"\d")
_UPPER = re.compile(r"[A-Z]")
_REGEX_CONCEPTS = (
    # Words of one concept split by others: "leave the name of the end user off the message". Each pattern has a
    # guard, a cheap search that finds something in every text the pattern matches: most sentences fail the guard,
    # and the pattern itself (TECHNICAL tries a match at every word character) runs only on the rest.
    (
        "NEVER_SHIPPED",
        re.compile(r"never|not", re.I),
        re.compile(
            r"\b(?:never (?:been )?|(?:were|was|have not been|has not been) not )(?:loaded|shipped|delivered|"
            r"dispatched|produced|manufactured)\b",
            re.I,
        ),
    ),
    (
        # What a person posted, with the metadata that names them: "the comment and its metadata are retained".
        "PERSONAL",
        re.compile(r"etadata"),
        re.compile(r"\b(?:comments?|posts?|messages?|reviews?|uploads?)\s+and\s+(?:its|their)\s+metadata\b", re.I),
    ),
    (
        "STRIP",
        re.compile(r"off|out of", re.I),
        re.compile(r"\b(?:leave|leaving|left|keep|kept|take|taking|took)\b[^.;:]{1,40}?\b(?:off|out of)\b", re.I),
    ),
)

_TECHNICAL = tuple(
    (re.compile(pattern), needs)
    for pattern, needs in (
        # Code and software prose: a call "f()", an option "--name" or "-f", a man page "sshd(8)", a Debian bug
        # reference, a chat-API message in a code sample, a repeated argument of a usage line ("[ NAME ...]"). Only
        # whether one occurs matters, so each is searched on its own, and only in a text holding what its every
        # match holds ("" for the camel-case one: see ``_technical``): one pattern of them all has no first
        # character to look for and is tried everywhere.
        (r"\w ?\(\d?\)", "("),
        (r"(?:^|\s)#{2,6} \w", "##"),
        (r"(?<![\w-])(?:--[a-z][\w-]+|-[A-Za-z]{1,2}\b)", "-"),
        (r"\bCloses: #\d", "Closes: #"),
        (r"\.(?:py|so|h|sh|js|conf)\b", "."),
        (r"\b[a-z]{2,}[A-Z]\w*", ""),
        (r"\]\((?:#|https?:)", "]("),
        (r"[\"']role[\"']\s*:\s*[\"'](?:system|user|assistant)", "role"),
        (r"\bmessages\s*=\s*\[", "messages"),
        (r"\bcompletions\.create\b", "completions.create"),
        (r"`", "`"),
        (r"\[ ?-{0,2}[A-Z][A-Z_]* ?\.\.\. ?\]", "..."),
        # An identifier with an underscore ("psk_hint", "S_ISVTX"; not an e-mail address's local part), a Perl or
        # shell variable ("$object"), a code comment ("// we cannot tell"), a hash pair ("key => value").
        (r"(?<![\w.@-])[A-Za-z][A-Za-z0-9]*_\w*[A-Za-z0-9](?![\w.-]*@)", "_"),
        (r"\$[a-z_]\w*", "$"),
        (r"(?:^|\s)//\s", "//"),
        (r"\s=>\s", "=>"),
    )
)
_CAMEL = re.compile(r"[a-z][A-Z]")


def _technical(text: str) -> int | None:
    """Where the first software-prose pattern match in ``text`` starts, if any."""
    first: int | None = None
    for pattern, needs in _TECHNICAL:
        if needs not in text if needs else text[1:].islower() or not _CAMEL.search(text):
            continue
        m = pattern.search(text)
        if m and (first is None or m.start() < first):
            first = m.start()
    return first


_AMOUNT = re.compile(
    r"(?:US\$|USD|EUR|GBP|SGD|CHF|AED|\$|\u20ac|\u00a3)\s?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(million|m\b|bn|billion)?"
    r"|(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(million|billion)?\s*(?:USD|EUR|GBP|SGD|dollars|euros)",
    re.I,
)


def _amounts(text: str) -> list[float]:
    out: list[float] = []
    for m in _AMOUNT.finditer(text):
        num = m.group(1) or m.group(3)
        scale = (m.group(2) or m.group(4) or "").lower()
        try:
            value = float(num.replace(",", ""))
        except ValueError:
            continue
        if scale in ("million", "m"):
            value *= 1e6
        elif scale in ("bn", "billion"):
            value *= 1e9
        out.append(value)
    return out


_NO_ABBREVIATION = frozenset(["no."])
"""The lemma of "No." (a number), which must not read as a negation."""
_NO_LEMMAS: frozenset[str] = frozenset()


def read_sentence(text: str) -> SentenceConcepts:
    """Tokens, lemmas, clauses, concept hits, amounts and places of one sentence."""
    tokens: list[_Tok] = []
    starts: list[tuple[int, tuple[tuple[str, tuple[str, ...]], ...]]] = []
    """(token, the concept terms that may start at it), for the tokens that start some."""
    clause = 0
    condition = False
    """Whether the clause being read opens with "if" or "unless": its comma ends it ("If you don't, we may ...")."""
    last = 0
    openings = clause_openings(text)
    for m in _TOKEN.finditer(text):
        word = m.group()
        if word in (";", ":"):
            clause += 1
            continue
        lem, cands, opens_clause, is_no = _number(word) if word.isdigit() else _word(word)
        start, end = m.span()
        while openings and openings[0] <= start:
            del openings[0]
            opens_clause = True
        if condition and "," in text[last:start]:
            clause += 1
            condition = False
        if opens_clause:
            clause += 1
        if not tokens or tokens[-1].clause != clause:
            condition = word.lower() in _CONDITIONS
        last = end
        if is_no and text[end : end + 1] == ".":
            tokens.append(_Tok(start, end, _NO_ABBREVIATION, clause))
            continue
        if cands:
            starts.append((len(tokens), cands))
        tokens.append(_Tok(start, end, lem, clause))
    sc = SentenceConcepts(text, tokens)
    sc.negated_clause = _opening_negation(tokens)
    if not tokens:
        return sc
    hits = sc.hits
    size = len(tokens)
    for i, cands in starts:
        after = tokens[i + 1].lemmas if i + 1 < size else _NO_LEMMAS
        for name, words in cands:
            n = len(words)
            if n == 1:
                hits.setdefault(name, []).append((i, i + 1))
            elif words[1] in after and (
                n == 2 or (i + n <= size and all(words[k] in tokens[i + k].lemmas for k in range(2, n)))
            ):
                hits.setdefault(name, []).append((i, i + n))
    token_starts = [tok.start for tok in tokens]
    token_ends = [tok.end for tok in tokens]
    for name, guard, pattern in _REGEX_CONCEPTS:
        if guard.search(text) is None:
            continue
        for m in pattern.finditer(text):
            first = bisect.bisect_left(token_starts, m.start())  # the first token at or after the match
            if first < size:
                hits.setdefault(name, []).append((first, max(first + 1, bisect.bisect_right(token_ends, m.end()))))
    if "SKIP" in hits:
        _aim_skips(sc)
    if "FOREVER" in hits:  # "permanently delete", "temporarily or permanently" are no keeping
        _keep(hits, "FOREVER", lambda a, b: not _erased(tokens, a, b))
    if "UNLIMITED" in hits:  # "including, without limitation" and "without limitation, including" are "for example";
        # "without limiting the scope" sets no limit
        _keep(
            hits,
            "UNLIMITED",
            lambda a, b: (
                (a == 0 or "including" not in tokens[a - 1].lemmas)
                and (b >= size or "including" not in tokens[b].lemmas)
                and not text.startswith("limiting", tokens[b - 1].start)
            ),
        )
    _ordinary_senses(sc)
    if "TECHNICAL" not in hits:
        at = _technical(text)
        if at is not None and at <= token_starts[-1]:
            hits["TECHNICAL"] = [(bisect.bisect_left(token_starts, at), size)]
    if _DIGIT.search(text):
        sc.amounts = _amounts(text)
    if _UPPER.search(text, 1):
        sc.countries = [(p.country, p[2], p[3]) for p in find_places(text)]
    return sc


_OPENINGS = (("in", "no", "event"), ("under", "no", "circumstance"), ("at", "no", "time"))


def _opening_negation(tokens: list[_Tok]) -> int | None:
    """The clause that "In no event", "Under no circumstances" or "At no time" opens (after a clause number), which it
    negates as a whole however far its verb is."""
    if not any("no" in t.lemmas for t in tokens[1:4]):
        return None  # most sentences: no "no" where an opening has it
    for start in range(min(3, len(tokens))):
        words = tokens[start : start + 3]
        for opening in _OPENINGS:
            if len(words) == 3 and all(w in t.lemmas for w, t in zip(opening, words, strict=True)):
                return words[0].clause
    return None


_CHECKING = ("IDENTIFY", "SHOW", "ID_DOC", "EDD")
_ERASE = frozenset(["delete", "erase", "remove", "destroy", "purge", "anonymise", "anonymize"])
_DIGESTED = frozenset(
    [
        "key", "subkey", "keyring", "certificate", "hash", "digest", "sha", "md5", "ssh", "gpg", "pgp", "openpgp",
        "tls", "ssl", "commit", "transaction", "host", "file",
    ]
)  # fmt: skip
"""What a fingerprint is taken of when it is a digest."""


def _near(tokens: list[_Tok], i: int, words: frozenset[str], before: int = 2, after: int = 3) -> bool:
    """Whether one of ``words`` is among the ``before`` tokens before token ``i`` or the ``after`` tokens after it."""
    return any(tok.lemmas & words for tok in tokens[max(0, i - before) : i + after + 1] if tok is not tokens[i])


_COOKIES = frozenset(["cookie", "cookies"])
_REFUNDS = frozenset(["refund", "return", "exchange", "cancel", "cancellation"])
_COVENANTS = frozenset(
    ["term", "terms", "agreement", "contract", "obligation", "condition", "conditions", "rule", "guideline", "warranty"]
)
_WITHDRAWN_THINGS = frozenset(
    [
        *("right", "permission", "consent", "content", "book", "offer", "application", "access", "request"),
        *("licence", "license", "approval", "listing", "product", "submission", "objection", "complaint"),
    ]
)
_ROUNDING = frozenset(["fraction", "round", "rounded", "decimal", "decimals"])
_JUDGE = frozenset(["judge"])
_CONTEST = frozenset(["competition", "contest", "sweepstakes", "prize", "entry", "entrant", "winner", "skill"])
_MINISTER = frozenset(["minister"])
_CLERGY = frozenset(["clergy", "priest", "church", "religious", "pastor", "rabbi", "imam", "chaplain"])
_BARE_GIFT = frozenset(["receive", "give", "given", "received"])
_NO_VALUE = frozenset(
    ["request", "notice", "order", "subpoena", "demand", "warrant", "information", "data", "identity", "affiliation"]
)
"""What is given or received when it is no gift: a request, an order, information about someone."""
_CHOICES = frozenset(["ability", "option", "choice", "opportunity", "chance", "able"])
_SUBLICENSED = re.compile(r"sub-?licen[cs]", re.IGNORECASE)
_LENT = frozenset(["loan", "lend"])
_LEVY = frozenset(["fee", "duty", "charge", "tax", "tariff", "clearance", "declaration", "form", "regulation", "law"])
_NODES = frozenset(
    ["commit", "node", "process", "directory", "folder", "element", "class", "window", "object", "tree", "file"]
)
_DOCUMENT_NAME = frozenset(["policy", "policies", "terms", "agreement", "guidelines", "guideline"])


def _titled_use(text: str, tokens: list[_Tok], i: int) -> bool:
    """Whether token ``i`` is the capitalised "Use" of a document's name: "Acceptable Use Policy", "Terms of Use"."""
    tok = tokens[i]
    if not text.startswith("Use", tok.start):
        return False
    after = text[tok.end : tok.end + 12].split()
    named = bool(after) and after[0].strip(".,;:)\"'").lower() in _DOCUMENT_NAME
    return named or text[max(0, tok.start - 14) : tok.start].endswith(("Terms of ", "Conditions of "))


_URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+", re.IGNORECASE)
_BARE_BRIBE = frozenset(["facilitation", "grease"])
"""Words that are a bribe's name only beside money: alone they are "helping" and "lubricant"."""
_SOFTWARE_AFTER = frozenset(["installation", "install", "process", "pool", "software", "daemon", "binary", "config"])
_SOFTWARE_BEFORE = frozenset(["user", "software", "ssh", "gpg", "monitoring", "build", "transfer", "forwarding"])
_ASSIGNABLE = frozenset(
    [
        "agreement", "contract", "right", "obligation", "benefit", "interest", "work", "service", "processing",
        "order", "claim", "debt", "receivable", "licence", "license", "lease", "task", "duty", "subcontractor",
        "party", "supplier", "vendor", "data", "it", "term", "account", "asset", "title", "share", "loan", "customer",
        "client", "project", "engagement", "personnel", "staff", "employee", "deed", "policy",
    ]
)  # fmt: skip


def _ordinary_senses(sc: SentenceConcepts) -> None:
    """Drop the hits of words used in their ordinary or technical sense, not the sense their concept names (read off
    ordinary texts: docs/EVALUATION.md, round 8)."""
    text, tokens, hits, size = sc.text, sc.tokens, sc.hits, len(sc.tokens)
    if "://" in text or "www." in text:
        _unaddressed(sc)
    if "BRIBE_WORD" in hits:  # "the facilitation of these relationships" pays nobody: alone, the word needs money
        money = any(c in hits for c in ("MONEY", "CASH", "BENEFIT"))
        _keep(
            hits,
            "BRIBE_WORD",
            lambda a, b: (
                b - a > 1 or not tokens[a].lemmas & _BARE_BRIBE or (money and not _facilitated_payment(tokens, b))
            ),
        )
    if "AGENT" in hits:  # "the agent installation process", "user agent": software, not an intermediary
        _keep(hits, "AGENT", lambda a, b: not _software_agent(tokens, a, b))
    if "SUBCONTRACT" in hits and not any(tok.lemmas & _ASSIGNABLE for tok in tokens):
        # "assigns a substitution variable": only a contract, a right or work is assigned to another party
        _keep(hits, "SUBCONTRACT", lambda a, b: b - a > 1 or "assign" not in tokens[a].lemmas)
    if "OFFICIAL" in hits:  # "customs fees and duties may be charged": a levy, not an official's benefit; "one judge
        # independent of the promoters" of a contest, "a priest or minister": another office
        _keep(
            hits,
            "OFFICIAL",
            lambda a, b: not (b - a == 1 and b < size and tokens[b].lemmas & _LEVY) and not _other_office(tokens, a, b),
        )
    if "BENEFIT" in hits:  # "receives a lawful request from law enforcement", "affiliation may be given": no gift
        _keep(
            hits,
            "BENEFIT",
            lambda a, b: (
                not (b - a == 1 and tokens[a].lemmas & _BARE_GIFT and _near(tokens, a, _NO_VALUE, before=3, after=4))
            ),
        )
    if "PROCESS" in hits:  # "our Appropriate Use Policy", "Terms of Use": a document's name, no use of data
        _keep(hits, "PROCESS", lambda a, b: not (b - a == 1 and _titled_use(text, tokens, a)))
    if "INFORM" in hits:  # "the parents of a commit": a node, not a child's parent
        _keep(hits, "INFORM", lambda a, b: not _node_parent(tokens, a, b))
    if ("oan" in text or "end" in text) and _SUBLICENSED.search(text):  # "sublicense, lease, loan ...
        _unlent(sc)  # the Services": a licence forbids lending the licensed thing; no money is lent
    if "SELL" in hits:  # "The CCPA requires us to disclose whether we sell ...": a question the law asks, no sale
        _keep(hits, "SELL", lambda a, b: not (a > 1 and "whether" in tokens[a - 2].lemmas))
    if "OPTED_OUT" in hits and "ANYWAY" not in hits:  # "the ability to opt-in or opt-out": a choice offered, no
        # objection ignored ("you have the option to opt out, but we still use it" is one)
        _keep(hits, "OPTED_OUT", lambda a, b: not _near(tokens, a, _CHOICES, before=6, after=0))
    if "ERASE_REQ" in hits and "PERSONAL" not in hits and any(tok.lemmas & _COOKIES for tok in tokens):
        del hits["ERASE_REQ"]  # "you can block or erase cookies", "cookies remain until deleted": a browser's setting
    if "BREACH" in hits:  # "if the User breaches these Terms": a contract broken, no data breach
        _keep(hits, "BREACH", lambda a, b: not _near(tokens, a, _COVENANTS, before=0, after=4))
    if "FLOW_OUT" in hits and any(tok.lemmas & _WITHDRAWN_THINGS for tok in tokens):
        # "withdraw your right to use", "withdraw the content", "withdraw your Books": no money leaves
        _drop(
            sc, lambda a, b: b - a == 1 and "withdraw" in tokens[a].lemmas and _near(tokens, a, _WITHDRAWN_THINGS, 0, 3)
        )
    if "MONEY" in hits and "$" in text:  # "begins with a ^, $ or %": a character, no amount
        _keep(hits, "MONEY", lambda a, b: not (b - a == 1 and "$" in tokens[a].lemmas and not _beside_digit(sc, a)))
    if "CONCEAL" in hits:  # "a no questions asked refund": the customer's guarantee; "(fraction of yen omitted)":
        # rounding, nothing hidden
        _keep(hits, "CONCEAL", lambda a, b: not _nothing_hidden(tokens, a, b))
    if "SPECIAL" in hits:  # "the fingerprint of a subkey", "fingerprints of keys": a digest, not a person's
        _keep(hits, "SPECIAL", lambda a, b: not ("fingerprint" in tokens[a].lemmas and _near(tokens, a, _DIGESTED)))
    if "TRANSFER" in hits and "CONTACT" in hits:  # "your emails and phone numbers": a detail named, no call made
        details = [(c, d) for c, d in hits["CONTACT"] if d - c > 1]
        _keep(hits, "TRANSFER", lambda a, b: not (b - a == 1 and any(c <= a and b <= d for c, d in details)))


def _beside_digit(sc: SentenceConcepts, a: int) -> bool:
    """Whether token ``a`` (a currency sign) stands next to a number: "$ 5,000", "$5", "5 $"."""
    tokens, text = sc.tokens, sc.text
    after = a + 1 < len(tokens) and text[tokens[a + 1].start].isdigit()
    return after or (a > 0 and text[tokens[a - 1].end - 1].isdigit())


def _nothing_hidden(tokens: list[_Tok], a: int, b: int) -> bool:
    """Whether a concealment word at ``a``-``b`` hides nothing: "no questions asked" of a refund or a return, or a
    fraction omitted in rounding."""
    if "question" in tokens[b - 1].lemmas and any(t.lemmas & _REFUNDS for t in tokens):
        return True
    return "omit" in tokens[a].lemmas and _near(tokens, a, _ROUNDING, before=4, after=3)


def _unlent(sc: SentenceConcepts) -> None:
    """Drop every concept's hit of the word "loan" or "lend" (the licensed thing lent, not money)."""
    _drop(sc, lambda a, b: b - a == 1 and bool(sc.tokens[a].lemmas & _LENT))


def _drop(sc: SentenceConcepts, gone: Callable[[int, int], bool], spare: str = "") -> None:
    """Drop the spans ``gone`` names from every concept but ``spare``."""
    for concept in [c for c in sc.hits if c != spare]:
        _keep(sc.hits, concept, lambda a, b: not gone(a, b))


def _erased(tokens: list[_Tok], a: int, b: int) -> bool:
    """Whether "permanently" at ``a``-``b`` is no keeping: the word after it erases, perhaps after "and
    irrevocably", or it is half of "temporarily or permanently" (in any way, no retention period)."""
    if a >= 2 and "or" in tokens[a - 1].lemmas and "temporarily" in tokens[a - 2].lemmas:
        return True
    if b + 1 < len(tokens) and "or" in tokens[b].lemmas and "temporarily" in tokens[b + 1].lemmas:
        return True
    if b < len(tokens) and tokens[b].lemmas & _ERASE:
        return True
    joined = b < len(tokens) and tokens[b].lemmas & _OR_AND
    return bool(joined) and any(t.lemmas & _ERASE for t in tokens[b + 1 : b + 3])


def _facilitated_payment(tokens: list[_Tok], b: int) -> bool:
    """Whether the facilitation before ``b`` is of payments ("the facilitation of payment services"): a payment
    service, where "facilitation of permits" paid for them."""
    return b + 1 < len(tokens) and "of" in tokens[b].lemmas and "payment" in tokens[b + 1].lemmas


def _other_office(tokens: list[_Tok], a: int, b: int) -> bool:
    """Whether an official's title at ``a:b`` names another office: a contest's judge, a church's minister."""
    lemmas = tokens[a].lemmas
    return bool(
        (lemmas & _JUDGE and any(t.lemmas & _CONTEST for t in tokens))
        or (lemmas & _MINISTER and any(t.lemmas & _CLERGY for t in tokens))
    )


def _software_agent(tokens: list[_Tok], a: int, b: int) -> bool:
    """Whether the agent at ``a:b`` is software: "agent installation", "user agent"."""
    return bool(
        (b < len(tokens) and tokens[b].lemmas & _SOFTWARE_AFTER) or (a and tokens[a - 1].lemmas & _SOFTWARE_BEFORE)
    )


def _node_parent(tokens: list[_Tok], a: int, b: int) -> bool:
    """Whether the word at ``a:b`` is the parent of a node: "the parents of a commit"."""
    return (
        "parent" in tokens[a].lemmas
        and b + 1 < len(tokens)
        and "of" in tokens[b].lemmas
        and _near(tokens, b, _NODES, 0)
    )


def _unaddressed(sc: SentenceConcepts) -> None:
    """An address is no wording: "/t/owner-authorized-token-transfer/" names a forum thread, not a transfer. Its words
    fill no concept but TECHNICAL (a page of addresses reads as documentation, as before addresses were set apart)."""
    spans = [u.span() for u in _URL.finditer(sc.text)]
    if not spans:
        return
    inside = {i for i, tok in enumerate(sc.tokens) if any(a <= tok.start < b for a, b in spans)}
    _drop(sc, lambda a, b: a in inside, spare="TECHNICAL")


def _keep(hits: dict[str, list[tuple[int, int]]], concept: str, keep: Callable[[int, int], bool]) -> None:
    """Keep only the spans of ``concept`` that ``keep`` accepts (the concept is gone when none is left)."""
    kept = [(a, b) for a, b in hits[concept] if keep(a, b)]
    if kept:
        hits[concept] = kept
    else:
        del hits[concept]


def _aim_skips(sc: SentenceConcepts) -> None:
    """A skip of the form "no need to <verb>" skips what the verb does: a check ("no need to verify", "no need to
    show"), not "no need to create a file"."""
    starts = {a for concept in _CHECKING for a, _ in sc.hits.get(concept, ())}
    tokens = sc.tokens
    _keep(
        sc.hits,
        "SKIP",
        lambda a, b: (
            not (b + 1 < len(tokens) and "need" in tokens[b - 1].lemmas and "to" in tokens[b].lemmas) or b + 1 in starts
        ),
    )


# --- rules -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConceptRule(RuleText):
    """A finding as a combination of concept slots (see the module docstring)."""

    slots: tuple[str, ...]
    unless: tuple[str, ...] = ()
    aggravate: tuple[str, ...] = ()
    policy_exempt: bool = True
    check: str | None = None
    """Name of an extra predicate on the sentence (see ``_CHECKS``)."""
    distinct: bool = False
    """Each slot is filled by other words than the slots before it: "the pre-approved output" is not an instruction
    *and* a verdict, "designated by" not a list hit *and* a sanctions list."""
    disclosable: bool = False
    """A use of personal data that a notice discloses: one severity lower when the firm tells the person of it
    (see ``_disclosed``)."""
    standard_form: bool = False
    """A clause nearly every consumer terms or privacy notice holds (see ``notice_clause``): at most severity 2 in
    such a document, unless aggravated or kept from the person."""
    noted_with: tuple[str, ...] = ()
    """Concepts naming what a notice keeps as a matter of course ("the comment and its metadata are retained
    indefinitely"): with one of them, no other personal data named and nothing aggravating, the clause is noted in a
    notice (see ``_noted``)."""
    near: int | None = None
    """The second slot within this many words of the first: the picture that "does not match the person we see"
    ten words after "an identity card" is not an identity left unverified."""
    head_polarity: bool = True
    """The first slot must not be denied ("no facilitation payments were made", "gifts ... are not permitted");
    off for rules whose risk is itself a refusal ("the distributor refused to sign")."""


@dataclass(frozen=True, slots=True)
class ConceptHit:
    rule: ConceptRule
    severity: int
    start: int
    end: int
    key: str
    countries: tuple[str, ...] = ()
    deferred: bool = False
    """A transfer abroad with no safeguard stated anywhere near it: kept until the document ends (another sentence
    may name a safeguard for the same destination)."""


_AGGRAVATING = {
    "CASH": "cash",
    "OFFICIAL": "official",
    "RELATIVE": "relative",
    "CONCEAL": "secrecy",
    "OFFSHORE": "offshore",
    "SPECIAL": "special-category data",
    "MIXER": "mixer",
}


def _slot_span(sc: SentenceConcepts, slot: str, taken: Sequence[tuple[int, int]] = ()) -> tuple[int, int] | None:
    """Where ``slot`` is filled, by words none of ``taken`` holds."""
    for alt in slot.split("|"):
        span = sc.lacking(alt[1:], taken) if alt.startswith("!") else sc.present(alt, taken)
        if span is not None:
            return span
    return None


def _large(sc: SentenceConcepts) -> bool:
    return any(a >= 10_000 for a in sc.amounts) or any(t.lemmas & {"million", "large", "any"} for t in sc.tokens)


def _profile_gap(sc: SentenceConcepts) -> bool:
    positive = [a for a in sc.amounts if a > 0]
    return len(positive) >= 2 and max(positive) >= 10 * min(positive)


def _near_threshold(sc: SentenceConcepts) -> bool:
    near = [a for a in sc.amounts if 8_000 <= a < 10_000 or 2_500 <= a < 3_000 or 13_000 <= a < 15_000]
    return len(near) >= 2 or (len(near) == 1 and sc.has("MANY"))


def _risky_destination(sc: SentenceConcepts) -> bool:
    return any(cc not in ADEQUATE for cc, _, _ in sc.countries)


def _any_destination(sc: SentenceConcepts) -> bool:
    return bool(sc.countries)


_AS_A_BASIS = re.compile(r"\s+as\s+(?:a|the|our|its|their)\s+(?:legal|lawful)\s+(?:basis|bases|ground)\b", re.I)
_RELY_ON = re.compile(r"\brel(?:y|ies|ied|ying)\s+(?:up)?on\s+(?:(?:your|their|the|such)\s+)?$", re.I)
"""A consent named as a legal basis: "consent as a legal basis" after it, "rely on" before it (``_a_legal_basis``)."""


def _personal_data(sc: SentenceConcepts) -> bool:
    if sc.has("PERSONAL") or (sc.has("THING") and any(not _user_of(sc, b) for _, b in sc.hits.get("SUBJECT", ()))):
        return True
    contact = {" ".join(sorted(sc.tokens[a].lemmas)) for a, _ in sc.hits.get("CONTACT", ())}
    return len(contact) >= 2


_QUOTED = re.compile(r"['\u2018\"\u201c][^'\u2019\"\u201d]{3,40}['\u2019\"\u201d]")


def _user_of(sc: SentenceConcepts, end: int) -> bool:
    """A person named as the user of a thing ("consumers of font data", "users of the library") is not whose data
    it is."""
    return end < len(sc.tokens) and "of" in sc.tokens[end].lemmas


def _quoted_label(sc: SentenceConcepts) -> bool:
    """A quoted name given by the labelling word to a payment or amount named before it ("the payment is described
    as 'consulting'", "EUR 40,000 marked 'logistics'"); not a quote further on ("partitions described in the MBR (the
    'primary' partitions)") or one the payment comes after ("the client says 'have d' and the server sends ...")."""
    labels = [sc.tokens[b - 1].end for _, b in sc.hits.get("LABEL", ())]
    paid = [sc.tokens[a].start for c in ("PAY", "PRICE", "GOODS", "BENEFIT") for a, _ in sc.hits.get(c, ())]
    return any(
        _LABEL_GAP.fullmatch(sc.text, end, m.start())
        and (any(at < m.start() for at in paid) or _AMOUNT.search(sc.text, 0, m.start()) is not None)
        for m in _QUOTED.finditer(sc.text)
        for end in labels
        if end <= m.start()
    )


_LABEL_GAP = re.compile(r"\s*(?:(?:it|them|this|these|that|those|the \w+)\s+)?(?:as|to be)?\s*:?\s*", re.I)


_ASSENT = frozenset(["consent", "agree", "accept", "acceptance", "acknowledge", "deem", "authorise", "authorize"])


def _deemed_consent(sc: SentenceConcepts) -> bool:
    """Consent assumed from a visit or continued use is said so ("by visiting the site you consent to ...",
    "continued use means you accept"); "you can check your usage by visiting my account" is an instruction. A box
    ticked by default needs no such word."""
    if not _personal_data(sc):
        return False
    ticks = sc.hits.get("DEFAULT_TICK", ())
    tokens = sc.tokens
    if ticks and all(
        any(t.clause == tokens[a].clause and t.lemmas & _REFUSE_CONSENT for t in tokens[:a]) for a, _ in ticks
    ):
        return False  # "you may withdraw your consent by visiting your profile page": the way out, not the way in
    return _TICKED.search(sc.text) is not None or any(t.lemmas & _ASSENT for t in sc.tokens)


_TICKED = re.compile(r"ticked\b", re.I)


def _not_personal_data(sc: SentenceConcepts) -> bool:
    return not _personal_data(sc)


def _amount_or_deposit(sc: SentenceConcepts) -> bool:
    return bool(sc.amounts) or sc.has("CASH") or "deposit" in sc.text.lower()


def _refused_to_say(sc: SentenceConcepts) -> bool:
    """The refusal is of information: "refused to explain", "declined to say what the account is for"."""
    said = [a for c in ("PURPOSE", "IDENTIFY") for a, _ in sc.hits.get(c, ())]
    return any(0 < b - a <= 3 for a, _ in sc.hits.get("REFUSE", ()) for b in said)


def _strip_near_field(sc: SentenceConcepts) -> bool:
    """What is removed is a field of the document: "leave the name of the end user off the message"."""
    fields = sc.hits.get("DOC_FIELD", ())
    return any(a - 5 <= fb and fa <= b + 5 for a, b in sc.hits.get("STRIP", ()) for fa, fb in fields)


_POWER = frozenset(["right", "may", "can", "cannot", "able", "entitle", "option", "allow", "permit", "power"])


def _right_or_power(sc: SentenceConcepts) -> bool:
    """A missing right to leave is said with a right or a modal ("no right to terminate", "may not terminate")."""
    return any(t.lemmas & _POWER for t in sc.tokens)


def _amount_or_many(sc: SentenceConcepts) -> bool:
    return bool(sc.amounts) or sc.has("MANY") or sc.has("REPORT_FORM") or sc.has("CASH")


_DEAL = ("PAY", "MONEY", "CASH", "BENEFIT", "OFFICIAL")


def _bribe_in_deal(sc: SentenceConcepts) -> bool:
    """A bribe word that is also an idiom ("under the table", "grease") counts only beside money, a benefit or an
    official: "the projects just fall under the table" is not a bribe."""
    topics = set(sc.hits.get("BRIBE_IDIOM", ()))
    return any(span not in topics for span in sc.hits.get("BRIBE_WORD", ())) or any(sc.has(c) for c in _DEAL)


_PERSON = frozenset(["you", "user", "member"])


def _firm_shares_personal_data(sc: SentenceConcepts) -> bool:
    """Personal data that the firm passes on, not the person sharing their own content ("the content you share",
    "you can share your posts on other platforms")."""
    return _personal_data(sc) and any(
        not any(sc.tokens[k].lemmas & _PERSON for k in range(max(0, a - 3), a)) for a, _ in sc.hits.get("SELL", ())
    )


_OTHERS = r"(?:other|another)\s+(?:users?|people|persons?|individuals?|members?|customers?|visitors?|buyers?|sellers?)"
_OTHERS_DATA = re.compile(
    rf"\b(?:of|about|from|belonging\s+to)\s+(?:{_OTHERS}|others)\b|\b{_OTHERS}['\u2019]|\bothers['\u2019]"
    r"|\b(?:a|any|another)\s+person['\u2019]s\b",
    re.I,
)
"""Whose data it is, when it is other people's: "information about other users", "another person's details"."""
_YOUR = re.compile(r"\byour\b", re.I)
_OTHER_ACTORS = frozenset(
    ["someone", "somebody", "anyone", "anybody", "stranger", "strangers", "son", "daughter", "child", "children", "you"]
)
_ACTS = ("PROCESS", "SELL", "KEEP", "TRANSFER")


def _firm_uses_personal_data(sc: SentenceConcepts) -> bool:
    """Personal data the firm uses unasked, not the reader's conduct towards others' data ("collect information about
    other users without their consent", a rule of the service) or someone else's act ("if someone is using your
    account without your permission", "if you disclose a buyer's details without consent")."""
    return _personal_data(sc) and _firms_act(sc)


def _firms_act(sc: SentenceConcepts) -> bool:
    """The act is the firm's, or no one's named: not done to other people's data with no word of the reader's, nor
    by someone other than the firm (``_by_another``)."""
    if _OTHERS_DATA.search(sc.text) and not _YOUR.search(sc.text):
        return False
    acts = {a for concept in _ACTS for a, _ in sc.hits.get(concept, ()) if not sc.action_denied(a)}
    return not acts or any(not _by_another(sc, a, acts) for a in acts)


def _by_another(sc: SentenceConcepts, a: int, acts: Collection[int] = ()) -> bool:
    """The act at ``a`` has a person other than the firm as its subject, just before its verb group in its clause
    ("someone has used or is using your account"). The subject of a passive is what is done to ("data from children
    is collected"), not who does it."""
    clause, verb = sc.tokens[a].clause, sc.text[sc.tokens[a].start : sc.tokens[a].end].lower()
    for k in range(a - 1, max(-1, a - 8), -1):
        token = sc.tokens[k]
        if token.clause != clause:
            return False
        word = sc.text[token.start : token.end].lower()
        if word in _BE and not verb.endswith("ing"):
            return False
        if word in _AUXILIARY or k in acts or word in ("or", "and"):
            continue
        return word in _OTHER_ACTORS
    return False


_BE = frozenset(["is", "are", "was", "were", "be", "been", "being"])
_AUXILIARY = _BE | frozenset(
    ["has", "have", "had", "may", "might", "will", "would", "can", "could", "shall", "should", "must", "also", "ever"]
)


_SERVICE_NOUNS = frozenset(["processor", "provider", "vendor", "service", "supplier", "relayer"])


def _third_party_present(sc: SentenceConcepts) -> bool:
    """A third party that is there and pays: "supported without centralised third-party relayers" names none, and
    "a third party payment processor" is a service the firm uses."""
    size = len(sc.tokens)
    return any(
        not sc.negated(a) and not any(sc.tokens[k].lemmas & _SERVICE_NOUNS for k in range(b, min(size, b + 2)))
        for a, b in sc.hits.get("THIRD_PARTY", ())
    )


_CHECKS: dict[str, Callable[[SentenceConcepts], bool]] = {
    "bribe_in_deal": _bribe_in_deal,
    "third_party_present": _third_party_present,
    "firm_shares_personal_data": _firm_shares_personal_data,
    "large": _large,
    "profile_gap": _profile_gap,
    "near_threshold": _near_threshold,
    "risky_destination": _risky_destination,
    "any_destination": _any_destination,
    "personal_data": _personal_data,
    "firm_uses_personal_data": _firm_uses_personal_data,
    "firms_act": _firms_act,
    "deemed_consent": _deemed_consent,
    "not_personal_data": _not_personal_data,
    "quoted_label": _quoted_label,
    "amount_or_deposit": _amount_or_deposit,
    "amount_or_many": _amount_or_many,
    "refused_to_say": _refused_to_say,
    "strip_near_field": _strip_near_field,
    "right_or_power": _right_or_power,
}


def _rule(row: dict[str, Any]) -> ConceptRule:
    lists = {key: tuple(row.get(key, ())) for key in ("slots", "unless", "aggravate", "noted_with")}
    return ConceptRule(**{**row, **lists})


CONCEPT_RULES: tuple[ConceptRule, ...] = tuple(_rule(row) for row in _TABLE["rules"])
"""The rule table, in ``data/concepts.json``: each rule's slots, ``unless`` and aggravating concepts, base severity
and texts."""


def _needed(rule: ConceptRule) -> tuple[frozenset[str], ...]:
    """For each slot, the concepts one of which must occur for the slot to be filled."""
    return tuple(frozenset(alt.lstrip("!") for alt in slot.split("|")) for slot in rule.slots)


def _applies(rule: ConceptRule, sc: SentenceConcepts) -> list[tuple[int, int]] | None:
    spans: list[tuple[int, int]] = []
    for slot in rule.slots:
        span = _slot_span(sc, slot, spans if rule.distinct else ())
        if span is None:
            return None
        if rule.near is not None and len(spans) == 1 and abs(span[0] - spans[0][0]) > rule.near:
            return None
        spans.append(span)
    lack_rule = any("!" in slot for slot in rule.slots)
    head_denied = sc.action_denied(spans[0][0]) or sc.forbidden(spans[0][0])
    if rule.head_polarity and head_denied and (not lack_rule or rule.slots[0].split("|")[0] in ACTIONS):
        return None
    if any(sc.present(u) is not None for u in rule.unless):
        return None
    if rule.check is not None and not _CHECKS[rule.check](sc):
        return None
    return spans


def _severity(rule: ConceptRule, sc: SentenceConcepts, notice: bool = False) -> int:
    factors = [c for c in rule.aggravate if sc.present(c) is not None]
    if rule.category in ("aml", "kyc_cdd") and _profile_gap(sc):
        factors.append("profile")
    if not factors and notice and ((rule.standard_form and notice_clause(sc, rule.category)) or _noted(rule, sc)):
        return min(rule.severity, STANDARD_FORM_SEVERITY)
    if rule.disclosable and not factors and _disclosed(sc):
        return rule.severity - 1
    bump = (1 if factors else 0) + (1 if len(factors) >= 3 else 0)
    return min(5, rule.severity + bump)


def _noted(rule: ConceptRule, sc: SentenceConcepts) -> bool:
    """The clause is about one of ``rule.noted_with`` (what the reader posted for others to read, say), and any
    personal data it names is that: "If you leave a comment, the comment and its metadata are retained
    indefinitely", not "your comments and your personal data are kept forever"."""
    named = [a for c in rule.noted_with if sc.present(c) is not None for a, _ in sc.hits[c]]
    return bool(named) and all(any(a <= x < b for x in named) for a, b in sc.hits.get("PERSONAL", ()))


STANDARD_FORM_SEVERITY = 2
"""A standard-form clause of a notice to its reader is noted, not raised (docs/EVALUATION.md, "Round 6")."""
_WE = frozenset(["we", "our", "us"])
_YOU = frozenset(["you", "your"])
_TRADE = frozenset(["sell", "rent", "monetise", "monetize", "trade"])
_THEIR_MARKETING = re.compile(
    r"\bfor (?:their|its) (?:own )?(?:direct )?(?:marketing|advertising|promotional)\b|"
    r"\bthird[- ]part(?:y|ies)'? advertisers\b|\bsponsors\b|"
    r"\bad(?:vertising)? networks\b|\bdata (?:brokers?|aggregat\w+)|\blead buyers?\b|"
    r"\bso (?:that )?they (?:may|can|could|might) (?:offer|market|promote|advertise)\b|"
    r"\b(?:non-?affiliated|unaffiliated) (?:third[- ]part(?:y|ies)|companies|organi[sz]ations)\b[^.;]{0,60}\bfor "
    r"(?:their )?(?:marketing|promotional) purposes\b",
    re.I,
)
"""Data passed on for others' own marketing: a sale in all but name (California's "sharing"), not a disclosed
use: "so that they may offer you products", shared with unaffiliated companies "for marketing purposes"."""
_MISSING = ("CONSENT_OK", "NOTICE", "INFORM", "SAFEGUARD")
_DEAL_TERM = re.compile(
    r"\b(?:terms?|agreements?|contracts?|fees?|prices?|pricing|rates?|tariffs?|charges?|conditions|polic(?:y|ies)|"
    r"subscriptions?|payments?)\b",
    re.I,
)
_CATALOGUE = re.compile(
    r"\b(?:products?|items?|goods|merchandise|specifications?|availability|descriptions?|typographical|catalogu?es?|"
    r"(?:published|listed|advertised|quoted|displayed|posted|stated) pric\w+|subject to change)\b",
    re.I,
)
"""What a shop's notice lists for sale, or says of its prices in passing: the products, their descriptions and
availability, the published prices, prices "subject to change"."""
_RUNNING_DEAL = re.compile(r"\b(?:memberships?|plans?|recurring|renew\w*|your (?:order|purchase|account))\b", re.I)
"""A deal the reader is already in: a membership, a plan, what renews, the reader's own order or account."""


def _deal_term(text: str) -> bool:
    """Whether the sentence names a term of the deal (terms, fees, prices, the agreement) that a change touches; a
    shop's catalogue is none: the only term it names is the price, of goods on offer or in passing ("All prices are
    subject to change without notice", "descriptions of products or product pricing are subject to change at any
    time without notice"), with no deal the reader is already in."""
    terms = [m.group().lower() for m in _DEAL_TERM.finditer(text)]
    catalogue = (
        all(t.startswith("pric") for t in terms)
        and _CATALOGUE.search(text) is not None
        and _RUNNING_DEAL.search(text) is None
    )
    return bool(terms) and not catalogue


_BUSINESS_SALE = re.compile(
    r"\b(?:merg(?:e|es|ed|er|ers|ing)|acquisitions?|(?:is|are|be|been|being|gets?) acquired|bankrupt\w*|"
    r"insolven\w*|reorgani[sz]\w*|receivership|successors?(?: entit\w+| in interest)?|divest\w*|change of "
    r"(?:control|ownership)|sale of (?:all |substantially all |(?:a |some )?(?:part|portion) of )?(?:(?:our|its|the|"
    r"their) )?(?:company|business|assets|stock|shares))\b",
    re.I,
)
"""A business sold, merged or wound up: data that goes with it is sold as one of its assets, not traded."""


def passes_on(sc: SentenceConcepts) -> bool:
    """The sentence sells, rents or monetises data, or passes it on for others' marketing (``_THEIR_MARKETING``). A
    sale that goes with the business, in a merger, an acquisition or a bankruptcy (``_BUSINESS_SALE``), is not a
    trade in the data: every notice discloses it."""
    if _THEIR_MARKETING.search(sc.text) is not None:
        return True
    words = frozenset().union(*(t.lemmas for t in sc.tokens))
    return bool(words & _TRADE) and _BUSINESS_SALE.search(sc.text) is None


def notice_clause(sc: SentenceConcepts, category: str) -> bool:
    """The clause states its practice openly: no sale or rental of data, no passing it on for others' marketing,
    and no consent, notice, information or safeguard said to be missing ("we may change these terms at any time" is
    ordinary terms; "... at any time without notice" is what consumer groups flag). A service that may change
    without notice is still ordinary: for a change, only one of a term of the deal (terms, fees, prices, the
    agreement) without notice is a risk, and a shop's catalogue is not one (``_deal_term``)."""
    if passes_on(sc):
        return False
    if category == "risk_management" and not _deal_term(sc.text):
        return all(sc.lacking(c) is None for c in _MISSING if c != "NOTICE")
    return all(sc.lacking(c) is None for c in _MISSING)


def _disclosed(sc: SentenceConcepts) -> bool:
    """The firm tells the person a use of their data ("we may share your information with our service providers"):
    a notice disclosing the practice, not a practice kept from them. Selling the data, or a missing consent, notice
    or safeguard, is not disclosed away."""
    words = frozenset().union(*(t.lemmas for t in sc.tokens))
    return bool(words & _WE and words & _YOU) and notice_clause(sc, "data_protection")


def _plan(rules: tuple[ConceptRule, ...]) -> tuple[dict[str, list[int]], list[tuple[frozenset[str], ...]]]:
    """Rules by the concepts of their first slot, and every rule's slots as concept sets."""
    by_concept: dict[str, list[int]] = {}
    needed = [_needed(rule) for rule in rules]
    for n, slots in enumerate(needed):
        for concept in slots[0]:
            by_concept.setdefault(concept, []).append(n)
    return by_concept, needed


def _candidates(rules: Iterable[ConceptRule], present: Iterable[str]) -> list[ConceptRule]:
    """The rules whose every slot has one of its concepts in the sentence, in table order."""
    table = rules if isinstance(rules, tuple) else tuple(rules)
    by_concept, needed = _DEFAULT_PLAN if table is CONCEPT_RULES else _plan(table)
    keys = set(present)
    numbers = sorted({n for c in keys for n in by_concept.get(c, ())})
    return [table[n] for n in numbers if all(not slot.isdisjoint(keys) for slot in needed[n])]


_DEFAULT_PLAN = _plan(CONCEPT_RULES)


def match_rules(
    sc: SentenceConcepts,
    rules: Iterable[ConceptRule] = CONCEPT_RULES,
    sanctioned: bool = False,
    designated: bool = False,
    notice: bool = False,
) -> list[ConceptHit]:
    """The concept rules that fire on a sentence, one hit per rule.

    ``sanctioned``: the sentence names a sanctioned place; ``designated``: a designated organisation (both found
    by the caller, from the data files); ``notice``: the document is a notice to its reader (a privacy policy,
    terms of service), where standard-form clauses are noted at severity 2.
    """
    if sanctioned and sc.tokens:
        sc.hits.setdefault("SANCTIONED", [(0, 1)])
    if designated and sc.tokens:
        sc.hits.setdefault("DESIGNATED", [(0, 1)])
    if not sc.tokens:
        return []
    policy = sc.has("POLICY")
    if sc.has("BOILERPLATE") or sc.has("TECHNICAL"):
        return []  # licence and warranty boilerplate, software documentation: not a deal
    out: list[ConceptHit] = []
    present = sc.hits.keys()
    for rule in _candidates(rules, present):
        if policy and rule.policy_exempt:
            continue
        spans = _applies(rule, sc)
        if spans is None:
            continue
        start, end = sc.char_span(spans[0])
        if rule.category == "cross_border":
            transfer = _transfer_hit(rule, sc, start, end, notice)
            if transfer is not None:
                out.append(transfer)
            continue
        key = " ".join(sorted({min(sc.tokens[a].lemmas, key=lambda w: (len(w), w)) for a, _ in spans}))
        out.append(ConceptHit(rule, _severity(rule, sc, notice), start, end, key))
    return out


def _transfer_hit(
    rule: ConceptRule, sc: SentenceConcepts, start: int, end: int, notice: bool = False
) -> ConceptHit | None:
    """A transfer abroad: where to, and whether its safeguard is missing, stated, or not mentioned at all. A notice
    telling its reader of a transfer it does not say is unprotected is a standard-form clause."""
    abroad = sc.present("ABROAD") is not None
    if not sc.countries and not abroad:
        return None
    safeguard = sc.present("SAFEGUARD")
    lacking = sc.lacking("SAFEGUARD")
    if safeguard is not None and lacking is None:
        return None  # a safeguard attached to this very transfer
    countries = tuple(sorted({cc for cc, _, _ in sc.countries} | ({"abroad"} if abroad else set())))
    risky = any(cc not in ADEQUATE for cc in countries)
    if lacking is None and not risky:
        return None
    special = sc.present("SPECIAL") is not None or (sc.present("PERSONAL") is not None and sc.has("SPECIAL"))
    severity = rule.severity + (1 if lacking is not None or special else 0)
    if notice and rule.standard_form and severity == rule.severity and notice_clause(sc, rule.category):
        severity = min(severity, STANDARD_FORM_SEVERITY)
    return ConceptHit(rule, severity, start, end, " ".join(countries), countries, deferred=lacking is None)
