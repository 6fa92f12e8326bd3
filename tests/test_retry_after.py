"""``Retry-After``: one parser for the client and the Groq analyzer (RFC 9110 section 10.2.3)."""

from __future__ import annotations

import pytest

from compliance_sse.retry_after import parse_retry_after

NOW = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("7", 7.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("", None),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # a date in the past: retry now
    ],
)
def test_delay_seconds_and_http_dates(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, clock=lambda: NOW) == expected
