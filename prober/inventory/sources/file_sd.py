"""Read Prometheus file_sd files (JSON or YAML, globs) into a frozen SDInventory.

    inventory = load_file_sd("sd/*.json", group_label="job")     # or group="web"; or a list of patterns
    for host in inventory.hosts: host.name, host.port, host.labels, host.group
    InventoryError                                               # every problem, each with file:line

A pattern is what Prometheus's `file_sd_configs.files` takes: a path ending in .json, .yml or .yaml,
`*` only in its last part. Unlike Prometheus, which logs a file it cannot read and goes on without it,
every problem here is an error: a pattern matching no file, a file that does not parse, a target that
is not `host[:port]`. Nothing is probed from a source that did not read whole.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from typing import Any

from prober.errors import InventoryError, Problem
from prober.inventory.sources import sdjson
from prober.inventory.sources.sd import LineOf, Path, Reader, SDInventory
from prober.inventory.yamlsafe import MAX_BYTES, LocDict, LocList, load_yaml

__all__ = ["load_file_sd"]

_PATTERN = re.compile(r"^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$")  # Prometheus's rule


def load_file_sd(
    patterns: str | Sequence[str], *, group: str | None = None, group_label: str | None = None
) -> SDInventory:
    """Read every file the patterns match (each once, in name order per pattern). Each target joins the
    group its `group_label` label names, else the fixed `group` (one of the two is needed)."""
    reader = Reader(group, group_label)
    files: list[str] = []
    for pattern in [patterns] if isinstance(patterns, str) else patterns:
        files += [path for path in _matches(reader, pattern) if path not in files]
    for path in files:
        json = os.path.splitext(path)[1].lower() == ".json"
        try:
            data, line_of = _parse(path, json)
        except InventoryError as exc:
            reader.problems += exc.problems
            continue
        reader.document(data, path, {"__meta_filepath": path}, line_of, json=json)
    return reader.result(tuple(files))


def _matches(reader: Reader, pattern: str) -> list[str]:
    if not _PATTERN.match(pattern):
        message = "a file_sd path ends in .json, .yml or .yaml and has '*' only in its last part"
        reader.problems.append(Problem(pattern, None, "", message))
        return []
    # Go's filepath.Glob, which Prometheus uses, matches names starting with '.' too.
    found = sorted(glob.glob(pattern, include_hidden=True))
    if not found:
        missing = "matches no file" if glob.has_magic(pattern) else "no such file"
        reader.problems.append(Problem(pattern, None, "", missing))
    return found


def _parse(path: str, json: bool) -> tuple[Any, LineOf]:
    if not json:
        data = load_yaml(path)  # strict: duplicate keys refused, as Prometheus's UnmarshalStrict does
        return data, _yaml_lines(data)
    text = _read_text(path)
    try:
        return sdjson.load(text)
    except ValueError as exc:  # json.JSONDecodeError is one, with the line
        line, message = getattr(exc, "lineno", None), getattr(exc, "msg", str(exc))
        column = f" (column {exc.colno})" if hasattr(exc, "colno") else ""
        raise InventoryError([Problem(path, line, "", f"JSON: {message}{column}")]) from None


def _read_text(path: str) -> str:
    try:
        if os.path.isdir(path):
            raise InventoryError([Problem(path, None, "", "is a directory, not a file_sd file")])
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InventoryError([Problem(path, None, "", f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_BYTES:
        raise InventoryError([Problem(path, None, "", f"file is over {MAX_BYTES // 2**20} MiB")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InventoryError([Problem(path, line, "", f"not UTF-8 text (byte {exc.start})")]) from None


def _yaml_lines(data: Any) -> LineOf:
    """Path → line in a document read by load_yaml (its mappings and lists know their lines)."""

    def line_of(path: Path) -> int | None:
        node, line = data, getattr(data, "line", None)
        for step in path:
            inside = isinstance(node, LocList) and isinstance(step, int) and step < len(node)
            if not (inside or (isinstance(node, LocDict) and isinstance(step, str) and step in node)):
                break
            line, node = node.line_of(step), node[step]
        return line

    return line_of
