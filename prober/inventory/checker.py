"""The problem collector: converts values with their line and key path, and keeps going on errors."""

from __future__ import annotations

import difflib
import re
from typing import Any

from prober.errors import Problem
from prober.inventory import fields, tables
from prober.inventory.defs import Layer
from prober.inventory.yamlsafe import LocDict

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED_VARS = frozenset({"host", "address", "group"})


def describe(value: Any, show: bool = True) -> str:
    """What a value is, for 'expected X, got Y' messages; show=False leaves the value itself out."""
    if value is None:
        return "nothing (null)"
    kinds = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    for kind, word in kinds.items():
        if isinstance(value, kind):
            return f"{word} ({fields.shown(value)})" if show and kind in (str, bool) else word
    return f"{type(value).__name__} ({fields.shown(value)})" if show else type(value).__name__


def suggest(key: str, allowed: set[str] | dict[str, Any]) -> str:
    """' (did you mean 'port'?)' for a near miss, else the list of allowed keys."""
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.75)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (expected one of: {', '.join(sorted(allowed))})"


class Checker:
    """Walks the parsed YAML, converting values and recording problems instead of stopping."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        # Probes whose definition is broken: already reported, so uses of them are not reported again.
        self.broken_probes: set[str] = set()

    def add(self, line: int | None, key: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, key, message))

    def mapping(self, value: Any, line: int, key: str) -> LocDict | None:
        if isinstance(value, LocDict):
            return value
        self.add(line, key, f"expected a mapping, got {describe(value)}")
        return None

    def convert(self, converter: fields.Converter, value: Any, line: int, key: str) -> Any:
        try:
            return converter(value)
        except ValueError as exc:
            self.add(line, key, str(exc))
            return None

    def unknown_keys(self, data: LocDict, allowed: set[str] | dict[str, Any], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                self.add(data.line_of(key), f"{prefix}{key}", f"unknown key{suggest(key, allowed)}")

    def variables(self, value: Any, line: int, key: str) -> dict[str, Any]:
        data = self.mapping(value, line, key)
        if data is None:
            return {}
        out: dict[str, Any] = {}
        for name, item in data.items():
            where = data.line_of(name)
            if not VAR_NAME.match(name) or name in RESERVED_VARS:
                self.add(where, f"{key}.{name}", "var names are identifiers, not host/address/group")
            elif isinstance(item, bool) or not isinstance(item, str | int | float):
                self.add(where, f"{key}.{name}", f"a var must be a string or number, got {describe(item)}")
            elif isinstance(item, str) and "\0" in item:
                self.add(where, f"{key}.{name}", "a var cannot contain a NUL character")
            else:
                out[name] = item
        return out

    def probe_params(self, kind: str, data: LocDict, key: str) -> Layer:
        """Convert a probe's (or an override's) keys with the table of its kind."""
        table = tables.converters(kind)
        aliases = tables.aliases(kind)
        layer = Layer(key, line=data.line)
        for given, value in data.items():
            if given == "type":
                continue
            if given in aliases and aliases[given] in data:
                message = f"give either '{given}' or '{aliases[given]}'"
                self.add(data.line_of(given), f"{key}.{given}", message)
                continue
            name = aliases.get(given, given)
            if name not in table:
                message = f"unknown key for a {kind} probe{suggest(name, table)}"
                self.add(data.line_of(given), f"{key}.{given}", message)
                continue
            converted = self.convert(table[name], value, data.line_of(given), f"{key}.{given}")
            if converted is not None:
                layer.params[name] = converted
                layer.lines[name] = data.line_of(given)
                if given != name:
                    layer.spelled[name] = given
        return layer
