"""`prober watch --spread`: each host's probes start at a fixed point of the interval, not all at once.

A host's point is a hash of its name, so it is the same in every sweep and on every restart, and adding
or removing hosts moves no other host. Jobs are handed to the engine in start order and each waits for
its start *before* its clock starts (Engine.pace), so the spread never eats into a probe's timeout.
The points fill a window that leaves room for the slowest probe to finish before the next tick: the
interval less the longest probe's worst case (timeout times attempts, plus the retries' backoff) and 10%.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from prober.model import Job

if TYPE_CHECKING:
    from prober.runtime.probeone import Plan

MARGIN = 0.1  # of the interval, kept free at its end
BACKOFF_MAX_S = 1.5  # the engine's longest pause between attempts (backoff(): 1 s, jitter up to 1.5x)


def host_point(name: str) -> float:
    """A fixed fraction in [0, 1) for a host name."""
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def worst_probe(jobs: Sequence[Job]) -> float:
    """The longest any job can take: every attempt timing out, with the backoff between them."""
    return max(
        (job.spec.timeout * (job.spec.retries + 1) + BACKOFF_MAX_S * job.spec.retries for job in jobs),
        default=0.0,
    )


def window(interval: float, jobs: Sequence[Job]) -> float:
    """Seconds over which start times are spread (0: the interval is too short to spread at all)."""
    return max(0.0, interval * (1 - MARGIN) - worst_probe(jobs))


def longest_sweep(plan: Plan, spread: float) -> float:
    """What a sweep of the plan can take at most: its jobs in waves of `concurrency`, each wave as long
    as the worst probe, after the spread window. A sweep running twice that long is stuck."""
    waves = math.ceil(len(plan.jobs) / max(1, plan.settings.concurrency))
    return spread + waves * worst_probe(plan.jobs)


class Spread:
    """The plan in start order, each job's offset from the first start, and the engine's `pace`."""

    def __init__(self, jobs: Sequence[Job], seconds: float) -> None:
        points: dict[str, float] = {}
        keyed = []
        for position, job in enumerate(jobs):
            name = job.target.name
            point = points.get(name)
            if point is None:
                point = points[name] = host_point(name)
            keyed.append((point, position, job))  # position: a host's probes keep their plan order
        keyed.sort(key=lambda item: (item[0], item[1]))
        self.jobs: tuple[Job, ...] = tuple(job for _, _, job in keyed)
        self.offsets: tuple[float, ...] = tuple(point * seconds for point, _, _ in keyed)
        self.seconds = seconds
        self._start: float | None = None

    def reset(self) -> None:
        """Before each sweep: offsets count from its first pace() call (after preparation)."""
        self._start = None

    async def pace(self, slot: int) -> None:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        delay = self._start + self.offsets[slot] - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)


__all__ = ["Spread", "host_point", "longest_sweep", "window", "worst_probe"]
