"""Run async tests on both event loops prober uses: asyncio's, and uvloop (the CLI's default).

A conftest opts in with `from tests.probes.loops import *`. pytest-asyncio >= 1.5 takes a
`pytest_asyncio_loop_factories` hook; older versions an `event_loop_policy` fixture (deprecated since).
Set PROBER_TEST_UVLOOP=0 to run on asyncio's loop only.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio.plugin


def _factories() -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
    if os.environ.get("PROBER_TEST_UVLOOP") != "0":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            factories["uvloop"] = uvloop.new_event_loop
    return factories


if hasattr(getattr(pytest_asyncio.plugin, "PytestAsyncioSpecs", None), "pytest_asyncio_loop_factories"):

    def pytest_asyncio_loop_factories(config: Any, item: Any) -> dict[str, Callable[[], Any]]:
        """pytest-asyncio's hook: each async test runs once per available loop."""
        return _factories()

    __all__ = ["pytest_asyncio_loop_factories"]
else:

    @pytest.fixture(scope="session", params=list(_factories()))
    def event_loop_policy(request: pytest.FixtureRequest) -> asyncio.AbstractEventLoopPolicy:
        """pytest-asyncio's (older) fixture: each async test runs once per available loop."""
        if request.param == "uvloop":
            import uvloop

            return uvloop.EventLoopPolicy()
        return asyncio.DefaultEventLoopPolicy()

    __all__ = ["event_loop_policy"]
