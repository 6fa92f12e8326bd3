"""The suite's polling helper: returns the first truthy value, awaits async predicates, fails at its deadline."""

from __future__ import annotations

import pytest

from .polling import until


async def test_returns_the_first_truthy_value_of_a_sync_or_async_predicate() -> None:
    calls = iter([0, None, "", 7])
    assert await until(lambda: next(calls)) == 7

    async def ready() -> str:
        return "yes"

    assert await until(ready) == "yes"


async def test_fails_the_test_at_the_deadline_naming_what_it_waited_for() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"the sky did not hold within 0\.01 s"):
        await until(lambda: False, limit_s=0.01, what="the sky")
