"""The word caches of the concept reader stay small whatever words the uploads carry (found by the soak)."""

from __future__ import annotations

import random
import string
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from compliance_sse.analyzers import concepts

WORD_CACHE_CAP_MB = 5.0


@pytest.fixture
def traced() -> Iterator[Callable[[], int]]:
    """Bytes allocated and still held since the fixture started."""
    concepts.read_sentence("Payment in cash through an offshore account.")
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    yield lambda: tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()


def test_numbers_of_2000_uploads_leave_nothing_behind(traced: Callable[[], int]) -> None:
    rng = random.Random(15)
    for n in range(2000):
        concepts.read_sentence(f"Document {n}-{rng.random()} of invoice {rng.randrange(10**9)} for 2026.")
    assert traced() < 50_000  # before: 3.5 MB here (1.7 KB a sentence), never given back


def test_the_word_cache_holds_a_bounded_number_of_words(traced: Callable[[], int]) -> None:
    rng = random.Random(15)
    for _ in range(12_000):
        concepts.read_sentence("".join(rng.choices(string.ascii_lowercase, k=9)))
    assert traced() < WORD_CACHE_CAP_MB * 1e6  # before: 7.4 MB here, 37 MB with both caches full
