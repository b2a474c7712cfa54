"""Run async tests on both event loops prober uses: asyncio's, and uvloop (the CLI's default).

A conftest opts in with `from tests.probes.loops import *`. pytest-asyncio >= 1.5 takes a
`pytest_asyncio_loop_factories` hook; older versions an `event_loop_policy` fixture (deprecated since).
Set PROBER_TEST_UVLOOP=0 to run on asyncio's loop only.

uvloop runs Python signal handlers inside one of its callbacks and logs whatever they raise, so the
failure pytest-timeout raises from SIGALRM would be swallowed and a hung test would hang for ever.
The uvloop loop used here stops and raises that failure instead, as asyncio's own loop does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio.plugin


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """A uvloop loop that lets pytest-timeout's failure end the test (None without uvloop)."""
    try:
        import uvloop
    except ImportError:
        return None

    class TimeoutAwareLoop(uvloop.Loop):  # type: ignore[misc]
        _timed_out: BaseException | None = None

        def call_exception_handler(self, context: dict[str, Any]) -> None:
            exc = context.get("exception")
            if isinstance(exc, pytest.fail.Exception):  # raised by a signal handler (pytest-timeout)
                self._timed_out = exc
                self.stop()
                return
            super().call_exception_handler(context)

        def run_until_complete(self, future: Any) -> Any:
            try:
                return super().run_until_complete(future)
            except RuntimeError:  # "Event loop stopped before Future completed": say why
                if self._timed_out is not None:
                    raise self._timed_out from None
                raise

    return TimeoutAwareLoop


def _factories() -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
    uvloop_factory = _uvloop_factory() if os.environ.get("PROBER_TEST_UVLOOP") != "0" else None
    if uvloop_factory is not None:
        factories["uvloop"] = uvloop_factory
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

            policy = uvloop.EventLoopPolicy()
            policy._loop_factory = _factories()["uvloop"]  # type: ignore[attr-defined]
            return policy
        return asyncio.DefaultEventLoopPolicy()

    __all__ = ["event_loop_policy"]
