"""The frozen result of reading an Ansible inventory, and the immutable values its vars hold."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from prober.errors import Problem


class UnsafeText(str):
    """A string YAML tagged `!unsafe` (or a script sent as `__ansible_unsafe`): Ansible never templates it."""

    __slots__ = ()


class FrozenDict(dict[Any, Any]):
    """A dict that refuses changes, so vars shared between hosts stay shared safely.

    A dict subclass (not a mapping proxy) so json and orjson serialise it as they are."""

    __slots__ = ()

    def _frozen(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("Ansible inventory vars are read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _frozen

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[Any, Any]]]:
        return FrozenDict, (dict(self),)

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


EMPTY = FrozenDict()


def freeze(value: Any, memo: dict[int, tuple[Any, Any]]) -> Any:
    """value with every list made a tuple and every dict a FrozenDict; memo keeps YAML aliases shared.

    Sharing matters: a YAML alias repeated a million times is one object here too, not a million copies."""
    if isinstance(value, str | int | float | type(None)):
        return value
    seen = memo.get(id(value))
    if seen is not None:
        return seen[1]
    if isinstance(value, dict):
        frozen: Any = FrozenDict({key: freeze(item, memo) for key, item in value.items()})
    elif isinstance(value, list | tuple | set | frozenset):
        frozen = tuple(freeze(item, memo) for item in value)
    else:
        frozen = value  # dates, bytes: immutable already
    memo[id(value)] = (value, frozen)  # keeping value alive keeps its id unique
    return frozen


def jsonable(value: Any) -> Any:
    """A var as `ansible-inventory --list` prints it: JSON types, `!unsafe` text marked as Ansible does."""
    if isinstance(value, UnsafeText):
        return {"__ansible_unsafe": str(value)}
    if isinstance(value, dict):
        return {_json_key(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _json_key(key: Any) -> Any:
    return str(key) if isinstance(key, UnsafeText) else key


@dataclass(frozen=True, slots=True)
class AnsibleHost:
    """One host: its vars after Ansible's precedence and the connection settings prober uses."""

    name: str
    address: str  # ansible_host (or ansible_ssh_host), else the name
    port: int | None  # ansible_port (or ansible_ssh_port)
    user: str | None  # ansible_user (or ansible_ssh_user)
    key_file: str | None  # ansible_ssh_private_key_file (or ansible_private_key_file), as written
    vars: Mapping[str, Any]  # what `ansible-inventory --list` prints in _meta.hostvars
    groups: tuple[str, ...]  # group_names: every group it is in, directly or through children, sorted
    file: str  # where it was first declared
    line: int | None


@dataclass(frozen=True, slots=True)
class AnsibleGroup:
    """One group: direct members, the group's own vars, and its hosts with children resolved."""

    name: str
    hosts: tuple[str, ...]  # direct members, in inventory order
    children: tuple[str, ...]  # direct child groups
    parents: tuple[str, ...]
    vars: Mapping[str, Any]  # inventory vars, then group_vars/ files (`ansible-inventory --list --export`)
    all_hosts: tuple[str, ...]  # its hosts and every descendant's, deduplicated
    priority: int  # ansible_group_priority (1 unless set)
    depth: int  # longest path from `all`; with priority and name it orders group vars


@dataclass(frozen=True, slots=True)
class AnsibleInventory:
    """An Ansible inventory read as Ansible reads it."""

    sources: tuple[str, ...]
    hosts: Mapping[str, AnsibleHost]  # in inventory order
    groups: Mapping[str, AnsibleGroup]  # in inventory order; always has `all` and `ungrouped`
    warnings: tuple[Problem, ...]  # what Ansible warns about and skips (unknown YAML keys, duplicate keys...)

    def as_list(self, export: bool = False) -> dict[str, Any]:
        """The JSON `ansible-inventory --list` (`--export`) prints for the same sources.

        With --export Ansible prints each host's own vars; here hostvars are always the merged ones."""
        # ansible-inventory lists the hosts the pattern `all` selects: a host named "all" is all it selects.
        shown = {"all"} if "all" in self.hosts else self.hosts
        out: dict[str, Any] = {}
        for group in self.groups.values():
            entry: dict[str, Any] = {}
            hosts = [name for name in group.hosts if name in shown]
            if group.name != "all" and hosts:
                entry["hosts"] = hosts
            if group.children:
                entry["children"] = list(group.children)
            if export:
                gvars = jsonable(group.vars)
                if group.priority != 1:
                    gvars["ansible_group_priority"] = group.priority
                if gvars:
                    entry["vars"] = gvars
            if entry:
                out[group.name] = entry
        hostvars: dict[str, Any] = {}
        for host in self.hosts.values():
            if host.vars and host.name in shown:
                hostvars[host.name] = jsonable(host.vars)
        out["_meta"] = {"hostvars": hostvars}
        return out
