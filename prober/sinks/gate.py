"""The gate: per group, which hosts fail and whether that is within the group's budget (`max_fail`).

A host fails in a group when any of its probes there fails (with `--fail-on warn`, or warns), as a host
fails an Ansible play when any of its tasks does. With `--baseline`, only hosts with a failure that is
new since the baseline (the record says `"baseline": "new"`) count toward the budget; hosts that only
still fail are listed, not counted. The gate fails when any group has more counted hosts than its
budget allows (prober.budget).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prober.budget import Budget
from prober.sinks.base import Record


@dataclass
class GroupGate:
    """One group's budget and its failing hosts (host → True when it counts toward the budget)."""

    hosts: int
    budget: Budget
    failing: dict[str, bool] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        return sum(self.failing.values())

    @property
    def allowed(self) -> int:
        return self.budget.allowed(self.hosts)

    @property
    def passed(self) -> bool:
        return self.counted <= self.allowed


class Gate:
    """A sink: counts failing hosts per group as records arrive; `passed` is the verdict."""

    def __init__(
        self, groups: Mapping[str, tuple[int, Budget]], *, fail_on: str = "fail", baseline: str | None = None
    ) -> None:
        self.groups = {name: GroupGate(hosts, budget) for name, (hosts, budget) in groups.items()}
        self.fail_on = fail_on
        self.failing_statuses = frozenset({"fail", "warn"} if fail_on == "warn" else {"fail"})
        self.baseline = baseline  # the baseline's path, when records carry new/still marks

    def record(self, record: Record) -> None:
        if record["status"] not in self.failing_statuses:
            return
        group = self.groups.get(record["group"])
        if group is None:  # not planned (a record fed from elsewhere): no budget to hold it against
            return
        counts = self.baseline is None or record.get("baseline") != "still"
        host = record["host"]
        group.failing[host] = group.failing.get(host, False) or counts

    def close(self, sweep: Record | None = None) -> None:
        """Nothing to write: the verdict goes into the sweep line and the exit code."""

    @property
    def passed(self) -> bool:
        return all(group.passed for group in self.groups.values())

    def failing_hosts(self) -> int:
        return sum(len(group.failing) for group in self.groups.values())

    def worst_first(self) -> Iterator[tuple[str, GroupGate]]:
        """Groups with failing hosts: over budget first, then most failing hosts, then by name."""
        failing = [(name, group) for name, group in self.groups.items() if group.failing]
        yield from sorted(failing, key=lambda item: (item[1].passed, -len(item[1].failing), item[0]))

    def sweep_fields(self) -> dict[str, Any]:
        """The sweep line's `gate`: the verdict, and per group its budget, failing hosts and verdict."""
        return {
            "gate": {
                "passed": self.passed,
                "fail_on": self.fail_on,
                "baseline": self.baseline,
                "groups": {
                    name: {
                        "hosts": group.hosts,
                        "failing_hosts": len(group.failing),
                        "counted": group.counted,
                        "max_fail": group.budget.text,
                        "allowed": group.allowed,
                        "passed": group.passed,
                    }
                    for name, group in sorted(self.groups.items())
                },
            }
        }


__all__ = ["Gate", "GroupGate"]
