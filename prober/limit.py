"""--limit: the hosts of an inventory to plan, chosen with Ansible's host patterns.

The patterns are Ansible's (`web,db01`, `web:&prod:!web03`, `~regex`, globs, `web[0]`, `web[0:2]`,
`@FILE`), read by the Ansible reader's selector (inventory/sources/_ansible/patterns.py) over:
- groups: every group under `groups:` (its hosts, ranges expanded, source hosts included), every group a
  source knows (an Ansible group's children included, groups not under `groups:` too), and `all`;
- hosts: every host the inventory plans.
A chosen host gets every probe the inventory plans for it, as a limited Ansible play runs every task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prober.errors import InventoryError, Problem
from prober.inventory.defs import Inventory
from prober.inventory.sources.ansible import PatternError, select_hosts


@dataclass(frozen=True, slots=True)
class _Group:
    name: str
    all_hosts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Hosts:
    hosts: Mapping[str, object]
    groups: Mapping[str, _Group]


def chosen_hosts(inventory: Inventory, limit: Sequence[str]) -> frozenset[str]:
    """The names of the hosts `limit` chooses; InventoryError (key --limit) for a pattern that cannot be
    used (a bad regex, a subscript past the end, an @file that cannot be read)."""
    hosts: dict[str, None] = {}
    members: dict[str, dict[str, None]] = {}
    for group in inventory.groups.values():
        names = members.setdefault(group.name, {})
        for decl in group.hosts:
            names.update(dict.fromkeys(decl.names()))
        hosts.update(names)
    for name, listed in inventory.source_groups.items():
        members.setdefault(name, {}).update(dict.fromkeys(listed))
    members["all"] = hosts  # Ansible's `all`: every host (here: every planned one)
    groups = {name: _Group(name, tuple(names)) for name, names in members.items()}
    try:
        return frozenset(select_hosts(_Hosts(hosts, groups), "all", limit=list(limit)))
    except PatternError as exc:
        raise InventoryError([Problem(inventory.path, None, "--limit", str(exc))]) from None


__all__ = ["chosen_hosts"]
