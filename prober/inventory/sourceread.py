"""Read the `sources:` of an inventory into host declarations per group, with the readers of sources/.

An Ansible host is declared with `ansible_host` as its address, every var Ansible gives it (Ansible's
precedence), and `ansible_port`, `ansible_user` and `ansible_ssh_private_key_file` as an ssh layer that
sits below everything the inventory file sets. A file_sd/http_sd target gives the address and `{port}`;
its labels become vars and record `labels`. A source that cannot be read whole fails: nothing is probed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from prober.errors import InventoryError, Problem
from prober.inventory.defs import HostDecl, Layer, SourceHost
from prober.inventory.hostnames import check_host
from prober.inventory.sourcedefs import SourceDef

# The ssh probe's parameters an Ansible host sets, and the var named in messages about them.
WARNINGS_LOGGED = 20
SSH_PARAMS = {"port": "ansible_port", "user": "ansible_user", "key": "ansible_ssh_private_key_file"}


@dataclass
class SourceData:
    """What every source listed: host declarations per group, and every group's host names."""

    groups: dict[str, list[HostDecl]] = field(default_factory=dict)  # source order; a group may be empty
    members: dict[str, dict[str, None]] = field(default_factory=dict)  # for --limit (children included)
    problems: list[Problem] = field(default_factory=list)
    failed: bool = False

    def add(self, group: str, decls: list[HostDecl], names: tuple[str, ...] | None = None) -> None:
        self.groups.setdefault(group, []).extend(decls)
        members = self.members.setdefault(group, {})
        members.update(dict.fromkeys(names if names is not None else (d.pattern for d in decls)))


def read_sources(path: str, sources: list[SourceDef], failed: bool = False) -> SourceData:
    """Every source, in order (http_sd ones fetched at once); problems of the sources that failed
    (`failed`: a source was left out already, its entry being wrong)."""
    data = SourceData(failed=failed)
    fetched = _fetch_all([source for source in sources if source.kind == "http_sd"])
    for source in sources:
        try:
            if source.kind == "ansible":
                _ansible(data, source)
            elif source.kind == "file_sd":
                from prober.inventory.sources.file_sd import load_file_sd

                grouping = {"group": source.group, "group_label": source.group_label}
                _sd(data, source, load_file_sd(source.where, **grouping))
            else:
                result = fetched[source.key]
                if isinstance(result, InventoryError):
                    raise result
                _sd(data, source, result)
        except InventoryError as exc:
            data.failed = True
            shown = ", ".join(source.where) if source.kind != "http_sd" else exc.problems[0].file
            message = f"cannot read {shown} (nothing is probed); why:"
            data.problems += [Problem(path, source.line, source.key, message), *exc.problems]
    return data


def _ansible(data: SourceData, source: SourceDef) -> None:
    from prober.inventory.sources.ansible import DEFAULT_TIMEOUT, load_ansible

    inventory = load_ansible(list(source.where), timeout=source.timeout or DEFAULT_TIMEOUT)
    if inventory.warnings:  # what Ansible warns about and skips (an unknown key...): said, not hidden
        from prober import logs

        shown = [str(problem) for problem in inventory.warnings[:WARNINGS_LOGGED]]
        logs.get().warning("ansible source: skipped as Ansible skips it", source=source.key, problems=shown,
                           count=len(inventory.warnings))  # fmt: skip
    layers: dict[tuple[Any, ...], Layer] = {}
    decls: dict[str, HostDecl] = {}
    problems = []
    for host in inventory.hosts.values():
        origin = f"{host.file}:{host.line}" if host.line else host.file
        try:
            check_host(host.address)
        except ValueError as exc:
            var = "ansible_host" if host.address != host.name else "host"
            problems.append(Problem(host.file, host.line, var, f"host {host.name!r}: {exc}"))
            continue
        settings = {"port": host.port, "user": host.user, "key": host.key_file}
        given = {name: value for name, value in settings.items() if value is not None}
        ssh = None
        if given:  # hosts with the same settings share one layer (and so one merged spec)
            shape = tuple(given.items())
            ssh = layers.get(shape)
            if ssh is None:
                spelled = {name: SSH_PARAMS[name] for name in given}
                ssh = layers[shape] = Layer(source.key, given, {}, source.line, spelled)
        decls[host.name] = HostDecl(
            host.name, source.line, host.address, host.vars, source=SourceHost(origin, ssh)
        )
    if problems:
        raise InventoryError(problems)
    for group in inventory.groups.values():
        data.add(group.name, [decls[name] for name in group.all_hosts], group.all_hosts)


def _sd(data: SourceData, source: SourceDef, inventory: Any) -> None:
    """file_sd/http_sd groups: each target's labels as vars (and record labels), its port as {port}."""
    if source.group is not None:
        data.add(source.group, [])  # a fixed group exists even while the source lists no target
    for group in inventory.groups.values():
        decls = []
        for host in group.hosts.values():
            values: Mapping[str, Any] = host.labels
            if host.port is not None:
                values = {**host.labels, "port": host.port}
            origin = f"{host.source}:{host.line}" if host.line else f"{host.source} {host.key}"
            labels = SourceHost(origin, None, tuple(host.labels))
            decls.append(HostDecl(host.name, source.line, host.address, values, source=labels))
        data.add(group.name, decls)


def _fetch_all(sources: list[SourceDef]) -> dict[str, Any]:
    """Each http_sd source's SDInventory (or its InventoryError), fetched concurrently."""
    if not sources:
        return {}

    async def fetch(source: SourceDef) -> Any:
        from prober.inventory.sources import http_sd

        options: dict[str, Any] = {"group": source.group, "group_label": source.group_label}
        options.update(token_env=source.token_env, ca_file=source.ca_file)
        if source.timeout is not None:
            options["timeout"] = source.timeout
        if source.retries is not None:
            options["retries"] = source.retries
        try:
            return await http_sd.fetch_http_sd(source.where[0], **options)
        except InventoryError as exc:
            return exc

    async def fetch_all() -> list[Any]:
        return list(await asyncio.gather(*(fetch(source) for source in sources)))

    results = _run(fetch_all())
    return {source.key: result for source, result in zip(sources, results, strict=True)}


def _run(coroutine: Coroutine[Any, Any, list[Any]]) -> list[Any]:
    """Run a coroutine to its end from synchronous code, even from a thread whose loop is running
    (a test, /probe): then in a thread of its own, with its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="prober-sources") as pool:
        return pool.submit(asyncio.run, coroutine).result()
