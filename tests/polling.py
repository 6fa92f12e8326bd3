"""The suite's one polling helper: for a state that has no event to await, under a deadline."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

__all__ = ["until"]


async def until(
    predicate: Callable[[], object | Awaitable[object]], *, limit_s: float = 10.0, every_s: float = 0.0, what: str = ""
) -> Any:
    """Call ``predicate`` (sync or async) until it returns a truthy value, and return that value.

    Between calls it yields to the loop (``every_s`` = 0) or waits ``every_s`` s: use a pause only
    when polling something outside this process. Fails the test after ``limit_s`` s, naming ``what``.
    An exception from ``predicate`` (an ``assert``) ends the polling at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            pytest.fail(f"{what or 'the condition'} did not hold within {limit_s:g} s")
        await asyncio.sleep(every_s)
