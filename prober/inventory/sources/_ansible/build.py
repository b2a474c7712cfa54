"""The frozen inventory from what the sources built: Ansible's var precedence, connection settings."""

from __future__ import annotations

import types
from typing import Any

from prober.errors import Problem
from prober.inventory.sources._ansible.data import ALL, Builder, GroupData, HostData
from prober.inventory.sources._ansible.errors import SourceError, Where
from prober.inventory.sources._ansible.model import AnsibleGroup, AnsibleHost, AnsibleInventory, FrozenDict
from prober.inventory.sources._ansible.varfiles import Layer, VarsDirs

# What ansible-inventory leaves out of hostvars (ansible.constants.INTERNAL_STATIC_VARS, ansible-core 2.19).
INTERNAL_VARS = frozenset({
    "ansible_async_path", "ansible_collection_name", "ansible_config_file", "ansible_dependent_role_names",
    "ansible_diff_mode", "ansible_facts", "ansible_forks", "ansible_inventory_sources", "ansible_limit",
    "ansible_play_batch", "ansible_play_hosts", "ansible_play_hosts_all", "ansible_play_role_names",
    "ansible_playbook_python", "ansible_role_name", "ansible_role_names", "ansible_run_tags",
    "ansible_skip_tags", "ansible_verbosity", "ansible_version", "inventory_dir", "inventory_file",
    "inventory_hostname", "inventory_hostname_short", "groups", "group_names", "hostvars", "playbook_dir",
    "play_hosts", "role_name", "role_names", "role_path", "role_uuid",
})  # fmt: skip
# The ssh connection plugin's vars for each setting; when several are set the last one listed wins.
CONNECTION_VARS = {
    "address": ("ansible_host", "ansible_ssh_host"),
    "port": ("ansible_port", "ansible_ssh_port"),
    "user": ("ansible_user", "ansible_ssh_user"),
    "key_file": ("ansible_private_key_file", "ansible_ssh_private_key_file"),
}


def build(builder: Builder, sources: list[str]) -> AnsibleInventory:
    builder.reconcile()
    return _Flattener(builder, VarsDirs(sources, builder.warnings, builder.memo)).inventory(sources)


class _Flattener:
    """Ansible's precedence, lowest first: `all` vars, other groups' vars (by depth, priority, name), then
    group_vars/all, group_vars/<group> (same order), the host's inventory vars, host_vars/<host>."""

    def __init__(self, builder: Builder, dirs: VarsDirs) -> None:
        self.builder = builder
        self.dirs = dirs
        self.depths: dict[str, int] = {}
        self.closure: dict[str, set[str]] = {}
        self.prefixes: dict[frozenset[str], dict[str, Any]] = {}

    def inventory(self, sources: list[str]) -> AnsibleInventory:
        problems: list[Problem] = []
        groups = {name: self._group(group) for name, group in self.builder.groups.items()}
        hosts: dict[str, AnsibleHost] = {}
        for name, host in self.builder.hosts.items():
            made = self._host(host, problems)
            if made is not None:
                hosts[name] = made
        if problems:
            raise SourceError(problems)
        return AnsibleInventory(
            tuple(sources),
            types.MappingProxyType(hosts),
            types.MappingProxyType(groups),
            tuple(self.builder.warnings),
        )

    def depth(self, name: str) -> int:
        """The longest path from `all`, as Ansible's Group.depth ends up after every child is added."""
        if name not in self.depths:
            parents = self.builder.groups[name].parents
            self.depths[name] = 1 + max(self.depth(p) for p in parents) if parents else 0
        return self.depths[name]

    def _sort_key(self, name: str) -> tuple[int, int, str]:
        return self.depth(name), self.builder.groups[name].priority, name

    def _group(self, group: GroupData) -> AnsibleGroup:
        values = dict(group.vars)
        for vars_dir in self.dirs.groups:
            values.update(vars_dir.layer(group.name)[0])
        return AnsibleGroup(
            group.name,
            tuple(group.hosts),
            tuple(group.children),
            tuple(group.parents),
            FrozenDict(values),
            self._all_hosts(group),
            group.priority,
            self.depth(group.name),
        )

    def _all_hosts(self, group: GroupData) -> tuple[str, ...]:
        """Its hosts, then its children's, breadth first (Ansible's Group.get_hosts)."""
        order, seen = [group.name], {group.name}
        for name in order:  # grows while iterating: a breadth-first walk
            for child in self.builder.groups[name].children:
                if child not in seen:
                    seen.add(child)
                    order.append(child)
        hosts: dict[str, None] = {}
        for name in order:
            hosts.update(dict.fromkeys(self.builder.groups[name].hosts))
        return tuple(hosts)

    def _group_layers(self, groups: list[str]) -> list[Layer]:
        """The group layers of vars for a host in these groups (sorted, without `all`), lowest first."""
        by_name = self.builder.groups
        layers: list[Layer] = [(by_name[ALL].vars, by_name[ALL].origins)]
        layers += [(by_name[g].vars, by_name[g].origins) for g in groups]
        layers += [d.layer(ALL) for d in self.dirs.groups]
        layers += [d.layer(g) for d in self.dirs.groups for g in groups]
        return layers

    def _host_layers(self, host: HostData) -> list[Layer]:
        return [(host.vars, host.origins), *(d.layer(host.name) for d in self.dirs.hosts)]

    def _host(self, host: HostData, problems: list[Problem]) -> AnsibleHost | None:
        names = self.builder.host_groups(host, self.closure)
        names.discard(ALL)
        key = frozenset(names)
        ordered = sorted(names, key=self._sort_key)
        prefix = self.prefixes.get(key)
        if prefix is None:  # hosts with the same groups share these layers: computed once
            prefix = {}
            for values, _ in self._group_layers(ordered):
                prefix.update(values)
            self.prefixes[key] = prefix
        merged = dict(prefix)
        for values, _ in self._host_layers(host):
            merged.update(values)
        if not INTERNAL_VARS.isdisjoint(merged):
            for internal in INTERNAL_VARS.intersection(merged):
                del merged[internal]
        try:
            settings = {field: _setting(field, names, merged) for field, names in CONNECTION_VARS.items()}
        except _BadSetting as bad:
            where = self._where(host, ordered, bad.var)
            problems.append(where.problem(f"host {host.name!r}: {bad.message}", bad.var))
            return None
        return AnsibleHost(
            host.name,
            settings["address"] or host.name,
            settings["port"],
            settings["user"],
            settings["key_file"],
            FrozenDict(merged),
            tuple(sorted(names)),
            host.where.file,
            host.where.line,
        )

    def _where(self, host: HostData, groups: list[str], var: str) -> Where:
        """Where the value of var that won for this host was set."""
        for values, origins in reversed(self._group_layers(groups) + self._host_layers(host)):
            if var in values:
                return origins.get(var, Where(host.where.file))
        return host.where


class _BadSetting(ValueError):
    def __init__(self, var: str, message: str) -> None:
        super().__init__(f"{var}: {message}")
        self.var, self.message = var, message


def _setting(field: str, names: tuple[str, ...], merged: dict[str, Any]) -> Any:
    """The connection setting of the last var set (not null) among names, checked."""
    var, value = "", None
    for name in names:
        if merged.get(name) is not None:
            var, value = name, merged[name]
    if value is None:
        return None
    if field == "port":
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise _BadSetting(var, f"must be a port number (1-65535), got {value!r}")
        return value
    if isinstance(value, int) and not isinstance(value, bool) and field == "user":
        value = str(value)
    if not isinstance(value, str) or not value:
        raise _BadSetting(var, f"must be a non-empty string, got {type(value).__name__}")
    if "{{" in value or "{%" in value:
        # The template itself is not shown: a lookup in it may carry credentials.
        raise _BadSetting(var, "is a Jinja2 template; prober does not evaluate Ansible templates")
    return value
