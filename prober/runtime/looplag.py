"""How late the event loop runs, watched for a whole sweep: the worst lag goes in the sweep line."""

from __future__ import annotations

import asyncio
import time

from prober import logs

# A check every 20 ms: a stall of d seconds delays at least one check by d - 0.02 s, so the worst lag
# reported is within 20 ms of the longest stall. 50 wake-ups a second cost ~1 ms of CPU per second.
LAG_CHECK_S = 0.02


class LagWatch:
    """Runs a timer every `every` seconds and keeps how late it fired at worst (`max_ms`).

    Warns once if a stall exceeds a good part of the shortest probe timeout: the CPU, not the
    network, then makes probes slow or time out (e.g. too much concurrency for one core).
    """

    def __init__(self, shortest_timeout: float, every: float = LAG_CHECK_S) -> None:
        self.shortest_timeout = shortest_timeout
        self.every = every
        self.max_s = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def max_ms(self) -> float:
        return round(self.max_s * 1000, 1)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def stop(self) -> None:
        """Stop watching (the timer task ends at the loop's next turn); max_ms is final."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _watch(self) -> None:
        limit = max(0.05, self.shortest_timeout / 4)
        warned = False
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.every)
            lag = time.perf_counter() - before - self.every
            if lag > self.max_s:
                self.max_s = lag
            if lag > limit and not warned:
                warned = True
                logs.get().warning(
                    "event loop running late: latencies include CPU queueing and timeouts may be false; "
                    "lower --concurrency",
                    lag_ms=round(lag * 1000),
                    shortest_timeout_ms=round(self.shortest_timeout * 1000),
                )


__all__ = ["LAG_CHECK_S", "LagWatch"]
