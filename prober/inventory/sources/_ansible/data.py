"""Hosts and groups as Ansible's InventoryData builds them: membership, children, vars set in order."""

from __future__ import annotations

from typing import Any

from prober.errors import Problem
from prober.inventory.sources._ansible.errors import SourceError, Where, fail
from prober.inventory.sources._ansible.model import freeze

# Ansible's InventoryData starts with these two; every group without a parent becomes a child of `all`.
ALL, UNGROUPED = "all", "ungrouped"
PRIORITY_VAR = "ansible_group_priority"


class GroupData:
    """A group while sources are being read."""

    __slots__ = ("children", "hosts", "name", "origins", "parents", "priority", "vars", "where")

    def __init__(self, name: str, where: Where) -> None:
        self.name = name
        self.where = where
        self.hosts: dict[str, None] = {}  # an ordered set
        self.children: list[str] = []
        self.parents: list[str] = []
        self.vars: dict[str, Any] = {}
        self.origins: dict[str, Where] = {}
        self.priority = 1


class HostData:
    """A host while sources are being read."""

    __slots__ = ("dropped", "groups", "name", "origins", "vars", "where")

    def __init__(self, name: str, where: Where) -> None:
        self.name = name
        self.where = where
        self.groups: dict[str, None] = {}  # direct groups, ordered
        self.vars: dict[str, Any] = {}
        self.origins: dict[str, Where] = {}
        self.dropped: set[str] = set()  # groups Ansible forgets it is in (see Builder.reconcile)


class Builder:
    """The inventory being built from one or more sources, with Ansible's rules for each change."""

    def __init__(self) -> None:
        self.groups: dict[str, GroupData] = {}
        self.hosts: dict[str, HostData] = {}
        self.warnings: list[Problem] = []
        self.memo: dict[int, tuple[Any, Any]] = {}  # freeze() memo: YAML aliases stay shared
        for name in (ALL, UNGROUPED):
            self.groups[name] = GroupData(name, Where("<built-in>"))
        self.add_child(ALL, UNGROUPED, Where("<built-in>"))

    def warn(self, where: Where, message: str) -> None:
        self.warnings.append(where.problem(message))

    def add_group(self, name: Any, where: Where) -> str:
        if not isinstance(name, str):
            raise fail(where, f"a group name must be a string, got {type(name).__name__} {name!r}")
        if not name:
            raise fail(where, "a group name cannot be empty")
        if name not in self.groups:
            self.groups[name] = GroupData(name, where)
        return name

    def add_host(self, name: Any, group: str | None, port: int | None, where: Where) -> None:
        if not isinstance(name, str):
            raise fail(where, f"a host name must be a string, got {type(name).__name__} {name!r}")
        if not name:
            raise fail(where, "a host name cannot be empty")
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = HostData(name, where)
            if port:  # Ansible sets the port only when the host is created, and not for port 0
                host.vars["ansible_port"] = port
                host.origins["ansible_port"] = where
        if group is not None:
            self._join(self.groups[group], host)

    def _join(self, group: GroupData, host: HostData) -> None:
        group.hosts[host.name] = None
        host.groups[group.name] = None

    def set_var(self, entity: str, key: Any, value: Any, where: Where) -> None:
        """Set a var on a group or host; a group wins when both have that name, as in Ansible."""
        target: GroupData | HostData
        if entity in self.groups:
            target = self.groups[entity]
            if key == PRIORITY_VAR:
                target.priority = _priority(value, where)
                return
        elif entity in self.hosts:
            target = self.hosts[entity]
        else:
            raise fail(where, f"{entity!r} is neither a known group nor a known host")
        target.vars[key] = freeze(value, self.memo)
        target.origins[key] = where

    def add_child(self, parent: str, child: str, where: Where) -> None:
        """Make child (a group, else a host) a member of parent; refuse loops as Ansible does."""
        if parent not in self.groups:
            raise fail(where, f"{parent!r} is not a known group")
        group = self.groups[parent]
        if child in self.groups:
            if child == parent:
                raise fail(where, f"group {parent!r} cannot be a child of itself")
            if child in group.children:
                return
            if child in self.ancestors(parent):
                message = f"adding group {child!r} as a child of {parent!r} creates a dependency loop"
                raise fail(where, message)
            group.children.append(child)
            kid = self.groups[child]
            if parent not in kid.parents:
                kid.parents.append(parent)
        elif child in self.hosts:
            self._join(group, self.hosts[child])
        else:
            raise fail(where, f"{child!r} is not a known host nor group")

    def ancestors(self, name: str) -> set[str]:
        """Every group above this one."""
        seen: set[str] = set()
        todo = list(self.groups[name].parents)
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.groups[current].parents)
        return seen

    def reconcile(self) -> None:
        """Ansible's last step: orphan groups join `all`; hosts with no other group join `ungrouped`."""
        for group in list(self.groups.values()):
            if group.name != ALL and not group.parents:
                self.add_child(ALL, group.name, group.where)
        closure: dict[str, set[str]] = {}
        ungrouped = self.groups[UNGROUPED]
        for host in self.hosts.values():
            mine = self.host_groups(host, closure)
            if UNGROUPED in mine:
                if mine - {ALL, UNGROUPED} and host.name in ungrouped.hosts:
                    del ungrouped.hosts[host.name]
                    del host.groups[UNGROUPED]
                    self._forget(host, mine, UNGROUPED)
            elif not mine - {ALL}:
                # As Ansible, by name: a group of the same name, if there is one, is what joins.
                self.add_child(UNGROUPED, host.name, host.where)

    def _forget(self, host: HostData, mine: set[str], name: str) -> None:
        """Ansible's Host.remove_group: the group leaves the host's groups, and so do its ancestors that no
        remaining group descends from, even when the host still reaches it through another group (if
        `ungrouped` has children, their hosts lose `ungrouped` and its vars)."""
        mine.discard(name)
        host.dropped.add(name)
        for old in self.ancestors(name):
            if old != ALL and old in mine and not any(old in self.ancestors(g) for g in mine):
                self._forget(host, mine, old)

    def host_groups(self, host: HostData, closure: dict[str, set[str]]) -> set[str]:
        """The host's groups and all their ancestors (closure caches each group's ancestors)."""
        out: set[str] = set()
        for name in host.groups:
            if name not in closure:
                closure[name] = self.ancestors(name)
            out.add(name)
            out |= closure[name]
        return out - host.dropped if host.dropped else out


def _priority(value: Any, where: Where) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise SourceError([where.problem(f"{PRIORITY_VAR} must be an integer, got {value!r}")]) from None
