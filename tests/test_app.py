"""The application factory: what it sets up for the whole process while the app runs."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest
from aiohttp import web

from compliance_sse.app import _close_within, create_app
from compliance_sse.pipeline.extract import DEFAULT_SWITCH_INTERVAL_S
from compliance_sse.settings import Settings


async def test_the_app_sets_the_gil_switch_interval_for_its_life_in_both_isolations() -> None:
    before = sys.getswitchinterval()
    for isolation in ("thread", "process"):
        runner = web.AppRunner(create_app(Settings(extract_isolation=isolation)))
        await runner.setup()
        try:
            assert sys.getswitchinterval() == DEFAULT_SWITCH_INTERVAL_S
        finally:
            await runner.cleanup()
        assert sys.getswitchinterval() == before


async def test_the_app_collects_young_objects_less_often_for_its_life() -> None:
    """Fewer young collections: thousands of streams connecting set off no full collection (docs/BENCHMARKS.md)."""
    before = gc.get_threshold()
    runner = web.AppRunner(create_app(Settings()))
    await runner.setup()
    try:
        assert gc.get_threshold() == (10_000, *before[1:])
    finally:
        await runner.cleanup()
    assert gc.get_threshold() == before


async def test_a_close_that_never_returns_does_not_hold_shutdown(caplog: pytest.LogCaptureFixture) -> None:
    never = asyncio.Event()
    closing = asyncio.ensure_future(never.wait())
    await _close_within("the stuck thing", closing, 0.01)
    assert "the stuck thing did not close" in caplog.text
    await asyncio.sleep(0)  # let the cancellation land
    assert closing.cancelled()


async def test_a_close_that_fails_still_raises() -> None:
    async def broken() -> None:
        raise RuntimeError("broken close")

    with pytest.raises(RuntimeError, match="broken close"):
        await _close_within("the broken thing", broken(), 1.0)
