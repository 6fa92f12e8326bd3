"""``Retry-After`` (RFC 9110 section 10.2.3), read one way by the client and the Groq analyzer."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable

__all__ = ["parse_retry_after"]


def parse_retry_after(value: str | None, *, clock: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from delay-seconds or an HTTP-date; ``None`` if absent or unreadable.

    A decimal fraction is accepted; a negative or non-finite number is unreadable; a date in the past is ``0.0``.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, float(email.utils.mktime_tz(parsed)) - clock())
