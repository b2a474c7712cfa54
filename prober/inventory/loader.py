"""Validate a parsed inventory into frozen definitions, collecting every problem with its line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from prober.errors import InventoryError, Problem
from prober.inventory import fields, ranges
from prober.inventory.yamlsafe import LocDict, LocList, load_yaml

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_VARS = frozenset({"host", "address", "group"})


@dataclass(frozen=True)
class ProbeDef:
    """A named probe as the inventory defines it, values converted, lines kept."""

    name: str
    kind: str
    params: dict[str, Any]
    line: int
    lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class HostDecl:
    """A host entry in a group: a name or range pattern, and its own settings."""

    pattern: str
    line: int
    address: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupDef:
    """A group: hosts, the probes run on them, and group-level vars and overrides."""

    name: str
    line: int
    hosts: tuple[HostDecl, ...]
    probes: tuple[str, ...]
    vars: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Defaults:
    """Sweep-wide settings; CLI flags replace them."""

    timeout: float = 2.0
    retries: int = 1
    concurrency: int = 256
    latency_warn: float | None = None
    deadline: float | None = None
    max_fail: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Inventory:
    """A validated inventory file."""

    path: str
    defaults: Defaults
    probes: dict[str, ProbeDef]
    groups: dict[str, GroupDef]


_DEFAULT_FIELDS: dict[str, fields.Converter] = {
    "timeout": fields.duration,
    "retries": fields.integer(0, 10),
    "concurrency": fields.integer(1, 100_000),
    "latency_warn": fields.duration,
    "deadline": fields.duration,
    "max_fail": lambda v: check_max_fail(str(v)),
}


def parse_max_fail(value: str) -> tuple[float, bool]:
    """'5' → (5, False); '10%' → (10.0, True). ValueError on anything else."""
    text = value.strip()
    percent = text.endswith("%")
    number = text[:-1] if percent else text
    try:
        amount = float(number) if percent else int(number)
    except ValueError:
        raise ValueError(f"expected a count (5) or a percentage (10%), got {value!r}") from None
    if amount < 0 or (percent and amount > 100):
        raise ValueError(f"max_fail out of range: {value!r}")
    return float(amount), percent


def check_max_fail(value: str) -> str:
    parse_max_fail(value)
    return value


class _Checker:
    """Walks the parsed YAML, converting values and recording problems instead of stopping."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def add(self, line: int | None, key: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, key, message))

    def mapping(self, value: Any, line: int, key: str) -> LocDict | None:
        if isinstance(value, LocDict):
            return value
        self.add(line, key, f"expected a mapping, got {_describe(value)}")
        return None

    def convert(self, converter: fields.Converter, value: Any, line: int, key: str) -> Any:
        try:
            return converter(value)
        except ValueError as exc:
            self.add(line, key, str(exc))
            return None

    def unknown_keys(self, data: LocDict, allowed: set[str] | dict[str, Any], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.add(data.line_of(key), f"{prefix}{key}", f"unknown key (expected one of: {hint})")

    def variables(self, value: Any, line: int, key: str) -> dict[str, Any]:
        data = self.mapping(value, line, key)
        if data is None:
            return {}
        out: dict[str, Any] = {}
        for name, item in data.items():
            where = data.line_of(name)
            if not _VAR_NAME.match(name) or name in RESERVED_VARS:
                self.add(where, f"{key}.{name}", "var names are identifiers, not host/address/group")
            elif isinstance(item, bool) or not isinstance(item, str | int | float):
                self.add(where, f"{key}.{name}", f"a var must be a string or number, got {_describe(item)}")
            else:
                out[name] = item
        return out


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    kinds = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    for kind, word in kinds.items():
        if isinstance(value, kind):
            return f"{word} ({value!r})" if kind in (str, bool) else word
    return f"{type(value).__name__} ({value!r})"


def load_inventory(path: str) -> Inventory:
    """Read and validate an inventory; raise InventoryError listing every problem found."""
    raw = load_yaml(path)
    check = _Checker(path)
    if raw is None:
        raise InventoryError([Problem(path, None, "", "the file is empty")])
    if not isinstance(raw, LocDict):
        raise InventoryError([Problem(path, 1, "", "the top level must be a mapping")])
    check.unknown_keys(raw, {"defaults", "probes", "groups"}, "")
    defaults = _defaults(check, raw)
    probes = _probes(check, raw)
    groups = _groups(check, raw, probes)
    if check.problems:
        raise InventoryError(check.problems)
    return Inventory(path, defaults, probes, groups)


def _defaults(check: _Checker, raw: LocDict) -> Defaults:
    data = check.mapping(raw.get("defaults", LocDict()), raw.line_of("defaults"), "defaults")
    if data is None:
        return Defaults()
    check.unknown_keys(data, {*_DEFAULT_FIELDS, "vars"}, "defaults.")
    values: dict[str, Any] = {}
    for key, converter in _DEFAULT_FIELDS.items():
        if key in data:
            converted = check.convert(converter, data[key], data.line_of(key), f"defaults.{key}")
            if converted is not None:
                values[key] = converted
    if "vars" in data:
        values["vars"] = check.variables(data["vars"], data.line_of("vars"), "defaults.vars")
    return Defaults(**values)


def probe_params(
    check: _Checker, kind: str, data: LocDict, prefix: str
) -> tuple[dict[str, Any], dict[str, int]]:
    """Convert a probe's (or an override's) keys with the table of its kind."""
    table = {**fields.COMMON_FIELDS, **fields.KIND_FIELDS[kind]}
    params: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key, value in data.items():
        if key == "type":
            continue
        if key not in table:
            hint = ", ".join(sorted(table))
            check.add(
                data.line_of(key),
                f"{prefix}{key}",
                f"unknown key for a {kind} probe (expected one of: {hint})",
            )
            continue
        converted = check.convert(table[key], value, data.line_of(key), f"{prefix}{key}")
        if converted is not None:
            params[key] = converted
            lines[key] = data.line_of(key)
    return params, lines


def _probes(check: _Checker, raw: LocDict) -> dict[str, ProbeDef]:
    data = check.mapping(raw.get("probes"), raw.line_of("probes"), "probes")
    if data is None:
        return {}
    if not data:
        check.add(data.line, "probes", "no probes defined")
    result: dict[str, ProbeDef] = {}
    for name, body in data.items():
        key, line = f"probes.{name}", data.line_of(name)
        if not _NAME.match(name):
            check.add(line, key, "probe names use letters, digits, '_', '-' and '.'")
        spec = check.mapping(body, line, key)
        if spec is None:
            continue
        kind = spec.get("type")
        if kind not in fields.KIND_FIELDS:
            check.add(
                spec.line_of("type"), f"{key}.type", f"type must be one of http, tcp, ssh; got {kind!r}"
            )
            continue
        params, lines = probe_params(check, kind, spec, f"{key}.")
        for required in fields.REQUIRED[kind]:
            if required not in spec:
                check.add(spec.line, f"{key}.{required}", f"a {kind} probe needs '{required}'")
        result[name] = ProbeDef(name, kind, params, spec.line, lines)
    return result


def _overrides(
    check: _Checker, value: Any, line: int, key: str, probes: dict[str, ProbeDef]
) -> dict[str, dict[str, Any]]:
    data = check.mapping(value, line, key)
    if data is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, body in data.items():
        where, sub = data.line_of(name), f"{key}.{name}"
        if name not in probes:
            check.add(where, sub, f"unknown probe {name!r}")
            continue
        params = check.mapping(body, where, sub)
        if params is not None:
            if "type" in params:
                check.add(params.line_of("type"), f"{sub}.type", "an override cannot change the probe type")
            out[name] = probe_params(check, probes[name].kind, params, f"{sub}.")[0]
    return out


def _groups(check: _Checker, raw: LocDict, probes: dict[str, ProbeDef]) -> dict[str, GroupDef]:
    data = check.mapping(raw.get("groups"), raw.line_of("groups"), "groups")
    if data is None:
        return {}
    if not data:
        check.add(data.line, "groups", "no groups defined")
    result = {}
    for name, body in data.items():
        group = _group(check, name, body, data.line_of(name), probes)
        if group is not None:
            result[name] = group
    return result


def _group(check: _Checker, name: str, body: Any, line: int, probes: dict[str, ProbeDef]) -> GroupDef | None:
    key = f"groups.{name}"
    if not _NAME.match(name):
        check.add(line, key, "group names use letters, digits, '_', '-' and '.'")
    spec = check.mapping(body, line, key)
    if spec is None:
        return None
    check.unknown_keys(spec, {"hosts", "probes", "vars", "overrides"}, f"{key}.")
    if "hosts" not in spec:
        check.add(spec.line, f"{key}.hosts", "a group needs 'hosts'")
    hosts = _hosts(check, spec.get("hosts", LocList()), spec.line_of("hosts"), f"{key}.hosts", probes)
    names = _probe_names(check, spec.get("probes"), spec.line_of("probes"), f"{key}.probes", probes)
    group_vars = check.variables(spec["vars"], spec.line_of("vars"), f"{key}.vars") if "vars" in spec else {}
    overrides = (
        _overrides(check, spec["overrides"], spec.line_of("overrides"), f"{key}.overrides", probes)
        if "overrides" in spec
        else {}
    )
    return GroupDef(name, spec.line, tuple(hosts), tuple(names), group_vars, overrides)


def _probe_names(check: _Checker, value: Any, line: int, key: str, probes: dict[str, ProbeDef]) -> list[str]:
    if not isinstance(value, LocList) or not value:
        check.add(line, key, f"expected a non-empty list of probe names, got {_describe(value)}")
        return []
    names = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or item not in probes:
            known = ", ".join(sorted(probes)) or "none defined"
            check.add(value.line_of(index), f"{key}[{index}]", f"unknown probe {item!r} (known: {known})")
        elif item not in names:
            names.append(item)
    return names


def _hosts(check: _Checker, value: Any, line: int, key: str, probes: dict[str, ProbeDef]) -> list[HostDecl]:
    if isinstance(value, LocList):
        entries = [(item, value.line_of(i), f"{key}[{i}]", None) for i, item in enumerate(value)]
    elif isinstance(value, LocDict):
        entries = [(name, value.line_of(name), f"{key}.{name}", body) for name, body in value.items()]
    else:
        check.add(line, key, f"expected a list or a mapping of hosts, got {_describe(value)}")
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
    check: _Checker, pattern: Any, line: int, key: str, body: Any, probes: dict[str, ProbeDef]
) -> HostDecl | None:
    if not isinstance(pattern, str):
        check.add(line, key, f"a host must be a name or pattern string, got {_describe(pattern)}")
        return None
    try:
        ranges.validate(pattern)
    except ValueError as exc:
        check.add(line, key, str(exc))
        return None
    if body is None:
        return HostDecl(pattern, line)
    spec = check.mapping(body, line, key)
    if spec is None:
        return None
    check.unknown_keys(spec, {"address", "vars", "overrides"}, f"{key}.")
    address = None
    if "address" in spec:
        address = check.convert(fields.text, spec["address"], spec.line_of("address"), f"{key}.address")
    host_vars = check.variables(spec["vars"], spec.line_of("vars"), f"{key}.vars") if "vars" in spec else {}
    overrides = (
        _overrides(check, spec["overrides"], spec.line_of("overrides"), f"{key}.overrides", probes)
        if "overrides" in spec
        else {}
    )
    return HostDecl(pattern, line, address, host_vars, overrides)
