"""Validate a parsed inventory into frozen definitions, collecting every problem with its line."""

from __future__ import annotations

from typing import Any

from prober.errors import InventoryError, Problem
from prober.inventory import fields, gatekeys, tables
from prober.inventory.checker import NAME, Checker, describe
from prober.inventory.defs import Defaults, GroupDef, HostDecl, Inventory, Layer, ProbeDef
from prober.inventory.groups import parse_groups
from prober.inventory.sourcedefs import parse_sources
from prober.inventory.sourcemerge import merge_groups
from prober.inventory.sourceread import SourceData, read_sources
from prober.inventory.yamlsafe import LocDict, load_yaml, shown_path

__all__ = ["Defaults", "GroupDef", "HostDecl", "Inventory", "Layer", "ProbeDef", "load_inventory"]

_TOP_KEYS = {"sources", "defaults", "probes", "groups"}
_DEFAULT_FIELDS: dict[str, fields.Converter] = {
    "timeout": fields.duration,
    "retries": fields.integer(0, 10),
    "concurrency": fields.integer(1, 100_000),
    "latency_warn": fields.duration,
    "deadline": fields.duration,
}


def load_inventory(path: str) -> Inventory:
    """Read and validate an inventory and read its sources; raise InventoryError listing every problem
    found (the file's, sorted by line, then each failed source's, naming it)."""
    given = path
    raw = load_yaml(path)
    path = shown_path(path)  # `-` is standard input: problems say <stdin>:LINE
    check = Checker(path)
    if raw is None:
        raise InventoryError(
            [Problem(path, 1, "", "the file is empty: an inventory needs probes and groups")]
        )
    if not isinstance(raw, LocDict):
        # No value shown: `prober validate ~/.ssh/id_rsa` must not print the key back.
        message = f"the top level must be a mapping with probes and groups, got {describe(raw, show=False)}"
        raise InventoryError([Problem(path, getattr(raw, "line", 1) or 1, "", message)])
    check.unknown_keys(raw, _TOP_KEYS, "")
    sources = parse_sources(check, raw, given)
    defaults = _defaults(check, raw)
    probes = _probes(check, raw)
    groups = parse_groups(check, raw, probes, sourced="sources" in raw)
    listed = raw.get("sources")  # an entry that is wrong is a source not read: it may have had a group
    data = SourceData(failed=not isinstance(listed, list) or len(sources) < len(listed))
    if "sources" in raw:
        if sources:
            data = read_sources(path, sources, failed=data.failed)
        merge_groups(check, raw, groups, data)
    gatekeys.check_label_vars(check, raw, defaults, groups)
    members = {name: tuple(hosts) for name, hosts in data.members.items()}
    inventory = Inventory(path, defaults, probes, groups, members)
    if check.problems or data.problems:
        from prober.plan import template_problems  # plan imports this module

        problems = check.problems + template_problems(inventory)
        raise InventoryError(sorted(problems, key=lambda p: p.line or 0) + data.problems)
    return inventory


def _defaults(check: Checker, raw: LocDict) -> Defaults:
    if "defaults" not in raw:
        return Defaults()
    data = check.mapping(raw["defaults"], raw.line_of("defaults"), "defaults")
    if data is None:
        return Defaults()
    check.unknown_keys(data, {*_DEFAULT_FIELDS, "vars", "max_fail", "labels"}, "defaults.")
    values: dict[str, Any] = {}
    for key, converter in _DEFAULT_FIELDS.items():
        if key in data:
            converted = check.convert(converter, data[key], data.line_of(key), f"defaults.{key}")
            if converted is not None:
                values[key] = converted
    if "vars" in data:
        values["vars"] = check.variables(data["vars"], data.line_of("vars"), "defaults.vars")
    values["max_fail"] = gatekeys.max_fail(check, data, "defaults")
    values["labels"] = gatekeys.labels(check, data, "defaults")
    return Defaults(**values)


def _probes(check: Checker, raw: LocDict) -> dict[str, ProbeDef]:
    if "probes" not in raw:
        check.add(raw.line, "probes", "missing: an inventory needs a 'probes:' section")
        return {}
    data = check.mapping(raw["probes"], raw.line_of("probes"), "probes")
    if data is None:
        return {}
    if not data:
        check.add(data.line, "probes", "no probes defined")
    result: dict[str, ProbeDef] = {}
    for name, body in data.items():
        probe = _probe(check, name, body, data.line_of(name))
        if probe is None:
            check.broken_probes.add(name)
        else:
            result[name] = probe
    return result


def _probe(check: Checker, name: str, body: Any, line: int) -> ProbeDef | None:
    key = f"probes.{name}"
    if not NAME.match(name):
        check.add(line, key, "probe names use letters, digits, '_', '-' and '.'")
    spec = check.mapping(body, line, key)
    if spec is None:
        return None
    if "type" not in spec:
        check.add(spec.line, f"{key}.type", f"missing: a probe needs 'type' ({tables.kind_names()})")
        return None
    kind = spec["type"]
    if not isinstance(kind, str) or not tables.known(kind):
        message = f"unknown probe type {fields.shown(kind)} (expected {tables.kind_names()})"
        check.add(spec.line_of("type"), f"{key}.type", message)
        return None
    layer = check.probe_params(kind, spec, key)
    for required in tables.required(kind):
        if required not in spec:
            check.add(spec.line, f"{key}.{required}", f"missing: a {kind} probe needs '{required}'")
    for field, message in tables.cross_checks(kind, layer.params):
        check.add(spec.line_of(field), f"{key}.{field}", message)
    return ProbeDef(name, kind, layer.params, spec.line, layer.lines, layer.spelled)
