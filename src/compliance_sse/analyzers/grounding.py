"""Find a model's quotes on the document's pages, so that every piece of evidence is verbatim.

The contract says a quote is found verbatim, whitespace-normalised, on its page, or it is dropped. Models
re-type text: they curl straight quotes, lengthen hyphens into dashes, change case, or drop a soft hyphen. Matching is
therefore done on a *folded* copy of the page (whitespace collapsed, typographic quotes and dashes made plain,
compatibility forms decomposed, lower case) that keeps, for every folded character, the index of the original
character it came from. A match is then cut out of the original page text, so the evidence in the report is
always the page's own characters (with its whitespace normalised), never the model's retyping.

Pure and synchronous: callers run it through ``AnalysisContext.run_blocking`` when pages are long.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "MIN_QUOTE_CHARS",
    "FoldedText",
    "GroundedQuote",
    "Grounder",
    "fold",
    "normalize_ws",
]

MIN_QUOTE_CHARS = 4
"""A quote with fewer non-space characters than this is not evidence of anything."""

_WS = re.compile(r"\s+")
_ELLIPSIS = re.compile(r"\.\.\.|…")
_DROP = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")
# Typographic look-alikes made plain (escaped: ruff flags the characters themselves as ambiguous).
_PLAIN = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032`\u00b4", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    "\u2039": "<",
    "\u203a": ">",
}
_MIN_ELIDED_PART = 12


def normalize_ws(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return _WS.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class FoldedText:
    """``text`` folded for matching; ``origin[i]`` is the index in the original of ``text[i]``."""

    text: str
    origin: tuple[int, ...]


def _fold_char(ch: str) -> str:
    if ch in _DROP:
        return ""
    plain = _PLAIN.get(ch)
    if plain is not None:
        return plain
    if ch.isspace():
        return " "
    if not ch.isascii():
        ch = unicodedata.normalize("NFKC", ch)
        ch = "".join(_PLAIN.get(c, c) for c in ch)
    return ch.lower()


def fold(text: str) -> FoldedText:
    """Fold ``text`` for matching (see the module docstring); runs of whitespace become one space."""
    out: list[str] = []
    origin: list[int] = []
    last_space = True  # drops leading whitespace
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        for c in folded:
            if c == " ":
                if last_space:
                    continue
                last_space = True
            else:
                last_space = False
            out.append(c)
            origin.append(i)
    if out and out[-1] == " ":
        out.pop()
        origin.pop()
    return FoldedText("".join(out), tuple(origin))


@dataclass(frozen=True, slots=True)
class GroundedQuote:
    """A quote found on ``page``: ``quote`` is the page's own text; ``start``/``end`` index the original page text."""

    page: int
    quote: str
    start: int
    end: int
    repointed: bool = False

    def overlaps(self, other: GroundedQuote) -> bool:
        return self.page == other.page and self.start < other.end and other.start < self.end


class Grounder:
    """Locates quotes on pages; caches each page's folded text.

    ``pages`` maps page numbers to their text and may grow between calls (pages arrive while chunks are
    analysed); pass the caller's mapping, or a snapshot when calling from another thread.
    """

    def __init__(self, pages: Mapping[int, str] | None = None) -> None:
        self._pages: Mapping[int, str] = pages if pages is not None else {}
        self._folded: dict[int, FoldedText] = {}

    def _page(self, number: int, pages: Mapping[int, str]) -> FoldedText | None:
        cached = self._folded.get(number)
        if cached is not None:
            return cached
        text = pages.get(number)
        if text is None:
            return None
        folded = fold(text)
        self._folded[number] = folded
        return folded

    def locate(self, page: int, quote: str, pages: Mapping[int, str] | None = None) -> GroundedQuote | None:
        """Find ``quote`` on ``page`` only; ``None`` if it is not there (or too short to count)."""
        pages = self._pages if pages is None else pages
        folded_page = self._page(page, pages)
        if folded_page is None:
            return None
        for needle in _needles(quote):
            at = folded_page.text.find(needle)
            if at < 0:
                continue
            start = folded_page.origin[at]
            end = folded_page.origin[at + len(needle) - 1] + 1
            return GroundedQuote(page, normalize_ws(pages[page][start:end]), start, end)
        return None

    def ground(
        self,
        page: int,
        quote: str,
        *,
        prefer: Iterable[int] = (),
        pages: Mapping[int, str] | None = None,
    ) -> GroundedQuote | None:
        """Find ``quote`` on ``page``, else on the ``prefer`` pages, else on any page nearest first.

        A quote found elsewhere is re-pointed (``repointed=True``); ``None`` means it is on no page.
        """
        pages = self._pages if pages is None else pages
        found = self.locate(page, quote, pages)
        if found is not None:
            return found
        tried = {page}
        order = [p for p in prefer if p not in tried]
        order += sorted((p for p in pages if p not in tried and p not in order), key=lambda p: (abs(p - page), p))
        for other in order:
            found = self.locate(other, quote, pages)
            if found is not None:
                return GroundedQuote(found.page, found.quote, found.start, found.end, repointed=True)
        return None


def _needles(quote: str) -> list[str]:
    """What to search for: the whole folded quote, else the longest part of an elided (``...``) quote."""
    whole = fold(quote).text
    if len(whole.replace(" ", "")) < MIN_QUOTE_CHARS:
        return []
    needles = [whole]
    if _ELLIPSIS.search(quote):
        parts = sorted((fold(p).text for p in _ELLIPSIS.split(quote)), key=len, reverse=True)
        if parts and len(parts[0]) >= _MIN_ELIDED_PART:
            needles.append(parts[0])
    return needles
