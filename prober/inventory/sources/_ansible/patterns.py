"""Ansible host patterns (`web:&prod:!web03`, `web,db`, `~regex`, `web*`, `group[0:2]`) as Ansible."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from prober.inventory.sources._ansible.hostpatterns import parse_address


class GroupHosts(Protocol):
    """A group as patterns see it: its name and every host in it (children included), in order."""

    @property
    def name(self) -> str: ...

    @property
    def all_hosts(self) -> tuple[str, ...]: ...


class HostSet(Protocol):
    """What patterns select from: an AnsibleInventory, or prober's plan (prober/limit.py)."""

    @property
    def hosts(self) -> Mapping[str, object]: ...

    @property
    def groups(self) -> Mapping[str, GroupHosts]: ...

_COLON_PARTS = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)[:-]([0-9]*))\]$")
_GLOB_CHARS = (".", "?", "*", "[")


class PatternError(ValueError):
    """A host pattern that cannot be used (bad regex, subscript past the end, missing @file)."""


def split_patterns(pattern: str | Sequence[str]) -> list[str]:
    """'a,b[1], c[2:3] , d' → ['a', 'b[1]', 'c[2:3]', 'd']; ':' also separates, unless the whole is one
    host (an IPv6 address, a host:port) or a range."""
    if not isinstance(pattern, str):
        return [part for item in pattern for part in split_patterns(item)]
    if "," in pattern:
        parts = pattern.split(",")
    else:
        try:
            parse_address(pattern)
            parts = [pattern]
        except ValueError:
            parts = _COLON_PARTS.findall(pattern)
    return [part.strip() for part in parts if part.strip()]


def select_hosts(
    inventory: HostSet,
    pattern: str | Sequence[str] = "all",
    limit: str | Sequence[str] | None = None,
) -> tuple[str, ...]:
    """The host names `ansible PATTERN --limit LIMIT --list-hosts` lists, in its order.

    Unlike Ansible, `localhost` never matches a host that is not in the inventory."""
    selector = _Selector(inventory)
    hosts = selector.evaluate(split_patterns(pattern))
    if limit is not None:
        allowed = set(selector.evaluate(_limit_patterns(limit)))
        hosts = [host for host in hosts if host in allowed]
    return tuple(dict.fromkeys(hosts))


def _limit_patterns(limit: str | Sequence[str]) -> list[str]:
    """--limit patterns; `@FILE` stands for the patterns in FILE, one a line."""
    out: list[str] = []
    for item in split_patterns(limit):
        if not item.startswith("@"):
            out.append(item)
            continue
        path = item[1:]
        if os.path.isdir(path):
            raise PatternError(f"limit {item!r}: {path} is a directory, not a file of host patterns")
        try:
            with open(path, encoding="utf-8") as handle:
                out.extend(line.strip() for line in handle.read().split("\n"))
        except (OSError, UnicodeDecodeError) as exc:
            raise PatternError(
                f"limit {item!r}: cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
    return out


class _Selector:
    def __init__(self, inventory: HostSet) -> None:
        self.inventory = inventory
        self.cache: dict[str, list[str]] = {}

    def evaluate(self, patterns: list[str]) -> list[str]:
        """Plain patterns first (union), then &patterns (intersection), then !patterns (exclusion)."""
        plain = [p for p in patterns if p and p[0] not in "!&"] or ["all"]
        ordered = plain + [p for p in patterns if p[:1] == "&"] + [p for p in patterns if p[:1] == "!"]
        hosts: list[str] = []
        for pattern in ordered:
            if pattern in self.inventory.hosts:
                hosts.append(pattern)
                continue
            matched = self.match_one(pattern)
            if pattern[0] == "!":
                excluded = set(matched)
                hosts = [h for h in hosts if h not in excluded]
            elif pattern[0] == "&":
                kept = set(matched)
                hosts = [h for h in hosts if h in kept]
            else:
                present = set(hosts)
                hosts.extend(h for h in matched if h not in present)
        return hosts

    def match_one(self, pattern: str) -> list[str]:
        if pattern[0] in "!&":
            pattern = pattern[1:]
            if not pattern:
                raise PatternError("'!' and '&' must be followed by a pattern")
        if pattern not in self.cache:
            expr, subscript = _split_subscript(pattern)
            hosts = self._enumerate(expr)
            if hosts and subscript:
                hosts = _subscript(pattern, hosts, subscript)
            self.cache[pattern] = hosts
        return self.cache[pattern]

    def _enumerate(self, pattern: str) -> list[str]:
        """Hosts of every matching group (with children); also matching hosts when no group matched or
        the pattern is a regex or glob. Duplicates are kept: a subscript counts them, as in Ansible."""
        try:
            regex = re.compile(pattern[1:] if pattern[0] == "~" else fnmatch.translate(pattern))
        except re.error as exc:
            raise PatternError(f"invalid host pattern {pattern!r}: {exc}") from None
        results: list[str] = []
        groups = [g for g in self.inventory.groups.values() if regex.match(g.name)]
        for group in groups:
            results.extend(group.all_hosts)
        if not groups or pattern[0] == "~" or any(c in pattern for c in _GLOB_CHARS):
            results.extend(name for name in self.inventory.hosts if regex.match(name))
        return results


def _split_subscript(pattern: str) -> tuple[str, tuple[int, int | None] | None]:
    if pattern[0] == "~":
        return pattern, None  # a regex keeps its brackets
    match = _SUBSCRIPT.match(pattern)
    if not match:
        return pattern, None
    expr, index, start, end = match.groups()
    if index is not None:
        return expr, (int(index), None)
    return expr, (int(start), int(end) if end else -1)


def _subscript(pattern: str, hosts: list[str], subscript: tuple[int, int | None]) -> list[str]:
    start, end = subscript
    if end:  # as Ansible: an end of 0 ([2:0]) reads as "just the start"
        return hosts[start : (len(hosts) if end == -1 else end + 1)]
    try:
        return [hosts[start]]
    except IndexError:
        raise PatternError(
            f"no host matched the subscripted pattern {pattern!r}: index {start} is past the end"
        ) from None
