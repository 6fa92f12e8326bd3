"""Fixtures for the extraction tests: extractors that clean up, an executor that records."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

from compliance_sse.pipeline.extract import Extractor


class RecordingExecutor(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that keeps every future it hands out and the thread each job ran on."""

    def __init__(self, workers: int = 2) -> None:
        super().__init__(workers, thread_name_prefix="test-extract")
        self.futures: list[concurrent.futures.Future[Any]] = []
        self.thread_ids: list[int] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        def run() -> Any:
            self.thread_ids.append(threading.get_ident())
            return fn(*args, **kwargs)

        future = super().submit(run)
        self.futures.append(future)
        return future


@pytest.fixture
def recording_executor() -> Iterator[RecordingExecutor]:
    executor = RecordingExecutor()
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


MakeExtractor = Callable[..., Awaitable[Extractor]]


@pytest_asyncio.fixture
async def make_extractor() -> AsyncIterator[MakeExtractor]:
    """Build and start an :class:`Extractor`; every one made is closed after the test."""
    made: list[Extractor] = []

    async def make(**kwargs: Any) -> Extractor:
        extractor = Extractor(**kwargs)
        made.append(extractor)
        await extractor.start()
        return extractor

    yield make
    for extractor in made:
        await extractor.close()


@pytest.fixture(params=["thread", "process"])
def isolation(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value
