"""The gate's inventory keys: `max_fail` (a failure budget) and `labels` (vars copied into records)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prober import budget
from prober.inventory.checker import RESERVED_VARS, VAR_NAME, Checker, describe
from prober.inventory.defs import Defaults, GroupDef
from prober.inventory.yamlsafe import LocDict, LocList


def max_fail(check: Checker, data: LocDict, key: str) -> budget.Budget | None:
    """The `max_fail` of a mapping (defaults or a group), or None when absent or wrong (reported)."""
    if "max_fail" not in data:
        return None
    converted: budget.Budget | None = check.convert(
        budget.parse, data["max_fail"], data.line_of("max_fail"), f"{key}.max_fail"
    )
    return converted


def labels(check: Checker, data: LocDict, key: str) -> tuple[str, ...]:
    """`labels: [dc, team]`: names of vars; each a var name (not host, address or group)."""
    if "labels" not in data:
        return ()
    value, line, where = data["labels"], data.line_of("labels"), f"{key}.labels"
    if not isinstance(value, LocList):
        check.add(line, where, f"expected a list of var names, got {describe(value)}")
        return ()
    names: list[str] = []
    for index, item in enumerate(value):
        spot = f"{where}[{index}]"
        if not isinstance(item, str) or not VAR_NAME.match(item):
            check.add(value.line_of(index), spot, f"expected a var name, got {describe(item)}")
        elif item in RESERVED_VARS:
            check.add(value.line_of(index), spot, f"{item!r} is in every record already; list vars only")
        elif item not in names:
            names.append(item)
    return tuple(names)


def check_label_vars(check: Checker, raw: LocDict, defaults: Defaults, groups: dict[str, GroupDef]) -> None:
    """A label naming a var that no layer sets (defaults.vars, a group's or a host's vars) is a typo:
    it would be missing from every record. A var set for some hosts only is fine (absent elsewhere)."""
    everywhere = set(defaults.vars)
    for group in groups.values():
        found = everywhere | set(group.vars) | {name for host in group.hosts for name in host.vars}
        _unset(check, raw, ("groups", group.name), group.labels, found)
        everywhere |= found
    _unset(check, raw, ("defaults",), defaults.labels, everywhere)


def _unset(
    check: Checker, raw: LocDict, path: tuple[str, ...], names: Iterable[str], found: set[str]
) -> None:
    node: Any = raw
    for part in path:
        node = node.get(part) if isinstance(node, LocDict) else None
    listed = node.get("labels") if isinstance(node, LocDict) else None
    for name in names:
        if name not in found and isinstance(listed, LocList):
            index = listed.index(name)
            message = f"var {name!r} is not set in any vars this applies to (a typo?)"
            check.add(listed.line_of(index), f"{'.'.join(path)}.labels[{index}]", message)


__all__ = ["check_label_vars", "labels", "max_fail"]
