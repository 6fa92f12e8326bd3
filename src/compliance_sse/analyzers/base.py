"""The analyzer interface: pages in as they are extracted, findings out as soon as found."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..pipeline.models import AnalysisResult, Evidence, ExtractedPage, Finding

__all__ = ["AnalysisContext", "Analyzer", "RuleText"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RuleText:
    """What an offline rule tells the reviewer (pattern rules and concept rules alike)."""

    id: str
    category: str
    severity: int
    title: str
    why_it_matters: str
    recommendation: str

    def finding(self, fid: str, evidence: list[Evidence], severity: int | None = None) -> Finding:
        """A finding of this rule with ``evidence``, at the rule's severity unless told otherwise."""
        return Finding(
            id=fid,
            category=self.category,
            title=self.title,
            severity=self.severity if severity is None else severity,
            why_it_matters=self.why_it_matters,
            recommendation=self.recommendation,
            evidence=evidence,
            rule_id=self.id,
        )


async def _run_inline(fn: Callable[[], Any]) -> Any:
    return fn()


async def _ignore_finding(finding: Finding) -> None:
    return None


async def _ignore_progress(done: int, total: int, message: str) -> None:
    return None


@dataclass(slots=True)
class AnalysisContext:
    """What the runner gives an analyzer for one document.

    ``on_finding`` is awaited once per new finding, as soon as it is made (the
    runner turns it into a ``flag`` event). ``on_progress(done, total, message)``
    reports analysis progress in the analyzer's own units (pages, chunks).
    ``run_blocking(fn)`` runs CPU-heavy synchronous work off the event loop.
    """

    doc_name: str
    page_count: int
    on_finding: Callable[[Finding], Awaitable[None]] = _ignore_finding
    on_progress: Callable[[int, int, str], Awaitable[None]] = _ignore_progress
    run_blocking: Callable[[Callable[[], Any]], Awaitable[Any]] = _run_inline


class Analyzer(abc.ABC):
    """Consumes pages as extraction yields them and returns the merged result.

    An analyzer must not raise anything but :class:`~compliance_sse.errors.ComplianceError`
    subclasses (``AnalyzerUnavailable`` for a model that failed); anything else is
    reported as ``internal``.
    """

    name: str = "base"
    model: str | None = None

    @abc.abstractmethod
    async def analyze(self, pages: AsyncIterator[ExtractedPage], ctx: AnalysisContext) -> AnalysisResult:
        """Analyse every page of ``pages``; call ``ctx.on_finding`` for each new finding."""

    async def close(self) -> None:
        """Release resources; may be called twice."""
        return None
