"""Recognisers for personal and financial identifiers, each validated by a library made for it.

A candidate is found with a regular expression and kept only if it validates: IBANs by ``schwifty`` (ISO 13616
mod-97 and the country's BBAN layout), card numbers by ``stdnum.luhn`` plus a known issuer prefix and a
plausible grouping, BICs by ``schwifty`` (ISO 9362 layout, real country code) next to the word SWIFT or BIC,
Singapore NRIC/FIN by its published check letter, US SSNs by ``stdnum.us.ssn``, bitcoin addresses by
``stdnum.bitcoin`` (base58check / bech32), phone numbers by ``phonenumbers``. An invalid checksum is not a
match. Passports and dates of birth have no checksum, so they need their label (``Passport No.``, ``DOB``) and,
for a date of birth, a person's name nearby.

Pure and synchronous; everything is compiled at import.

Masking: card numbers, IBANs and national ids must not be copied into a report. :func:`mask` keeps the last four
letters or digits and replaces every other letter or digit with ``*`` (separators stay), so the quote keeps its
shape and the reviewer can still tell two numbers apart. A masked quote is therefore not a verbatim substring of
the page; :func:`quote_on_page` treats ``*`` in a quote as "any letter or digit" so the report can still be
checked against the page.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import bitcoin, luhn
from stdnum.us import ssn as us_ssn

__all__ = [
    "MASK_CHAR",
    "IdentifierMatch",
    "find_identifiers",
    "fold_case",
    "is_role_mailbox",
    "is_valid_card",
    "is_valid_nric",
    "mask",
    "quote_on_page",
]

MASK_CHAR = "*"

ROLE_MAILBOXES = frozenset(
    [
        "info",
        "support",
        "contact",
        "sales",
        "admin",
        "help",
        "office",
        "privacy",
        "dpo",
        "compliance",
        "legal",
        "hello",
        "enquiries",
        "inquiries",
        "noreply",
        "no-reply",
        "postmaster",
        "webmaster",
        "careers",
        "jobs",
        "hr",
        "press",
        "media",
        "billing",
        "accounts",
        "finance",
        "service",
        "maintainer",
        "maintainers",
        "bugs",
        "bug",
        "security",
        "abuse",
        "team",
        "staff",
        "membership",
        "members",
        "users",
        "user",
        "devel",
        "dev",
        "announce",
        "discuss",
        "list",
        "lists",
        "general",
        "feedback",
        "orders",
        "order",
        "returns",
        "reception",
        "booking",
        "bookings",
        "registrar",
        "secretariat",
        "editor",
        "editors",
        "webadmin",
        "hostmaster",
        "portal",
        "it",
        "ops",
        "root",
        "mailer-daemon",
        "notifications",
        "newsletter",
        "marketing",
        "customerservice",
        "customer-service",
        "helpdesk",
        "servicedesk",
    ]
)
"""Mailboxes of a function or a list, not of a person: not personal data by themselves."""
_ROLE_PART = re.compile(r"[.+_-]")


def is_role_mailbox(local: str) -> bool:
    """``info``, ``maintainer``, ``python-devel``, ``portal-admin``, ``users+subscribe``: a role or a list."""
    local = local.lower()
    if local in ROLE_MAILBOXES:
        return True
    parts = [p for p in _ROLE_PART.split(local) if p]
    return len(parts) > 1 and (parts[-1] in ROLE_MAILBOXES or parts[0] in ("no", "noreply", "do"))


@dataclass(frozen=True, slots=True)
class IdentifierMatch:
    """One validated identifier in a text: ``text[start:end]`` is the identifier as written."""

    kind: str
    start: int
    end: int
    value: str
    sensitive: bool
    """True when the report must show it masked (cards, IBANs, national ids)."""


def mask(text: str, keep: int = 4) -> str:
    """Replace every letter or digit of ``text`` but the last ``keep`` with ``*``; separators stay."""
    alnum = [i for i, ch in enumerate(text) if ch.isalnum()]
    hide = set(alnum[: max(len(alnum) - keep, 0)])
    return "".join(MASK_CHAR if i in hide else ch for i, ch in enumerate(text))


def quote_on_page(quote: str, page_text: str) -> bool:
    """Whether ``quote`` is on the page, whitespace-normalised, with ``*`` standing for one letter or digit."""
    norm_quote = " ".join(quote.split())
    norm_page = " ".join(page_text.split())
    if MASK_CHAR not in norm_quote:
        return norm_quote in norm_page
    parts = [re.escape(p) for p in norm_quote.split(MASK_CHAR)]
    return re.search(r"[A-Za-z0-9]".join(parts), norm_page) is not None


# --- IBAN -------------------------------------------------------------------------------------------------------

_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")


def _iban(text: str) -> Iterator[IdentifierMatch]:
    for m in _IBAN.finditer(text):
        cand = m.group()
        # The pattern is greedy; a trailing word in capitals may have joined the number. Shorten by whole groups.
        while len(cand.replace(" ", "")) >= 15:
            try:
                value = IBAN(cand).compact
            except SchwiftyException:
                cand = cand[: cand.rfind(" ")] if " " in cand else cand[:-1]
                continue
            yield IdentifierMatch("iban", m.start(), m.start() + len(cand), value, True)
            break


# --- payment cards ----------------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\w.,/-])\d{4}(?:[ -]?\d{2,6}){2,4}(?![\w/]|[.,-]\d)")
_CARD_GROUPS = {(4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3), (4, 4, 4, 1), (4, 4, 4, 2), (4, 4, 4, 3)}


def _card_brand(digits: str) -> str | None:
    n = len(digits)
    p2, p3, p4, p6 = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4" and n in (13, 16, 19):
        return "Visa"
    if (51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16:
        return "Mastercard"
    if p2 in (34, 37) and n == 15:
        return "American Express"
    if (p4 == 6011 or p2 == 65 or 644 <= p3 <= 649 or 622126 <= p6 <= 622925) and 16 <= n <= 19:
        return "Discover"
    if 3528 <= p4 <= 3589 and 16 <= n <= 19:
        return "JCB"
    if (300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095) and 14 <= n <= 19:
        return "Diners Club"
    if p2 == 62 and 16 <= n <= 19:
        return "UnionPay"
    if (p4 in (5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763)) and 12 <= n <= 19:
        return "Maestro"
    return None


def is_valid_card(number: str) -> bool:
    """Luhn-valid, 13-19 digits, and a known issuer prefix (separators ignored)."""
    digits = re.sub(r"[ -]", "", number)
    return digits.isdigit() and 13 <= len(digits) <= 19 and _card_brand(digits) is not None and luhn.is_valid(digits)


def _cards(text: str) -> Iterator[IdentifierMatch]:
    for m in _CARD.finditer(text):
        raw = m.group()
        groups = tuple(len(g) for g in re.split(r"[ -]", raw))
        if len(groups) > 1 and groups not in _CARD_GROUPS:
            continue
        if is_valid_card(raw):
            yield IdentifierMatch("card", m.start(), m.end(), re.sub(r"[ -]", "", raw), True)


# --- SWIFT / BIC ------------------------------------------------------------------------------------------------

_BIC = re.compile(
    r"\b(?:SWIFT|BIC)(?:/BIC|/SWIFT)?(?: code| address)?(?: no\.?| "
    r"number)?\s*[:#]?\s*([A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b"
)


def _bics(text: str) -> Iterator[IdentifierMatch]:
    for m in _BIC.finditer(text):
        try:
            value = str(BIC(m.group(1)))
        except SchwiftyException:
            continue
        yield IdentifierMatch("bic", m.start(1), m.end(1), value, False)


# --- Singapore NRIC / FIN ---------------------------------------------------------------------------------------

_NRIC = re.compile(r"\b[STFGM]\d{7}[A-Z]\b")
_NRIC_ST = "JZIHGFEDCBA"
_NRIC_FG = "XWUTRQPNMLK"
_NRIC_M = "KLJNPQRTUWX"
_NRIC_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)


def is_valid_nric(value: str) -> bool:
    """The ICA check letter of a Singapore NRIC (S, T) or FIN (F, G, M)."""
    value = value.upper()
    if not _NRIC.fullmatch(value):
        return False
    prefix, digits, check = value[0], value[1:8], value[8]
    total = sum(int(d) * w for d, w in zip(digits, _NRIC_WEIGHTS, strict=True))
    if prefix == "M":
        return check == _NRIC_M[10 - (total + 3) % 11]
    total += 4 if prefix in "TG" else 0
    table = _NRIC_ST if prefix in "ST" else _NRIC_FG
    return check == table[total % 11]


def _nrics(text: str) -> Iterator[IdentifierMatch]:
    for m in _NRIC.finditer(text):
        if is_valid_nric(m.group()):
            yield IdentifierMatch("nric", m.start(), m.end(), m.group(), True)


# --- US SSN (labelled) ------------------------------------------------------------------------------------------

_SSN = re.compile(r"\b(?:SSN|social security (?:number|no\.?))\s*[:#]?\s*(\d{3}-\d{2}-\d{4})\b", re.IGNORECASE)


def _ssns(text: str) -> Iterator[IdentifierMatch]:
    for m in _SSN.finditer(text):
        if us_ssn.is_valid(m.group(1)):
            yield IdentifierMatch("ssn", m.start(1), m.end(1), m.group(1).replace("-", ""), True)


# --- passports (labelled) ---------------------------------------------------------------------------------------

_PASSPORT = re.compile(
    r"\bpassport(?:\s+(?:no\.?|number|num\.?|#))?\s*[:#.]?\s*(?:is\s+)?([A-Z0-9]{6,9})\b(?!\s*\d)", re.IGNORECASE
)


def _passports(text: str) -> Iterator[IdentifierMatch]:
    for m in _PASSPORT.finditer(text):
        value = m.group(1)
        digits = sum(ch.isdigit() for ch in value)
        # A passport number has digits and at most two letters in a row at its start ("E1234567K", "123456789").
        if digits >= 5 and value.upper() == value and not re.search(r"[A-Z]{3}", value):
            yield IdentifierMatch("passport", m.start(1), m.end(1), value, False)


# --- e-mail -----------------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.%+-])[^\W_][\w.%+-]{0,63}@(?:[^\W_][\w-]{0,62}\.)+[^\W\d_]{2,24}\b")
"""Unicode letters are allowed in both parts (RFC 6531 internationalised addresses: ``peter.müller@...``)."""


def _emails(text: str) -> Iterator[IdentifierMatch]:
    for m in _EMAIL.finditer(text):
        local = m.group().split("@", 1)[0].lower()
        if is_role_mailbox(local):
            continue
        yield IdentifierMatch("email", m.start(), m.end(), m.group().lower(), False)


# --- phone numbers ----------------------------------------------------------------------------------------------

_PHONE_INTL = re.compile(r"(?<![\w+])(?<!\d[ -])(?:\+|00)[1-9][\d ().-]{6,18}\d(?![\w])")
"""Not after a digit and a separator: ``DE37 3704 0044 1242`` holds ``0044 1242...`` but is no phone number."""
_PHONE_LABELLED = re.compile(
    r"\b(?:tel|telephone|phone|mobile|mob|cell|fax|whatsapp|hp|contact (?:no|number))\.?\s*(?:no\.?|number)?\s*[:.]?\s*"
    r"(\(?\d[\d ().-]{5,16}\d)(?![\w])",
    re.IGNORECASE,
)
_PHONE_REGIONS = ("SG", "GB", "US", "DE", "FR", "AU", "HK", "MY", "IN", "CH", "NL")


def _valid_phone(raw: str, regions: tuple[str | None, ...]) -> str | None:
    for region in regions:
        try:
            num = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    return None


def _phones(text: str) -> Iterator[IdentifierMatch]:
    seen: set[int] = set()
    for m in _PHONE_INTL.finditer(text):
        raw = m.group()
        value = _valid_phone("+" + raw[2:] if raw.startswith("00") else raw, (None,))
        if value:
            seen.add(m.start())
            yield IdentifierMatch("phone", m.start(), m.end(), value, False)
    for m in _PHONE_LABELLED.finditer(text):
        if m.start(1) in seen:
            continue
        value = _valid_phone(m.group(1), _PHONE_REGIONS)
        if value:
            yield IdentifierMatch("phone", m.start(1), m.end(1), value, False)


# --- bitcoin addresses ------------------------------------------------------------------------------------------

_BTC = re.compile(r"\b(?:bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})\b")


def _bitcoin(text: str) -> Iterator[IdentifierMatch]:
    for m in _BTC.finditer(text):
        if bitcoin.is_valid(m.group()):
            yield IdentifierMatch("wallet", m.start(), m.end(), m.group(), False)


# --- dates of birth next to names -------------------------------------------------------------------------------

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_DATE = (
    r"(\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{4}-\d{2}-\d{2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)? (?:{_MONTHS})[a-z]*\.?,? \d{{4}}|(?:{_MONTHS})[a-z]*\.? \d{{1,2}}(?:st|nd|rd|th)?,? "
    rf"\d{{4}})"
)
_DOB = re.compile(
    rf"\b(?:date of birth|birth ?date|d\.?o\.?b\.?|born(?: on)?)\s*[:\-]?\s*(?:is\s+)?{_DATE}", re.IGNORECASE
)
_NAME_NEAR = re.compile(
    r"\b(?:(?:[Ff]ull |[Cc]ustomer |[Cc]lient |[Aa]pplicant |[Aa]ccount [Hh]older |[Ll]egal )?[Nn]ame|[Ss]urname|"
    r"[Gg]iven [Nn]ames?)\s*[:\-]\s*"
    r"[A-Z][A-Za-z'-]+|\b(?:Mr|Mrs|Ms|Miss|Mdm|Dr)\.? [A-Z][a-z]+|\b[A-Z][a-z]+ (?:[A-Z]\. )?[A-Z][a-z]+(?:,| \(| was| "
    r"is)"
)
_MONTH_NUM = {
    m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
}


@lru_cache(maxsize=1024)
def _parse_date(raw: str) -> _dt.date | None:
    raw = raw.lower().replace(",", "").replace(".", " ").strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return _dt.date.fromisoformat(raw)
        m = re.fullmatch(r"(\d{1,2})[/ -](\d{1,2})[/ -](\d{4})", raw)
        if m:
            a, b, y = int(m[1]), int(m[2]), int(m[3])
            try:
                return _dt.date(y, b, a)
            except ValueError:
                return _dt.date(y, a, b)
        m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)? ([a-z]+) +(\d{4})", raw) or None
        if m:
            return _dt.date(int(m[3]), _MONTH_NUM[m[2][:3]], int(m[1]))
        m = re.fullmatch(r"([a-z]+) +(\d{1,2})(?:st|nd|rd|th)? (\d{4})", raw)
        if m:
            return _dt.date(int(m[3]), _MONTH_NUM[m[1][:3]], int(m[2]))
    except (ValueError, KeyError):
        return None
    return None


def _dobs(text: str) -> Iterator[IdentifierMatch]:
    for m in _DOB.finditer(text):
        date = _parse_date(m.group(1))
        if date is None or not 1900 <= date.year <= 2030:
            continue
        window = text[max(0, m.start() - 160) : m.end() + 80]
        if _NAME_NEAR.search(window):
            yield IdentifierMatch("dob", m.start(1), m.end(1), date.isoformat(), False)


# --- all recognisers --------------------------------------------------------------------------------------------

_REGEX_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})
"""``text.translate(_REGEX_FOLD).lower()`` has an ASCII letter exactly where a case-insensitive pattern's letter
matches ``text``: besides both cases the regex engine also matches dotted and dotless I to i and the long s to s
(tests/analyzers/test_recognizers.py checks every character). Same length as ``text``."""


def fold_case(text: str) -> str:
    """``text`` lower-cased so that an ASCII string is in it exactly where a case-insensitive pattern finds it.

    Offsets into the result are offsets into ``text`` (see ``_REGEX_FOLD``).
    """
    return text.translate(_REGEX_FOLD).lower()


# What each recogniser's pattern needs (a literal, or the first characters of its shape) and can be looked for far
# more cheaply than the pattern, which starts with a look-behind or ``\b`` and so is tried at every position: the
# shapes below start with a single character class (hence "[A-Z][A-Z]", not "[A-Z]{2}"), which the engine skips to.
# Each test receives the text and its folded form (see _REGEX_FOLD) and is true whenever the pattern can match.
_IBAN_START = re.compile(r"[A-Z][A-Z]\d\d")
_CARD_START = re.compile(r"\d\d\d\d[ -]?\d\d")
_NRIC_START = re.compile(r"[STFGM]\d{7}")
_BASE58_START = re.compile(r"[13][1-9A-HJ-NP-Za-km-z]{25}")
_PHONE_WORDS = ("tel", "phone", "mob", "cell", "fax", "whatsapp", "hp", "contact")
_DOB_WORDS = re.compile(r"birth|born|d\.?o\.?b")

_Recogniser = Callable[[str], Iterator[IdentifierMatch]]
_RECOGNISERS: tuple[tuple[_Recogniser, Callable[[str, str], bool]], ...] = (
    (_iban, lambda text, folded: _IBAN_START.search(text) is not None),
    (_cards, lambda text, folded: _CARD_START.search(text) is not None),
    (_bics, lambda text, folded: "SWIFT" in text or "BIC" in text),
    (_nrics, lambda text, folded: _NRIC_START.search(text) is not None),
    (_ssns, lambda text, folded: "ssn" in folded or "social security" in folded),
    (_passports, lambda text, folded: "passport" in folded),
    (_emails, lambda text, folded: "@" in text),
    (_phones, lambda text, folded: "+" in text or "00" in text or any(w in folded for w in _PHONE_WORDS)),
    (_bitcoin, lambda text, folded: "bc1" in text or _BASE58_START.search(text) is not None),
    (_dobs, lambda text, folded: _DOB_WORDS.search(folded) is not None),
)
_PRIORITY = {"iban": 0, "card": 1, "nric": 2, "ssn": 3, "passport": 4, "bic": 5, "wallet": 6, "email": 7, "dob": 8}


def find_identifiers(text: str) -> list[IdentifierMatch]:
    """Every validated identifier in ``text``, in order; where two overlap the stronger kind wins."""
    folded = fold_case(text)
    found = [m for recognise, may_match in _RECOGNISERS if may_match(text, folded) for m in recognise(text)]
    found.sort(key=lambda m: (m.start, _PRIORITY.get(m.kind, 9)))
    kept: list[IdentifierMatch] = []
    for m in found:
        if kept and m.start < kept[-1].end:
            if _PRIORITY.get(m.kind, 9) < _PRIORITY.get(kept[-1].kind, 9):
                kept[-1] = m
            continue
        kept.append(m)
    return kept
