"""Cut a stream of pages into page-aligned chunks that fit a token budget.

Pages are fed one at a time as extraction yields them; a chunk is handed back as soon as the next page
would not fit, so its model request can start while later pages are still being extracted. A page is
never split unless it alone is over the budget; then it is cut at whitespace into parts that each fit.

Tokens are estimated, not counted: no tokenizer is shipped. About four characters of ASCII text make a
token for the Llama/GPT tokenizers; non-ASCII text (accents, CJK) costs more, so each extra UTF-8 byte
adds half a token. The estimate errs on the high side, which only makes chunks a little smaller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..pipeline.models import ExtractedPage

__all__ = ["DEFAULT_CHUNK_TOKENS", "Chunk", "Chunker", "PageSlice", "estimate_tokens"]

DEFAULT_CHUNK_TOKENS = 6000
"""Document tokens per request: leaves room for the prompt and the answer in an 8k-token rate window."""

_MIN_BUDGET = 50


def estimate_tokens(text: str) -> int:
    """A conservative token estimate for ``text`` (see the module docstring)."""
    extra_bytes = len(text.encode("utf-8")) - len(text)
    return (len(text) + 3) // 4 + (extra_bytes + 1) // 2


@dataclass(frozen=True, slots=True)
class PageSlice:
    """The text of one page, or of part ``part`` of ``parts`` of a page that was over the budget."""

    number: int
    text: str
    part: int = 1
    parts: int = 1


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive page slices for one request.

    ``pages_done`` lists the pages whose text ends in this chunk (and pages without text that came with
    it): when the chunk's answer arrives, those pages are analysed. A chunk may have no ``slices`` when
    only pages without text were left at the end.
    """

    index: int
    slices: tuple[PageSlice, ...]
    pages_done: tuple[int, ...]
    tokens: int

    @property
    def pages(self) -> tuple[int, ...]:
        """The distinct page numbers whose text is in this chunk, in order."""
        return tuple(dict.fromkeys(s.number for s in self.slices))


@dataclass(slots=True)
class _Open:
    slices: list[PageSlice] = field(default_factory=list)
    pages_done: list[int] = field(default_factory=list)
    tokens: int = 0


class Chunker:
    """Feeds pages in, hands chunks out; one instance per document. Not thread-safe.

    Raises ``ValueError`` for a budget under 50 tokens.
    """

    def __init__(self, budget_tokens: int = DEFAULT_CHUNK_TOKENS) -> None:
        if budget_tokens < _MIN_BUDGET:
            raise ValueError(f"chunk budget must be at least {_MIN_BUDGET} tokens, got {budget_tokens}")
        self.budget = budget_tokens
        self._open = _Open()
        self._next_index = 0

    def add(self, page: ExtractedPage) -> list[Chunk]:
        """Add the next page; returns the chunks it completed (often none, sometimes several)."""
        done: list[Chunk] = []
        if not page.text.strip():
            self._open.pages_done.append(page.number)
            return done
        parts = _split(page.text, self.budget)
        for i, text in enumerate(parts, start=1):
            tokens = estimate_tokens(text)
            if self._open.slices and self._open.tokens + tokens > self.budget:
                done.append(self._close())
            self._open.slices.append(PageSlice(page.number, text, i, len(parts)))
            self._open.tokens += tokens
        self._open.pages_done.append(page.number)
        return done

    def flush(self) -> Chunk | None:
        """Close the last chunk after the last page; ``None`` if nothing is left. Can be called twice."""
        if not self._open.slices and not self._open.pages_done:
            return None
        return self._close()

    def _close(self) -> Chunk:
        chunk = Chunk(self._next_index, tuple(self._open.slices), tuple(self._open.pages_done), self._open.tokens)
        self._next_index += 1
        self._open = _Open()
        return chunk


def _split(text: str, budget: int) -> list[str]:
    """Cut ``text`` into parts of at most ``budget`` estimated tokens, at whitespace where possible."""
    parts: list[str] = []
    rest = text
    while estimate_tokens(rest) > budget:
        # Characters per token in this text, so non-ASCII text gets proportionally shorter parts.
        limit = max(1, len(rest) * budget // estimate_tokens(rest))
        cut = _cut_at_space(rest, limit)
        while cut > 1 and estimate_tokens(rest[:cut]) > budget:
            cut = _cut_at_space(rest, cut * 9 // 10)
        parts.append(rest[:cut])
        rest = rest[cut:]
    parts.append(rest)
    return parts


def _cut_at_space(text: str, limit: int) -> int:
    for sep in ("\n\n", "\n", ". ", " "):
        at = text.rfind(sep, limit * 3 // 4, limit)
        if at > 0:
            return at + len(sep)
    return max(1, limit)
