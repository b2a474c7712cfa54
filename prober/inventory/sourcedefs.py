"""The `sources:` section: where hosts and groups come from besides `groups:` (Ansible, file_sd, http_sd).

    sources:
      - ansible: hosts.ini                 # a file, a directory, an executable script; or a list of them
        timeout: 30s                       # for a dynamic inventory script (all its calls together)
      - file_sd: "sd/*.json"               # a glob or a list of globs
        group_label: job                   # each target joins the group this label names ...
      - http_sd: "https://cmdb.example/sd"
        group: fromapi                     # ... or this group (with group_label: where the label is missing)
        token_env: CMDB_TOKEN              # also ca_file, timeout, retries

Relative paths are read from the inventory file's directory (the current one for standard input), as
Prometheus reads file_sd paths from its configuration file's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from prober.inventory import fields
from prober.inventory.checker import NAME, Checker, describe, suggest
from prober.inventory.yamlsafe import STDIN, LocDict, LocList

KINDS = ("ansible", "file_sd", "http_sd")
_GROUPING = {"group", "group_label"}
_KEYS: dict[str, set[str]] = {
    "ansible": {"ansible", "timeout"},
    "file_sd": {"file_sd"} | _GROUPING,
    "http_sd": {"http_sd", "token_env", "ca_file", "timeout", "retries"} | _GROUPING,
}
_CONVERTERS: dict[str, fields.Converter] = {
    "timeout": fields.duration,
    "retries": fields.integer(0, 10),
    "token_env": fields.env_name,
    "ca_file": fields.text,
}
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*\Z")  # Prometheus's label names


@dataclass(frozen=True)
class SourceDef:
    """One entry of `sources:`, checked; paths resolved against the inventory's directory."""

    kind: str  # ansible, file_sd or http_sd
    key: str  # "sources[0].ansible": how messages name it
    line: int
    where: tuple[str, ...]  # ansible paths, file_sd globs, or the one http_sd URL
    group: str | None = None
    group_label: str | None = None
    token_env: str | None = None
    ca_file: str | None = None
    timeout: float | None = None
    retries: int | None = None


def parse_sources(check: Checker, raw: LocDict, inventory: str) -> list[SourceDef]:
    """The `sources:` list; each problem is recorded with its line (nothing is read here)."""
    if "sources" not in raw:
        return []
    value, line = raw["sources"], raw.line_of("sources")
    if not isinstance(value, LocList) or not value:
        got = "an empty list" if isinstance(value, LocList) else describe(value)
        message = f"expected a list of sources (ansible, file_sd, http_sd), got {got}"
        check.add(line, "sources", message)
        return []
    base = "" if inventory == STDIN else os.path.dirname(inventory)
    out = []
    for index, item in enumerate(value):
        source = _source(check, item, value.line_of(index), f"sources[{index}]", base)
        if source is not None:
            out.append(source)
    return out


def _source(check: Checker, item: Any, line: int, key: str, base: str) -> SourceDef | None:
    data = check.mapping(item, line, key)
    if data is None:
        return None
    kinds = [kind for kind in KINDS if kind in data]
    if len(kinds) != 1:
        given = f"both {' and '.join(kinds)}" if kinds else "none"
        check.add(data.line, key, f"a source needs exactly one of ansible, file_sd or http_sd, got {given}")
        for name in data:
            if name not in set().union(*_KEYS.values()):
                check.add(data.line_of(name), f"{key}.{name}", f"unknown key{suggest(name, set(KINDS))}")
        return None
    kind = kinds[0]
    count = len(check.problems)
    check.unknown_keys(data, _KEYS[kind], f"{key}.")
    key = f"{key}.{kind}"
    where = _where(check, data, kind, key, base)
    values: dict[str, Any] = {}
    for name, convert in _CONVERTERS.items():
        if name in data:
            values[name] = check.convert(convert, data[name], data.line_of(name), f"{key}.{name}")
    if values.get("token_env") and where:
        if not where[0].lower().startswith("https://"):
            message = "a token is only sent over https (http would show it on the network)"
            check.add(data.line_of("token_env"), f"{key}.token_env", message)
        elif "@" in urlsplit(where[0]).netloc:
            message = "the URL has user:password@ already: give one way to authenticate"
            check.add(data.line_of("token_env"), f"{key}.token_env", message)
    if values.get("ca_file"):
        path = _resolved(base, values["ca_file"])
        values["ca_file"] = check.convert(fields.local_file, path, data.line_of("ca_file"), f"{key}.ca_file")
    if kind != "ansible":
        values.update(_grouping(check, data, key))
    if len(check.problems) > count or not where:
        return None
    return SourceDef(kind, key, data.line_of(kind), where, **values)


def _where(check: Checker, data: LocDict, kind: str, key: str, base: str) -> tuple[str, ...]:
    """The paths (ansible, file_sd) or the URL (http_sd) an entry reads."""
    value, line = data[kind], data.line_of(kind)
    if kind == "http_sd":
        url = check.convert(fields.url, value, line, key)
        return (url,) if url else ()
    items = list(value) if isinstance(value, LocList) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        what = "a path" if kind == "ansible" else "a glob"
        check.add(line, key, f"expected {what} or a list of them, got {describe(value)}")
        return ()
    return tuple(_resolved(base, item) for item in items)


def _grouping(check: Checker, data: LocDict, key: str) -> dict[str, str | None]:
    """`group` and/or `group_label`: one is needed (with both, the label wins where a target has it)."""
    out: dict[str, str | None] = {}
    if not _GROUPING & set(data):
        check.add(data.line, key, "give group_label (the label naming each target's group) or group")
    if "group" in data:
        group = check.convert(fields.text, data["group"], data.line_of("group"), f"{key}.group")
        if group is not None and not NAME.match(group):
            message = "group names use letters, digits, '_', '-' and '.'"
            check.add(data.line_of("group"), f"{key}.group", message)
        out["group"] = group
    if "group_label" in data:
        label = data["group_label"]
        if not isinstance(label, str) or not _LABEL_NAME.match(label):
            message = f"expected a label name ([a-zA-Z_][a-zA-Z0-9_]*), got {describe(label)}"
            check.add(data.line_of("group_label"), f"{key}.group_label", message)
        out["group_label"] = label if isinstance(label, str) else None
    return out


def _resolved(base: str, path: str) -> str:
    """A path as written, made relative to the inventory's directory unless absolute (`~` expanded)."""
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) or not base else os.path.join(base, path)
