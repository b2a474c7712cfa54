"""The human summary in-process: worst groups first, capped, and why a sweep stopped."""

from __future__ import annotations

import time

from prober.model import ErrorInfo, Job, Result, Status, Target
from prober.probes.tcp import TCPSpec
from prober.sinks.summary import GROUPS_SHOWN, Summary


def result(group: str, status: Status, index: int) -> Result:
    job = Job(index, Target(f"{group}-h{index}", "127.0.0.1", group), TCPSpec(name="t", port=1))
    error = ErrorInfo("refused", "connection refused") if status is Status.FAIL else None
    return Result(job, status, 1.0 + index, 1, time.time(), error)


class TestSummaryRender:
    def test_many_groups_are_capped_worst_first(self) -> None:
        """With more groups than fit, failing groups come first and the rest is counted, not listed."""
        summary = Summary(GROUPS_SHOWN + 10)
        for index in range(GROUPS_SHOWN + 9):
            summary(result(f"g{index:02d}", Status.OK, index))
        summary(result("zz-broken", Status.FAIL, 99))
        lines = summary.render(1.0, 2).splitlines()
        assert lines[1].startswith("  group zz-broken")
        assert sum(line.startswith("  group ") for line in lines) == GROUPS_SHOWN
        assert "… and 10 more groups" in "\n".join(lines)

    def test_stop_reason_is_named(self) -> None:
        """A sweep cut short by its deadline says so under the headline."""
        summary = Summary(1)
        summary(result("g", Status.FAIL, 0))
        assert "stopped early: the sweep deadline passed" in summary.render(1.0, 2, "deadline")
        assert "stopped early" not in summary.render(1.0, 2)
