"""group_vars/ and host_vars/ next to an inventory source, found and merged as Ansible's host_group_vars."""

from __future__ import annotations

import os
from typing import Any

from prober.errors import Problem
from prober.inventory.sources._ansible.errors import Where, fail
from prober.inventory.sources._ansible.loadfile import load_data, read_text
from prober.inventory.sources._ansible.model import freeze

# Ansible looks for NAME, NAME.yml, NAME.yaml, NAME.json in that order and takes the first that exists
# (a directory NAME/ is read whole, sorted, recursively).
EXTENSIONS = ("", ".yml", ".yaml", ".json")

Layer = tuple[dict[str, Any], dict[str, Where]]  # vars and where each was set
EMPTY_LAYER: Layer = ({}, {})


class VarsDir:
    """One group_vars/ or host_vars/ directory: listed once, each name's files read once."""

    def __init__(self, path: str, warnings: list[Problem], memo: dict[int, tuple[Any, Any]]) -> None:
        self.path = path
        self.warnings = warnings
        self.memo = memo
        self.cache: dict[str, Layer] = {}
        self.names: set[str] = set()
        if os.path.isdir(path):
            try:
                self.names = set(os.listdir(path))
            except OSError as exc:
                raise fail(Where(path), f"cannot list: {exc.strerror or exc}") from None
        elif os.path.exists(path):
            warnings.append(Where(path).problem("is not a directory: skipped, as Ansible does"))

    def layer(self, name: str) -> Layer:
        """The merged vars of every file for this group or host name (empty if none)."""
        if not self.names:
            return EMPTY_LAYER
        if name not in self.cache:
            self.cache[name] = self._load(name)
        return self.cache[name]

    def _load(self, name: str) -> Layer:
        values: dict[str, Any] = {}
        origins: dict[str, Where] = {}
        for path in self._files(name):
            data = load_data(path, read_text(path), self.warnings)
            if not data:
                continue  # an empty file, as in Ansible
            if not isinstance(data, dict):
                raise fail(
                    Where(path, 1), f"a vars file must be a mapping of var names, got {type(data).__name__}"
                )
            lines = getattr(data, "lines", {})
            for key, value in data.items():
                values[key] = freeze(value, self.memo)
                origins[key] = Where(path, lines.get(key), str(key))
        return values, origins

    def _files(self, name: str) -> list[str]:
        if not name or name[0] == os.sep:
            return []  # Ansible skips /chroot/style host names
        for ext in EXTENSIONS:
            # A name with '/' in it points below the directory: only the file system can answer.
            if "/" not in name and name + ext not in self.names:
                continue
            path = os.path.join(self.path, name + ext)
            if os.path.isdir(path):
                return _dir_files(path)
            if os.path.exists(path):
                return [path]
        return []


def _dir_files(path: str) -> list[str]:
    """Every vars file under a directory, sorted, skipping hidden and backup (~) files as Ansible does."""
    out: list[str] = []
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        raise fail(Where(path), f"cannot list: {exc.strerror or exc}") from None
    for name in names:
        if name.startswith(".") or name.endswith("~"):
            continue
        ext = os.path.splitext(name)[1]
        full = os.path.join(path, name)
        if os.path.isdir(full) and not ext:
            out.extend(_dir_files(full))
        elif os.path.isfile(full) and ext in EXTENSIONS:
            out.append(full)
    return out


class VarsDirs:
    """group_vars/ and host_vars/ of every source, in source order."""

    def __init__(self, sources: list[str], warnings: list[Problem], memo: dict[int, tuple[Any, Any]]) -> None:
        self.groups: list[VarsDir] = []
        self.hosts: list[VarsDir] = []
        for source in sources:
            base = source if os.path.isdir(source) else os.path.dirname(source) or "."
            self.groups.append(VarsDir(os.path.join(base, "group_vars"), warnings, memo))
            self.hosts.append(VarsDir(os.path.join(base, "host_vars"), warnings, memo))
