"""Inventory → plan: expand ranges, apply precedence and templates, dedupe, keep a stable order.

Parameter precedence, later wins:
  built-in defaults < `defaults:` (or CLI flags) < the probe definition
  < the group's `overrides: {probe: {...}}` < the host's `overrides: {probe: {...}}`.
Template vars, later wins: `defaults.vars` < group `vars` < host `vars` < {host, address, group}.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from prober.errors import InventoryError, Problem
from prober.inventory import fields, ranges
from prober.inventory.loader import GroupDef, HostDecl, Inventory, ProbeDef
from prober.model import SPEC_CLASSES, Job, ProbeSpec, Target


@dataclass(frozen=True)
class SweepSettings:
    """The sweep-wide knobs after CLI flags replaced the inventory's defaults."""

    timeout: float
    retries: int
    concurrency: int
    latency_warn: float | None = None
    deadline: float | None = None
    max_fail: str | None = None


def settings_for(inventory: Inventory, **flags: Any) -> SweepSettings:
    """Merge `defaults:` with the CLI flags that were given (None means not given)."""
    base = inventory.defaults
    values = {k: getattr(base, k) for k in SweepSettings.__dataclass_fields__}
    values.update({k: v for k, v in flags.items() if v is not None})
    return SweepSettings(**values)


class _TemplateError(ValueError):
    pass


def _url_value(value: object) -> str:
    text = str(value)
    try:
        if isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address):
            return f"[{text}]"
    except ValueError:
        pass
    return quote(text, safe="/:@-._~!$&'()*+,;=[]")


_QUOTERS = {"url": _url_value, "command": lambda v: shlex.quote(str(v))}


def render(field: str, template: str, variables: dict[str, Any]) -> str:
    """Substitute {name} from variables, quoting for where the value lands (shell, URL)."""
    quoter = _QUOTERS.get(field, str)

    def substitute(match: Any) -> str:
        name = match.group(1)
        if name not in variables:
            known = ", ".join(sorted(variables))
            raise _TemplateError(f"unknown template variable {{{name}}} (known: {known})")
        return quoter(variables[name])

    return fields.TEMPLATE_FIELD.sub(substitute, template)


def _resolve(params: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    resolved = dict(params)
    for key in fields.TEMPLATED & params.keys():
        value = params[key]
        if isinstance(value, str) and "{" in value:
            resolved[key] = render(key, value, variables)
    if isinstance(resolved.get("port"), str):
        resolved["port"] = fields.port(resolved["port"])
    if "url" in resolved:
        fields.url(resolved["url"])
    return resolved


class _Planner:
    def __init__(self, inventory: Inventory, settings: SweepSettings) -> None:
        self.inventory = inventory
        self.base = {"timeout": settings.timeout, "retries": settings.retries}
        if settings.latency_warn is not None:
            self.base["latency_warn"] = settings.latency_warn
        self.problems: list[Problem] = []

    def spec(
        self, probe: ProbeDef, group: GroupDef, host: HostDecl, variables: dict[str, Any]
    ) -> ProbeSpec | None:
        params = {**self.base, **probe.params, **group.overrides.get(probe.name, {})}
        params.update(host.overrides.get(probe.name, {}))
        try:
            resolved = _resolve(params, variables)
        except ValueError as exc:
            where = f"groups.{group.name}.hosts: {variables['host']}: probe {probe.name}"
            self.problems.append(Problem(self.inventory.path, host.line, where, str(exc)))
            return None
        return SPEC_CLASSES[probe.kind](name=probe.name, **resolved)  # type: ignore[return-value]

    def jobs_for(self, group: GroupDef, host: HostDecl) -> Iterator[tuple[Target, ProbeSpec]]:
        shared_vars = {**self.inventory.defaults.vars, **group.vars, **host.vars}
        for name in ranges.expand(host.pattern):
            address = host.address or name
            target = Target(name, address, group.name, shared_vars)
            variables = {**shared_vars, "host": name, "address": address, "group": group.name}
            for probe_name in group.probes:
                spec = self.spec(self.inventory.probes[probe_name], group, host, variables)
                if spec is not None:
                    yield target, spec


def _selected(limit: Iterable[str] | None, group: str, host: str) -> bool:
    if limit is None:
        return True
    return any(fnmatch.fnmatchcase(group, p) or fnmatch.fnmatchcase(host, p) for p in limit)


def build_plan(
    inventory: Inventory, settings: SweepSettings, limit: list[str] | None = None
) -> tuple[Job, ...]:
    """Every (host, probe) pair once, in inventory order; InventoryError on template problems."""
    planner = _Planner(inventory, settings)
    seen: set[tuple[str, str]] = set()
    jobs: list[Job] = []
    for group in inventory.groups.values():
        for host in group.hosts:
            for target, spec in planner.jobs_for(group, host):
                key = (target.name, spec.name)
                if key in seen or not _selected(limit, group.name, target.name):
                    continue
                seen.add(key)
                jobs.append(Job(len(jobs), target, spec))
    if planner.problems:
        raise InventoryError(planner.problems)
    if limit is not None and not jobs:
        raise InventoryError(
            [Problem(inventory.path, None, "--limit", f"{','.join(limit)} matches no group or host")]
        )
    return tuple(jobs)
