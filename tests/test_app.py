"""The application factory: what it sets up for the whole process while the app runs."""

from __future__ import annotations

import sys

from aiohttp import web

from compliance_sse.app import create_app
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
