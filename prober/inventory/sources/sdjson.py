"""JSON target groups parsed strictly, with the line of every group, key, target and label found later.

json.loads gives no positions, so the text is walked once more (on the first line asked for) with the
decoder's raw_decode, recording where each value a problem can point at starts: `[i]`, `[i].targets`,
`[i].targets[j]`, `[i].labels`, `[i].labels.NAME`. A key given twice is found where json.loads takes
it from: its last occurrence.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from typing import Any

from prober.inventory.sources.sd import LineOf, Path

_WS = re.compile(r"[ \t\n\r]*")
_DECODE = json.JSONDecoder().raw_decode


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's json accepts NaN and Infinity; JSON (and Go) do not


def load(text: str) -> tuple[Any, LineOf]:
    """The parsed document and a function giving the line of a path in it (JSONDecodeError, a
    ValueError with lineno, on bad JSON)."""
    data = json.loads(text, parse_constant=_no_constant)
    return data, _Lines(text)


class _Lines:
    """Path → line, computed on the first call (most documents are never asked)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: dict[Path, int] | None = None
        self.newlines: list[int] = []

    def __call__(self, path: Path) -> int | None:
        if self.starts is None:
            self.starts = _walk(self.text)
            self.newlines = [match.start() for match in re.finditer("\n", self.text)]
        while path and path not in self.starts:
            path = path[:-1]  # a missing key: the line of what holds it
        offset = self.starts.get(path)
        return None if offset is None else bisect.bisect_right(self.newlines, offset) + 1


def _walk(text: str) -> dict[Path, int]:
    starts: dict[Path, int] = {}
    top = _WS.match(text, 0).end()  # type: ignore[union-attr]  # [ \t\n\r]* matches anywhere
    if not text.startswith("[", top):
        return {(): top}
    starts[()] = top
    for index, start in _elements(text, top):
        starts[(index,)] = start
        if not text.startswith("{", start):
            continue
        for key, value in _members(text, start):
            starts[(index, key)] = value
            if key == "targets" and text.startswith("[", value):
                starts.update(((index, key, j), at) for j, at in _elements(text, value))
            elif key == "labels" and text.startswith("{", value):
                starts.update(((index, key, name), at) for name, at in _members(text, value))
    return starts


def _ws(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]  # [ \t\n\r]* matches anywhere


def _elements(text: str, pos: int) -> Iterator[tuple[int, int]]:
    """(index, start) of each element of the array at pos (valid JSON: json.loads read it already)."""
    pos = _ws(text, pos + 1)
    index = 0
    while not text.startswith("]", pos):
        yield index, pos
        pos = _ws(text, _DECODE(text, pos)[1])
        if text.startswith(",", pos):
            pos = _ws(text, pos + 1)
        index += 1


def _members(text: str, pos: int) -> Iterator[tuple[str, int]]:
    """(key, start of its value) of each member of the object at pos."""
    pos = _ws(text, pos + 1)
    while not text.startswith("}", pos):
        key, pos = _DECODE(text, pos)
        pos = _ws(text, _ws(text, pos) + 1)  # past the ':'
        yield key, pos
        pos = _ws(text, _DECODE(text, pos)[1])
        if text.startswith(",", pos):
            pos = _ws(text, pos + 1)
