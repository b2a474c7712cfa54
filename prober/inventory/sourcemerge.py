"""Groups of the file joined with the groups its sources list (Ansible groups, discovery groups).

A group under `groups:` whose name a source knows plans that source group's hosts (an Ansible group's
children included) with the group's probes, vars, overrides, budget and labels, then the hosts it lists
itself. A host it lists by the name of one of those source hosts refines that host instead (address,
vars, overrides). Var precedence, later wins: `defaults.vars` < the source's vars (Ansible's own
precedence inside) < the group's `vars` < the host's `vars`.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from prober.inventory.checker import Checker
from prober.inventory.defs import GroupDef, HostDecl
from prober.inventory.sourceread import SourceData
from prober.inventory.yamlsafe import LocDict

_SHOWN = 12  # source group names listed in a message
_EXPANDED_MAX = 100_000  # host ranges longer than this are not matched against a source's hosts


def merge_groups(check: Checker, raw: LocDict, groups: dict[str, GroupDef], data: SourceData) -> None:
    """Join each group with its source group, in place; a group with neither hosts nor a source group
    of its name is a problem at its line (unless a source failed: it might have listed it)."""
    specs = raw.get("groups")
    for name, group in list(groups.items()):
        decls = data.groups.get(name)
        if decls is None:
            spec = specs.get(name) if isinstance(specs, LocDict) else None
            if not (isinstance(spec, LocDict) and "hosts" in spec):
                if not data.failed:
                    check.add(group.line, f"groups.{name}.hosts", _unknown(name, data))
                del groups[name]
            continue
        groups[name] = dataclasses.replace(group, hosts=_joined(group, decls))


def _joined(group: GroupDef, decls: list[HostDecl]) -> tuple[HostDecl, ...]:
    names = {decl.pattern for decl in decls}
    own: dict[str, HostDecl] = {}
    for host in group.hosts:  # a range (web[01:04]) refines each source host it names, too
        if host.count() <= _EXPANDED_MAX:
            own.update((name, host) for name in host.names() if name in names and name not in own)
    out = [_refined(group, decl, own.get(decl.pattern)) for decl in decls]
    # A literal entry that refined a source host is that host now; a range stays for the names it adds
    # (the ones it shares are planned once, from the refined host, which comes first).
    return (*out, *(host for host in group.hosts if not (host.count() == 1 and host.pattern in own)))


def _refined(group: GroupDef, decl: HostDecl, own: HostDecl | None) -> HostDecl:
    """A source host under the group's vars (and the file's own entry for it, if any)."""
    if own is None and not group.vars:
        return decl
    values: dict[str, Any] = {**decl.vars, **group.vars, **(own.vars if own else {})}
    if own is None:
        return HostDecl(decl.pattern, decl.line, decl.address, values, decl.overrides, source=decl.source)
    address = own.address or decl.address
    return HostDecl(decl.pattern, own.line, address, values, own.overrides, source=decl.source)


def _unknown(name: str, data: SourceData) -> str:
    known = sorted(data.members)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    if close:
        return f"no hosts, and no source has a group {name!r} (did you mean {close[0]!r}?)"
    listed = ", ".join(known[:_SHOWN]) + (f" and {len(known) - _SHOWN} more" if len(known) > _SHOWN else "")
    return f"no hosts, and no source has a group {name!r} (source groups: {listed or 'none'})"
