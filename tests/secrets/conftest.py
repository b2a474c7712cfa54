"""Fixtures for the secrets tests: per-test probe resources, a test CA, recording servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from prober.runtime.resources import Resources
from tests.probes.conftest import CertFactory
from tests.secrets.servers import Recorder


@pytest.fixture
async def resources() -> AsyncIterator[Resources]:
    res = Resources(concurrency=8)
    yield res
    await res.aclose()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFactory:
    return CertFactory(tmp_path_factory.mktemp("certs"))


@pytest.fixture
async def recorder() -> AsyncIterator[Callable[..., Awaitable[Recorder]]]:
    """Factory: `await recorder(address, ssl_context=None)` → a started Recorder, stopped after the test."""
    async with AsyncExitStack() as stack:

        async def start(address: str = "127.0.0.1", **kwargs: Any) -> Recorder:
            return await stack.enter_async_context(Recorder(address, **kwargs))

        yield start
