"""Prometheus service-discovery target groups (file_sd, http_sd) read into a neutral, frozen inventory.

A target group is `{"targets": ["host[:port]", ...], "labels": {"name": "value", ...}}`, read as
Prometheus reads it: unknown keys and bad label names are errors, a target's own address wins over a
`__address__` group label, labels starting with `__` (`__meta_*`, `__scheme__`, ...) are kept apart from
the others as `meta` (Prometheus drops them after relabeling), and an empty label value is no label.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prober.errors import InventoryError, Problem
from prober.inventory import ranges
from prober.inventory.checker import NAME, describe, suggest
from prober.inventory.sources.ansible import FrozenDict

__all__ = ["SDGroup", "SDHost", "SDInventory", "split_target"]

Path = tuple[int | str, ...]  # where a value sits in a document: (2, "targets", 0)
LineOf = Callable[[Path], "int | None"]
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")  # Prometheus's (classic) label name rule
_GROUP_KEYS = {"targets": None, "labels": None}
_BRACKETED = re.compile(r"^\[([^\[\]]+)\](?::([0-9]+))?$")  # [::1]:9100, [fe80::1%eth0]
MAX_PROBLEMS = 50  # reported per source; a broken generator can produce one per target


@dataclass(frozen=True, slots=True)
class SDHost:
    """One target: the host part of `host[:port]` is its name and address, the rest its port and labels."""

    name: str  # the target's host, brackets removed: "web01", "10.0.0.5", "::1"
    address: str  # the same: what probes connect to
    port: int | None  # the target's port ({port} in templates); None when it has none
    labels: Mapping[str, str]  # its group's labels, except `__`-prefixed ones and empty values
    meta: Mapping[str, str]  # `__`-prefixed labels, plus __meta_filepath (file_sd) or __meta_url (http_sd)
    group: str  # from group_label, else the fixed group
    target: str  # as written: "web01:9100", "[::1]:9100"
    source: str  # the file, or the URL as shown (credentials and query values redacted)
    line: int | None  # the target's line in its file (None for http_sd)
    key: str  # "[2].targets[0]"


@dataclass(frozen=True, slots=True)
class SDGroup:
    """The hosts of one group, by name, in the order the source lists them."""

    name: str
    hosts: Mapping[str, SDHost]


@dataclass(frozen=True, slots=True)
class SDInventory:
    """What a file_sd or http_sd source lists, grouped by `group_label` or a fixed `group`."""

    sources: tuple[str, ...]  # files read (in order) or the URL as shown
    groups: Mapping[str, SDGroup]

    @property
    def hosts(self) -> tuple[SDHost, ...]:
        """Every (group, host), in source order within each group."""
        return tuple(host for group in self.groups.values() for host in group.hosts.values())


def split_target(target: str) -> tuple[str, int | None]:
    """(host, port) of `host[:port]`: a DNS name, IPv4, or IPv6 (in brackets when a port follows;
    bare, like Prometheus, when none does). ValueError says what is wrong."""
    if "/" in target:  # as Prometheus refuses it: scheme and path belong to the probe, not the target
        raise ValueError(f"target {target!r} is not host[:port]: a URL or path (those go in a probe's url)")
    match = _BRACKETED.match(target)
    if match:
        host, port = match.group(1), match.group(2)
        if ":" not in host:
            raise ValueError(f"target {target!r}: brackets are for IPv6 addresses only")
    elif target.count(":") == 1:
        host, port = target.split(":")
    else:
        host, port = target, None  # a name, IPv4, or an IPv6 address without a port
    if not host:
        raise ValueError(f"target {target!r} has no host")
    try:
        ranges.check_host(host)
    except ValueError as exc:
        raise ValueError(f"target {target!r} is not host[:port]: {exc}") from None
    if port is None:
        return host, None
    if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"target {target!r}: port {port!r} is not a number from 1 to 65535")
    return host, int(port)


class Reader:
    """Turns the documents of one source (files of a glob, or one answer) into an SDInventory."""

    def __init__(self, group: str | None, group_label: str | None) -> None:
        if group is None and group_label is None:
            raise ValueError("give group_label (the label naming each target's group) or group")
        self.group, self.group_label = group, group_label
        self.problems: list[Problem] = []
        self.groups: dict[str, dict[str, SDHost]] = {}

    def document(
        self, data: Any, source: str, meta: dict[str, str], line_of: LineOf, *, json: bool = False
    ) -> None:
        """Read one file's (or answer's) list of target groups; problems are collected, not raised.
        In JSON a label value must be a string (Go's decoder refuses a number); YAML scalars are text."""

        def add(path: Path, message: str) -> None:
            self.problems.append(Problem(source, line_of(path), _key(path), message))

        if data is None:
            return  # an empty file: no target groups, as in Prometheus
        if not isinstance(data, list):
            add((), f"expected a list of target groups, got {describe(data)}")
            return
        for index, item in enumerate(data):
            labels = self._group_labels(item, (index,), add, json)
            if labels is None:
                continue
            try:
                common = self._common(labels, meta, source)
            except ValueError as exc:
                add((index, "labels") if "labels" in item else (index,), str(exc))
                continue
            targets = item.get("targets")
            if targets is not None and not isinstance(targets, list):
                add((index, "targets"), f"expected a list of 'host[:port]' strings, got {describe(targets)}")
                continue
            for number, target in enumerate(targets or ()):
                path = (index, "targets", number)
                try:
                    self._target(target, common, line_of(path), _key(path))
                except ValueError as exc:
                    add(path, str(exc))

    def _common(self, labels: dict[str, str], meta: dict[str, str], source: str) -> SDHost:
        """What every target of a group shares: labels, meta labels, group (a template SDHost)."""
        meta = {**meta}
        for name in [name for name in labels if name.startswith("__")]:
            if name != "__address__":  # each target's own address wins (Prometheus)
                meta[name] = labels[name]
        plain = {name: value for name, value in labels.items() if not name.startswith("__")}
        group = self._group_of(plain, meta)
        return SDHost("", "", None, FrozenDict(plain), FrozenDict(meta), group, "", source, None, "")

    def _group_labels(
        self, item: Any, path: Path, add: Callable[[Path, str], None], json: bool
    ) -> dict[str, str] | None:
        if not isinstance(item, dict):
            add(path, f"a target group must be a mapping with targets and labels, got {describe(item)}")
            return None
        unknown = [name for name in item if name not in _GROUP_KEYS]
        for name in unknown:
            add((*path, name), f"unknown key {name!r}{suggest(str(name), _GROUP_KEYS)}")
        if unknown:  # the whole group is refused, as Prometheus refuses it
            return None
        labels = item.get("labels")
        if labels is None:
            return {}
        if not isinstance(labels, dict):
            add((*path, "labels"), f"expected a mapping of label names to values, got {describe(labels)}")
            return None
        out: dict[str, str] = {}
        for name, raw in labels.items():
            where = (*path, "labels", name)
            if not isinstance(name, str) or not LABEL_NAME.match(name):
                add(where, f"{name!r} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)")
            elif isinstance(raw, dict | list) or (json and raw is not None and not isinstance(raw, str)):
                add(where, f"a label value must be a string, got {describe(raw)}")
            elif raw is not None and raw != "":  # an empty value is no label (Prometheus)
                out[name] = _text(raw)
        return out

    def _target(self, target: Any, common: SDHost, line: int | None, key: str) -> None:
        if not isinstance(target, str):
            raise ValueError(f"a target must be a 'host[:port]' string, got {describe(target)}")
        host, port = split_target(target)
        members = self.groups.setdefault(common.group, {})
        first = members.get(host)
        if first is None:
            c = common
            members[host] = SDHost(host, host, port, c.labels, c.meta, c.group, target, c.source, line, key)
        elif (first.port, first.labels) != (port, common.labels):
            where = f"{first.source}:{first.line}" if first.line else f"{first.source} {first.key}"
            differs = "port" if first.port != port else "labels"
            raise ValueError(
                f"{host} is already in group {common.group!r} with another {differs} (target "
                f"{first.target!r}, {where}); prober probes a host once per group: give them different groups"
            )

    def _group_of(self, labels: dict[str, str], meta: dict[str, str]) -> str:
        if self.group_label is not None:
            group = labels.get(self.group_label) or meta.get(self.group_label)
            if group is None and self.group is None:
                raise ValueError(f"no label {self.group_label!r} (group_label) and no fixed group to join")
            group = group or self.group
        else:
            group = self.group
        assert group is not None
        if not NAME.match(group):
            raise ValueError(f"group {group!r} is not a group name (letters, digits, '_', '-', '.')")
        return group

    def result(self, sources: tuple[str, ...]) -> SDInventory:
        """The inventory, or InventoryError with every problem found (up to MAX_PROBLEMS)."""
        if self.problems:
            shown = self.problems[:MAX_PROBLEMS]
            if len(self.problems) > MAX_PROBLEMS:
                last = shown[-1]
                more = f"... and {len(self.problems) - MAX_PROBLEMS} more problems"
                shown.append(Problem(last.file, None, "", more))
            raise InventoryError(shown)
        groups = {name: SDGroup(name, FrozenDict(hosts)) for name, hosts in self.groups.items()}
        return SDInventory(sources, FrozenDict(groups))


def _text(value: Any) -> str:
    """A label value as text: YAML numbers and booleans are read as the text Prometheus would use."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _key(path: Path) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)
