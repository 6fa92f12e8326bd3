"""Long fault and leak runs, behind the ``soak`` marker (``make soak``; ``.ci/run`` runs them shortened)."""

from __future__ import annotations

import os

SOAK_S_ENV = "CSSE_SOAK_S"


def soak_seconds(default: float = 600.0) -> float:
    """How long a soak runs: ``CSSE_SOAK_S`` (``make soak SOAK_S=60``), else ``default``."""
    return float(os.environ.get(SOAK_S_ENV) or default)
