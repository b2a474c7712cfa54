"""The `groups:` section: hosts (names, ranges, per-host settings), probe lists, vars and overrides."""

from __future__ import annotations

from typing import Any

from prober.inventory import fields, gatekeys, ranges
from prober.inventory.checker import NAME, Checker, describe
from prober.inventory.defs import GroupDef, HostDecl, Layer, ProbeDef
from prober.inventory.yamlsafe import LocDict, LocList

_GROUP_KEYS = {"hosts", "probes", "vars", "overrides", "max_fail", "labels"}
_HOST_KEYS = {"address", "vars", "overrides"}


def parse_groups(
    check: Checker, raw: LocDict, probes: dict[str, ProbeDef], sourced: bool = False
) -> dict[str, GroupDef]:
    """Every group; with `sourced` (the file has `sources:`), a group may leave out `hosts` to name a
    source group (sourcemerge.py checks that it does)."""
    if "groups" not in raw:
        check.add(raw.line, "groups", "missing: an inventory needs a 'groups:' section")
        return {}
    data = check.mapping(raw["groups"], raw.line_of("groups"), "groups")
    if data is None:
        return {}
    if not data:
        check.add(data.line, "groups", "no groups defined")
    result = {}
    for name, body in data.items():
        group = _group(check, name, body, data.line_of(name), probes, sourced)
        if group is not None:
            result[name] = group
    return result


def _group(
    check: Checker, name: str, body: Any, line: int, probes: dict[str, ProbeDef], sourced: bool
) -> GroupDef | None:
    key = f"groups.{name}"
    if not NAME.match(name):
        check.add(line, key, "group names use letters, digits, '_', '-' and '.'")
    spec = check.mapping(body, line, key)
    if spec is None:
        return None
    check.unknown_keys(spec, _GROUP_KEYS, f"{key}.")
    hosts: list[HostDecl] = []
    if "hosts" in spec:
        hosts = _hosts(check, spec["hosts"], spec.line_of("hosts"), f"{key}.hosts", probes)
    elif not sourced:
        message = "a group needs 'hosts' (or a source group of its name: sources:)"
        check.add(spec.line, f"{key}.hosts", message)
    if "probes" not in spec:
        check.add(spec.line, f"{key}.probes", "a group needs 'probes' (a list of probe names)")
        names = []
    else:
        names = _probe_names(check, spec["probes"], spec.line_of("probes"), f"{key}.probes", probes)
    group_vars = check.variables(spec["vars"], spec.line_of("vars"), f"{key}.vars") if "vars" in spec else {}
    overrides = _overrides(check, spec, f"{key}.overrides", probes)
    budget, labels = gatekeys.max_fail(check, spec, key), gatekeys.labels(check, spec, key)
    return GroupDef(name, spec.line, tuple(hosts), tuple(names), group_vars, overrides, budget, labels)


def _probe_names(check: Checker, value: Any, line: int, key: str, probes: dict[str, ProbeDef]) -> list[str]:
    if not isinstance(value, LocList) or not value:
        check.add(line, key, f"expected a non-empty list of probe names, got {describe(value)}")
        return []
    names: list[str] = []
    for index, item in enumerate(value):
        if isinstance(item, str) and item in check.broken_probes:
            continue
        if not isinstance(item, str) or item not in probes:
            known = ", ".join(sorted(probes)) or "none defined"
            message = f"unknown probe {fields.shown(item)} (known: {known})"
            check.add(value.line_of(index), f"{key}[{index}]", message)
        elif item not in names:
            names.append(item)
    return names


def _overrides(check: Checker, spec: LocDict, key: str, probes: dict[str, ProbeDef]) -> dict[str, Layer]:
    if "overrides" not in spec:
        return {}
    data = check.mapping(spec["overrides"], spec.line_of("overrides"), key)
    if data is None:
        return {}
    out: dict[str, Layer] = {}
    for name, body in data.items():
        where, sub = data.line_of(name), f"{key}.{name}"
        if name in check.broken_probes:
            continue
        if name not in probes:
            check.add(where, sub, f"unknown probe {name!r} (known: {', '.join(sorted(probes)) or 'none'})")
            continue
        params = check.mapping(body, where, sub)
        if params is not None:
            if "type" in params:
                check.add(params.line_of("type"), f"{sub}.type", "an override cannot change the probe type")
            out[name] = check.probe_params(probes[name].kind, params, sub)
    return out


def _hosts(check: Checker, value: Any, line: int, key: str, probes: dict[str, ProbeDef]) -> list[HostDecl]:
    if isinstance(value, LocList):
        entries = [(item, value.line_of(i), f"{key}[{i}]", None) for i, item in enumerate(value)]
    elif isinstance(value, LocDict):
        entries = [(name, value.line_of(name), f"{key}.{name}", body) for name, body in value.items()]
    else:
        check.add(line, key, f"expected a list or a mapping of hosts, got {describe(value)}")
        return []
    if not entries:
        check.add(line, key, "no hosts listed")
    hosts = []
    for pattern, where, sub, body in entries:
        host = _host(check, pattern, where, sub, body, probes)
        if host is not None:
            hosts.append(host)
    return hosts


def _host(
    check: Checker, pattern: Any, line: int, key: str, body: Any, probes: dict[str, ProbeDef]
) -> HostDecl | None:
    if not isinstance(pattern, str):
        check.add(line, key, f"a host must be a name or pattern string, got {describe(pattern)}")
        return None
    try:
        ranges.validate(pattern)
    except ValueError as exc:
        check.add(line, key, str(exc))
        return None
    if body is None:
        return HostDecl(pattern, line, key=key)
    spec = check.mapping(body, line, key)
    if spec is None:
        return None
    check.unknown_keys(spec, _HOST_KEYS, f"{key}.")
    address = None
    if "address" in spec:
        address = check.convert(_address, spec["address"], spec.line_of("address"), f"{key}.address")
        if address and (count := ranges.count(pattern)) > 1:
            message = f"one address for {count} hosts ({pattern!r} is a range); give each host its own"
            check.add(spec.line_of("address"), f"{key}.address", message)
    host_vars = check.variables(spec["vars"], spec.line_of("vars"), f"{key}.vars") if "vars" in spec else {}
    overrides = _overrides(check, spec, f"{key}.overrides", probes)
    return HostDecl(pattern, line, address, host_vars, overrides, key=key)


def _address(value: Any) -> str:
    """A host name or IP address, taken literally (no ranges, no templates)."""
    text = fields.text(value)
    ranges.check_host(text)
    return text
