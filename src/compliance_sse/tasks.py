"""Stopping tasks for sure: a leaf, used wherever a loop that talks to Redis is cancelled."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["stop"]


async def stop(*tasks: asyncio.Task[Any]) -> None:
    """Cancel ``tasks`` and wait until they have ended (their exceptions are retrieved, not raised).

    One ``cancel()`` is not enough on Python 3.11: ``asyncio.wait_for``, which redis-py uses to
    send every command under its socket timeout, drops a cancellation that arrives as the send
    completes (CPython gh-86296, fixed in 3.12), and the task goes on as if never cancelled. A
    loop stopped that way ran forever and its owner's ``close()`` waited for it forever (a test
    teardown hung about once in 20 runs). So cancel again until they are done.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=0.1)
    await asyncio.gather(*tasks, return_exceptions=True)
