"""Ansible's INI inventory format: [group], [group:vars], [group:children], host lines with key=value."""

from __future__ import annotations

import re
import shlex
from typing import Any

from prober.inventory.sources._ansible import hostpatterns
from prober.inventory.sources._ansible.data import UNGROUPED, Builder
from prober.inventory.sources._ansible.errors import Where, fail
from prober.inventory.sources._ansible.inivalues import ini_value
from prober.inventory.sources._ansible.loadfile import read_bytes

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
# A host line without quotes, escapes, comments or odd whitespace splits the same with str.split as with
# shlex, ~30x faster.
_SHLEX_SPECIAL = re.compile(r"[\"'\\#\x00-\x08\x0b-\x1f\x7f]")


def parse_ini(builder: Builder, path: str) -> None:
    """Read one INI inventory file into builder; SourceError names the first bad line."""
    _Reader(builder, path).read(_lines(path, read_bytes(path)))


def _lines(path: str, raw: bytes) -> list[str]:
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        pass
    # As Ansible: bytes that are not UTF-8 are tolerated in comment lines only.
    out = []
    for number, line in enumerate(raw.splitlines(), 1):
        if line[:1] in (b"#", b";"):
            out.append("")
            continue
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise fail(
                Where(path, number), f"not UTF-8 text: byte 0x{line[exc.start]:02x} ({exc.reason})"
            ) from None
    return out


class _Reader:
    """One pass over the lines, as Ansible's ini plugin: a section header sets the group and what
    follows it (hosts, vars or children); groups named before they are declared wait in `pending`."""

    def __init__(self, builder: Builder, path: str) -> None:
        self.builder = builder
        self.path = path
        self.group, self.state, self.section = UNGROUPED, "hosts", ""
        # group → line, state ('vars' or 'children'), parents (for children)
        self.pending: dict[str, tuple[int, str, list[str]]] = {}

    def read(self, lines: list[str]) -> None:
        for number, text in enumerate(lines, 1):
            line = text.strip()
            if not line or line[0] in "#;":
                continue
            where = Where(self.path, number, self.section)
            try:
                self._line(line, where)
            except ValueError as exc:
                raise fail(where, str(exc)) from None
        for name, (number, state, parents) in self.pending.items():
            where = Where(
                self.path, number, f"[{name}:{state}]" if state == "vars" else f"[{parents[-1]}:children]"
            )
            if state == "vars":
                raise fail(
                    where, f"[{name}:vars] is for a group that is never declared ([{name}] or as a child)"
                )
            raise fail(where, f"child group {name!r} is never declared")

    def _line(self, line: str, where: Where) -> None:
        match = _SECTION.match(line)
        if match:
            self._section(match.group(1), match.group(2) or "hosts", where)
        elif line.startswith("[") and line.endswith("]"):
            raise ValueError(
                f"invalid section header {line!r}: no spaces, and [group] or [group:vars|children]"
            )
        elif self.state == "hosts":
            self._hosts(line, where)
        elif self.state == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"expected key=value in [{self.group}:vars]")
            self.builder.set_var(self.group, key.strip(), ini_value(value.strip()), where)
        else:
            self._child(line, where)

    def _section(self, group: str, state: str, where: Where) -> None:
        if state not in ("hosts", "children", "vars"):
            raise ValueError(
                f"section [{group}:{state}] has an unknown type {state!r} (expected vars or children)"
            )
        self.group, self.state = group, state
        self.section = f"[{group}]" if state == "hosts" else f"[{group}:{state}]"
        if group not in self.builder.groups:
            # [g:vars] alone does not declare g: it must be declared somewhere in the file.
            if state == "vars" and group not in self.pending:
                self.pending[group] = (where.line or 0, "vars", [])
            self.builder.add_group(group, where)
        if group in self.pending and state != "vars":
            if self.pending[group][1] == "children":
                self._adopt(group, where)
            else:
                del self.pending[group]

    def _adopt(self, group: str, where: Where) -> None:
        """group is declared at last: make it the child of every section that named it."""
        for parent in self.pending[group][2]:
            self.builder.add_child(parent, group, where)
            if parent in self.pending and self.pending[parent][1] == "children":
                self._adopt(parent, where)
        del self.pending[group]

    def _child(self, line: str, where: Where) -> None:
        match = _GROUP_NAME.match(line)
        if not match:
            raise ValueError(f"expected a group name in [{self.group}:children], got {line!r}")
        child = match.group(1)
        if child in self.builder.groups:
            self.builder.add_child(self.group, child, where)
        elif child in self.pending:
            self.pending[child][2].append(self.group)
        else:
            self.pending[child] = (where.line or 0, "children", [self.group])

    def _hosts(self, line: str, where: Where) -> None:
        if line.isascii() and not _SHLEX_SPECIAL.search(line):
            tokens = line.split()
        else:
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError as exc:
                raise ValueError(f"cannot split the host line: {exc}") from None
            if not tokens:
                raise ValueError("no host on this line")
        names, port = _host_names(tokens[0])
        variables: dict[str, Any] = {}
        for index, token in enumerate(tokens[1:], 2):
            key, sep, value = token.partition("=")
            if not sep:
                message = f"word {index} of the host line is not key=value"
                raise ValueError(f"{message} (no spaces around '=', quote values with spaces)")
            variables[key] = ini_value(value)
        if not names:
            self.builder.warn(where, f"host pattern {tokens[0]!r} expands to no hosts")
        builder = self.builder
        for name in names:
            builder.add_host(name, self.group, port, where)
            for key, value in variables.items():
                builder.set_var(name, key, value, where)


def _host_names(pattern: str) -> tuple[list[str], int | None]:
    host, port = hostpatterns.split_port(pattern)
    if port is None and pattern.endswith(":"):
        raise ValueError(f"host pattern {pattern!r} ends in ':' (reserved for a port)")
    names = hostpatterns.expand(host)
    if "---" in (name.strip() for name in names):
        raise ValueError("'---' is not a host: is this a YAML file?")
    return names, port
