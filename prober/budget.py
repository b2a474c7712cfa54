"""Failure budgets (`max_fail`): how many of a group's hosts may fail before the gate fails.

A count (`3`: at most 3 hosts) or a percentage of the group's hosts (`10%`). Percentages follow
Ansible's `max_fail_percentage` (ansible/plugins/strategy/linear.py: the play stops when
`failed / hosts > percentage / 100`): the gate fails only when the failing share is strictly over the
percentage, so the hosts allowed are the percentage of the group rounded *down* (10% of 15 hosts is
1.5: 1 may fail, 2 fail the gate). Computed exactly (fractions), never in floating point.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prober.inventory.defs import Inventory
    from prober.model import Job
    from prober.plan import SweepSettings

_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")
EXPECTED = "expected a count of hosts (0, 3) or a percentage of the group's hosts (10%)"


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `amount` failing hosts (`percent`: that percentage of the group's hosts)."""

    amount: Fraction
    percent: bool
    text: str

    def allowed(self, hosts: int) -> int:
        """Failing hosts this budget tolerates in a group of `hosts` hosts."""
        if not self.percent:
            return int(self.amount)
        return math.floor(self.amount * hosts / 100)


NONE = Budget(Fraction(0), False, "0")  # no budget set anywhere: any failing host fails the gate


def parse(value: object) -> Budget:
    """'5' or 5 → 5 hosts; '10%' → 10% of the group's hosts. ValueError with a message otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{EXPECTED}, got {_shown(value)}")
    text = str(value)
    match = _TEXT.match(text)
    if not match or (not match.group(2) and "." in match.group(1)):
        raise ValueError(f"{EXPECTED}, got {_shown(value)}")
    amount, percent = Fraction(match.group(1)), bool(match.group(2))
    if percent and amount > 100:
        raise ValueError(f"a percentage is at most 100%, got {_shown(value)}")
    return Budget(amount, percent, f"{match.group(1)}{match.group(2)}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def budgets(
    inventory: Inventory, settings: SweepSettings, jobs: Sequence[Job]
) -> dict[str, tuple[int, Budget]]:
    """Each planned group's hosts and budget: its own max_fail, else --max-fail (which replaces
    defaults.max_fail), else none (0: any failing host fails the gate)."""
    hosts: dict[str, set[str]] = {}
    for job in jobs:
        hosts.setdefault(job.target.group, set()).add(job.target.name)
    default = settings.max_fail or NONE
    own = {name: group.max_fail for name, group in inventory.groups.items()}
    return {name: (len(names), own.get(name) or default) for name, names in hosts.items()}


__all__ = ["NONE", "Budget", "budgets", "parse"]
