"""Result → the record a sweep writes: the documented record (prober.record), plus what this sweep
adds to it: with --baseline, whether each failure is new or was failing already."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prober.model import Result, Status
from prober.record import to_record
from prober.results.baseline import Baseline


class Recorder:
    """Makes every record of one sweep, in one process or in each worker (it is inherited by fork)."""

    def __init__(
        self,
        run_id: str,
        *,
        baseline: Baseline | None = None,
        fail_on: str = "fail",
        stamp: Mapping[str, str] | None = None,
    ) -> None:
        self.run_id = run_id
        self.baseline = baseline
        self.stamp = dict(stamp or {})  # with --shard: the shard and the plan's fingerprint
        # What counts as failing for the gate, here and in the baseline: fail (and warn with
        # --fail-on warn). A warning that was already failing in the baseline is "still" failing.
        self.failing = frozenset({"fail", "warn"} if fail_on == "warn" else {"fail"})
        self._marked = frozenset({Status.FAIL, Status.WARN} if fail_on == "warn" else {Status.FAIL})

    def __call__(self, result: Result) -> dict[str, Any]:
        record = to_record(result, self.run_id)
        if self.baseline is not None and result.status in self._marked:
            old = self.baseline.outcomes.get((record["host"], record["probe"]))
            record["baseline"] = "still" if old is not None and old.status in self.failing else "new"
        if self.stamp:
            record.update(self.stamp)
        return record


__all__ = ["Recorder"]
