"""Inventory → plan: expand ranges, apply precedence and templates, dedupe, keep a stable order.

Parameter precedence, later wins:
  built-in defaults (prober/model.py) < `defaults:` (timeout, retries, latency_warn; a CLI flag replaces
  the `defaults:` value) < the probe definition under `probes:` < the group's `overrides: {probe: {...}}`
  < the host's `overrides: {probe: {...}}`.
Template vars, later wins: `defaults.vars` < a source's vars < group `vars` < host `vars` < {host,
address, group}. A host read from an Ansible source has its `ansible_port`, `ansible_user` and
`ansible_ssh_private_key_file` as an ssh layer right above the built-in defaults: whatever the file sets
(probe, group or host) wins over them.

Templates: `{name}` in url, port, command, send, user, jump, path, name and unit is replaced per host;
`{{` and `}}` are literal braces. Values are quoted for where they land: shell-quoted (shlex) in an SSH
command, so a var such as `x; rm -rf /` stays one word; in a URL or jump host each value stays in the
part it was placed in (prober/authority.py). A port must be a number after templating. Parameters that
can never work together are refused once every layer and template is applied (tables.py).

A host listed in several groups (or several times) gets each probe once: the first group that lists it,
in file order, plans it with that group's vars and overrides.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prober.budget import Budget
from prober.errors import InventoryError, Problem
from prober.inventory import fields, tables
from prober.inventory.defs import GroupDef, HostDecl, Inventory, Layer, ProbeDef
from prober.model import Job, ProbeSpec, Target
from prober.plansources import SSH_KIND, labels_of, source_layer, source_problems
from prober.probes import registry
from prober.shard import Fingerprint, Shard
from prober.templating import resolve_one

MAX_JOBS = 2_000_000
_HOSTS_SHOWN = 3


@dataclass(frozen=True)
class SweepSettings:
    """The sweep-wide knobs after CLI flags replaced the inventory's defaults."""

    timeout: float
    retries: int
    concurrency: int
    latency_warn: float | None = None
    deadline: float | None = None
    max_fail: Budget | None = None  # for groups that set none


def settings_for(inventory: Inventory, **flags: Any) -> SweepSettings:
    """Merge `defaults:` with the CLI flags that were given (None means not given)."""
    base = inventory.defaults
    values = {k: getattr(base, k) for k in SweepSettings.__dataclass_fields__}
    values.update({k: v for k, v in flags.items() if v is not None})
    return SweepSettings(**values)


# Literal parameters, templated ones (with the layer that set them), every parameter's layer, and the
# parameters that cannot work together.
_Merged = tuple[dict[str, Any], dict[str, tuple[Any, Layer]], dict[str, Layer], list[tuple[str, str]]]


_Key = tuple[str, str, int, int]


def _layer_key(probe: ProbeDef, group: GroupDef, host: HostDecl) -> _Key:
    """Hosts without an override of this probe share the group's layers (and, when nothing is
    templated, one frozen spec): an explicit list of 100k hosts is 100k declarations, not 100k specs.
    Source hosts with the same ssh settings share one layer, so they share too."""
    override = id(host) if probe.name in host.overrides else 0
    source = host.source  # inlined, not source_layer(): this runs once per planned probe
    ssh = id(source.ssh) if source is not None and source.ssh is not None and probe.kind == SSH_KIND else 0
    return (probe.name, group.name, override, ssh)


@dataclass
class _Failure:
    """One template problem and the hosts it hit; reported once, not once per host."""

    problem: Problem
    hosts: list[str]
    count: int = 0


class _Planner:
    def __init__(self, inventory: Inventory, settings: SweepSettings, check_only: bool = False) -> None:
        self.inventory = inventory
        # check_only: resolve templates and collect problems, build nothing (the inventory may be partial).
        self.check_only = check_only
        base = {"timeout": settings.timeout, "retries": settings.retries}
        if settings.latency_warn is not None:
            base["latency_warn"] = settings.latency_warn
        self.base = Layer("defaults", base)
        self.failures: dict[tuple[int | None, str, str], _Failure] = {}
        self.merged: dict[_Key, _Merged] = {}
        self.static_specs: dict[_Key, ProbeSpec | None] = {}
        self.combinations: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
        self.group_vars: dict[str, dict[str, Any]] = {}

    def spec(
        self, probe: ProbeDef, group: GroupDef, host: HostDecl, variables: dict[str, Any], target: Target
    ) -> ProbeSpec | None:
        key = _layer_key(probe, group, host)
        static, templated, origin, problems = self.layered(probe, group, host, key)
        if problems:
            self._fail_all(problems, origin, target.name)
            return None
        if not templated:  # the same frozen spec serves every host of this declaration
            if key not in self.static_specs:
                self.static_specs[key] = self._built(probe, static)
            return self.static_specs[key]
        if not variables:
            variables.update(target.vars, host=target.name, address=target.address, group=target.group)
        params = dict(static)
        ok = True
        declared = registry.get(probe.kind).params
        for name, (value, layer) in templated.items():
            try:
                params[name] = resolve_one(name, value, variables, declared[name].rendered)
            except ValueError as exc:
                self.fail(layer.where(name), str(exc), variables["host"])
                ok = False
        return self._built(probe, params) if ok else None

    def _fail_all(self, problems: list[tuple[str, str]], origin: dict[str, Layer], host: str) -> None:
        for name, message in problems:
            self.fail(origin[name].where(name), message, host)

    def _built(self, probe: ProbeDef, params: dict[str, Any]) -> ProbeSpec | None:
        if self.check_only:
            return None
        return registry.get(probe.kind).spec(name=probe.name, **params)

    def layered(self, probe: ProbeDef, group: GroupDef, host: HostDecl, key: _Key) -> _Merged:
        """Parameters after precedence, split into literal ones and templates; the same for every host
        a declaration expands to, so it is computed once per (probe, group, declaration)."""
        merged = self.merged.get(key)
        if merged is None:
            overrides = [o[probe.name] for o in (group.overrides, host.overrides) if probe.name in o]
            source = source_layer(probe, host)
            layers = [self.base, *([source] if source else []), probe.layer, *overrides]
            origin = {name: layer for layer in layers for name in layer.params}
            problems = self._combinations(probe, overrides)
            if source is not None:
                problems = problems + source_problems(probe, source, origin)
            static = {
                n: layer.params[n]
                for n, layer in origin.items()
                if n not in tables.templated(probe.kind)
                or layer is source  # a source's value is taken literally, braces and all
                or not fields.is_template(layer.params[n])
            }
            templated = {n: (layer.params[n], layer) for n, layer in origin.items() if n not in static}
            merged = self.merged[key] = (static, templated, origin, problems)
        return merged

    def _combinations(self, probe: ProbeDef, overrides: list[Layer]) -> list[tuple[str, str]]:
        """Parameters that can never work together, once per distinct stack of layers (not per host
        line). Templates are judged as written: a value can never add credentials to a URL or change
        its scheme (authority.py), and the other rules only look at which keys are given."""
        key = (probe.name, *map(id, overrides))
        if key not in self.combinations:
            params = {n: v for layer in (self.base, probe.layer, *overrides) for n, v in layer.params.items()}
            self.combinations[key] = tables.combination_problems(probe.kind, params)
        return self.combinations[key]

    def fail(self, where: tuple[str, int], message: str, host: str) -> None:
        key, line = where
        failure = self.failures.setdefault(
            (line, key, message), _Failure(Problem(self.inventory.path, line, key, message), [])
        )
        failure.count += 1
        if len(failure.hosts) < _HOSTS_SHOWN:
            failure.hosts.append(host)

    def problems(self) -> list[Problem]:
        out = []
        for failure in self.failures.values():
            problem, count = failure.problem, failure.count
            shown = ", ".join(failure.hosts)
            more = f" and {count - _HOSTS_SHOWN} more" if count > _HOSTS_SHOWN else ""
            noun = "host" if count == 1 else "hosts"
            message = f"{problem.message} (for {noun} {shown}{more})"
            out.append(Problem(problem.file, problem.line, problem.key, message))
        return sorted(out, key=lambda p: p.line or 0)

    def host_vars(self, group: GroupDef, host: HostDecl) -> dict[str, Any]:
        """The vars of a host declaration's targets; one dict per group for the hosts that set none
        (read-only: templating copies them): one per host was 6 MB of a 100k-host plan."""
        if host.vars:
            return {**self.inventory.defaults.vars, **group.vars, **host.vars}
        found = self.group_vars.get(group.name)
        if found is None:
            found = self.group_vars[group.name] = {**self.inventory.defaults.vars, **group.vars}
        return found

    def jobs_for(self, group: GroupDef, host: HostDecl) -> Iterator[tuple[Target, ProbeSpec]]:
        shared_vars = self.host_vars(group, host)
        names = (*self.inventory.defaults.labels, *group.labels)
        if host.source is not None and host.source.labels:  # a discovery target's own labels
            names += host.source.labels
        labels = labels_of(names, shared_vars)
        for name in host.names():
            address = host.address or name
            target = Target(name, address, group.name, shared_vars, labels)
            variables: dict[str, Any] = {}  # filled on first use: a plan without templates never needs it
            for probe_name in group.probes:
                spec = self.spec(self.inventory.probes[probe_name], group, host, variables, target)
                if spec is not None:
                    yield target, spec


def _check_size(inventory: Inventory) -> None:
    total = sum(h.count() * len(g.probes) for g in inventory.groups.values() for h in g.hosts)
    if total > MAX_JOBS:
        message = f"the inventory plans {total} probes, over the limit of {MAX_JOBS}; split it into files"
        raise InventoryError([Problem(inventory.path, None, "groups", message)])


def template_problems(inventory: Inventory) -> list[Problem]:
    """Template problems of an inventory that has other problems too, so validate reports all at once.

    The inventory holds only the parts that passed validation; templates are resolved for every host
    but no probe spec is built (a probe may lack a required key)."""
    try:
        _check_size(inventory)
    except InventoryError as exc:
        return exc.problems
    planner = _Planner(inventory, settings_for(inventory), check_only=True)
    for group in inventory.groups.values():
        for host in group.hosts:
            for _ in planner.jobs_for(group, host):
                pass
    return planner.problems()


def iter_plan(
    inventory: Inventory,
    settings: SweepSettings,
    limit: list[str] | None = None,
    shard: Shard | None = None,
    fingerprint: Fingerprint | None = None,
) -> Iterator[Job]:
    """Every (host, probe) pair once, in inventory order, one at a time (a 10^6-probe plan is never
    held whole by `plan` and `validate`); InventoryError once the stream ends, on template problems.

    A host listed again (another group, another declaration) gets only the probes it has not had yet:
    the names planned per host are kept, as one shared tuple per distinct probe list, not per job.
    With `shard`, only the hosts that shard owns are yielded; `fingerprint` sees the whole plan.
    """
    _check_size(inventory)
    chosen = None
    if limit is not None:
        from prober.limit import chosen_hosts

        chosen = chosen_hosts(inventory, limit)
    planner = _Planner(inventory, settings)
    planned: dict[str, tuple[str, ...]] = {}
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    index = selected = 0
    for group in inventory.groups.values():
        for host in group.hosts:
            for target, spec in planner.jobs_for(group, host):
                done = planned.get(target.name, ())
                if spec.name in done or (chosen is not None and target.name not in chosen):
                    continue
                names = (*done, spec.name)
                planned[target.name] = shared.setdefault(names, names)
                selected += 1
                job = Job(index, target, spec)
                if fingerprint is not None:
                    fingerprint.add(job)
                if shard is None or shard.owns(target.name):
                    yield job
                    index += 1
    if planner.failures:
        raise InventoryError(planner.problems())
    if limit is not None and not selected:
        known = ", ".join(sorted(inventory.groups))
        message = f"{','.join(limit)!r} matches no group or host (groups: {known})"
        raise InventoryError([Problem(inventory.path, None, "--limit", message)])


def build_plan(
    inventory: Inventory,
    settings: SweepSettings,
    limit: list[str] | None = None,
    shard: Shard | None = None,
    fingerprint: Fingerprint | None = None,
) -> tuple[Job, ...]:
    """The whole plan, or this shard's part of it (what the engine runs); InventoryError on template
    problems."""
    return tuple(iter_plan(inventory, settings, limit, shard, fingerprint))
