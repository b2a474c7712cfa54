"""What the asyncio peers share: reading target files, a bounded gather, uvloop when installed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any


def read_lines(path: str) -> list[str]:
    with open(path) as handle:
        return [line.strip() for line in handle if line.strip()]


async def bounded(items: list[str], limit: int, check: Callable[[str], Awaitable[bool]]) -> list[bool]:
    """check() every item with at most `limit` in flight (the classic Semaphore + gather loop)."""
    semaphore = asyncio.Semaphore(limit)

    async def one(item: str) -> bool:
        async with semaphore:
            return await check(item)

    return await asyncio.gather(*(one(item) for item in items))


def run(coro: Coroutine[Any, Any, list[bool]], use_uvloop: bool = True) -> None:
    """Run on uvloop (as prober does) and print the counts as one JSON line."""
    factory = None
    if use_uvloop:
        try:
            import uvloop

            factory = uvloop.new_event_loop
        except ImportError:
            pass
    with asyncio.Runner(loop_factory=factory) as runner:
        results = runner.run(coro)
    print(json.dumps({"ok": sum(results), "fail": len(results) - sum(results)}))
