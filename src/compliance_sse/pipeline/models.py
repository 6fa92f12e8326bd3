"""Values passed between extraction, analysis and the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

__all__ = [
    "CATEGORIES",
    "AnalysisResult",
    "Evidence",
    "ExtractedPage",
    "Finding",
    "Job",
    "Report",
    "risk_level",
]

Category = Literal[
    "aml",
    "kyc_cdd",
    "sanctions",
    "bribery_corruption",
    "cross_border",
    "data_protection",
    "personal_data",
    "financial_regulation",
    "risk_management",
    "document_integrity",
    "other",
]

CATEGORIES: tuple[str, ...] = get_args(Category)


@dataclass(frozen=True, slots=True)
class Job:
    """An accepted upload: what the runner needs to process it."""

    job_id: str
    data: bytes = field(repr=False)
    doc_name: str
    sha256: str
    password: str | None = field(default=None, repr=False)  # never in a log line
    tenant: str = "default"


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """The text of one page (``number`` counts from 1). ``error`` is a short
    machine word (e.g. ``stream_error``) when pypdf failed on this page; its
    ``text`` is then empty."""

    number: int
    text: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    page: int
    quote: str


@dataclass(slots=True)
class Finding:
    """One flag of the report; ``evidence`` quotes text found verbatim on its page."""

    id: str
    category: str
    title: str
    severity: int
    why_it_matters: str
    recommendation: str
    evidence: list[Evidence] = field(default_factory=list)
    rule_id: str | None = None
    source: str = "rules"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class AnalysisResult:
    """What an analyzer returns once every page has been seen."""

    findings: list[Finding]
    overall_risk: float
    summary: str
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def risk_level(risk: float) -> str:
    """The contract's bands: CRITICAL >= 0.8, HIGH >= 0.6, MEDIUM >= 0.4, LOW >= 0.2, else MINIMAL."""
    if risk >= 0.8:
        return "CRITICAL"
    if risk >= 0.6:
        return "HIGH"
    if risk >= 0.4:
        return "MEDIUM"
    if risk >= 0.2:
        return "LOW"
    return "MINIMAL"


@dataclass(slots=True)
class Report:
    """The final report; ``to_dict`` is the seed-compatible JSON shape (fields are added, never renamed)."""

    job_id: str
    doc_name: str
    sha256: str
    page_count: int
    analyzer: str
    summary: str
    overall_risk: float
    risk_level: str
    flags: list[Finding]
    pages_without_text: list[int]
    truncated: bool
    duration_s: float
    model: str | None = None
    notes: list[str] = field(default_factory=list)
    page_errors: dict[int, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["page_errors"] = {str(k): v for k, v in self.page_errors.items()}
        return d
