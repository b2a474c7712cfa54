"""A record cut to fit one atomic pipe write: the longest texts are shortened first and long lists
(perfdata) lose their last entries, but no key is dropped, so the record still matches the schema.

Order of sacrifice: every text but the record's identity (remote output, error message, URL, check
figures, perfdata labels) is cut to a common length, the largest that fits (so the longest are cut
first and most); if that is not enough, nested lists and maps lose trailing entries; then the identity
texts (host, address, group, probe) are cut too. What is never cut: event, ts, run_id, type, status,
error.kind, numbers, booleans and nulls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

MARK = "…"
_NEVER = frozenset({("event",), ("ts",), ("run_id",), ("type",), ("status",), ("error", "kind")})
_IDENTITY = frozenset({("host",), ("address",), ("group",), ("probe",)})
Path = tuple[Any, ...]


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)


def _cut(value: Any, cap: int, keep: frozenset[Path], path: Path = ()) -> Any:
    """A copy of value with every string longer than cap characters cut to cap (plus MARK)."""
    if isinstance(value, str):
        return value if len(value) <= cap or path in keep else value[:cap] + MARK
    if isinstance(value, dict):
        return {k: _cut(v, cap, keep, (*path, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cut(v, cap, keep, (*path, i)) for i, v in enumerate(value)]
    return value


def _longest(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max(map(_longest, value.values()), default=0)
    if isinstance(value, list | tuple):
        return max(map(_longest, value), default=0)
    return 0


def _largest(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """The largest n in [low, high] with fits(n), fits being monotone; None if even low does not fit."""
    if not fits(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _shortened(obj: dict[str, Any], limit: int, keep: frozenset[Path]) -> bytes | None:
    """obj with its texts (outside `keep`) cut to the largest common length that fits, if any does."""
    lines: dict[int, bytes] = {}

    def fits(cap: int) -> bool:
        lines[cap] = _dumps(_cut(obj, cap, keep))
        return len(lines[cap]) <= limit

    cap = _largest(0, min(_longest(obj), limit), fits)  # no text longer than the line fits
    return None if cap is None else lines[cap]


def _trimmed(value: Any, keep: int, depth: int = 0) -> Any:
    """A copy where every list or map two levels down or deeper (perfdata and the like, never a
    required key of the record or of its per-type object) holds at most `keep` entries."""
    if isinstance(value, dict):
        items = list(value.items())[: keep if depth >= 2 else None]
        return {k: _trimmed(v, keep, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [_trimmed(v, keep, depth + 1) for v in list(value)[: keep if depth >= 2 else None]]
    return value


def _widest(value: Any, depth: int = 0) -> int:
    size = len(value) if isinstance(value, dict | list | tuple) and depth >= 2 else 0
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    return max([size, *(_widest(v, depth + 1) for v in children)])


def fitted(obj: dict[str, Any], limit: int) -> bytes:
    """obj as one JSON line of at most `limit` bytes (if at all possible), marked "truncated": true."""
    obj = {**obj, "truncated": True}
    keep = _NEVER | _IDENTITY
    line = _shortened(obj, limit, keep)
    if line is None:  # texts alone are not enough: drop trailing entries of nested lists and maps
        count = _largest(0, _widest(obj), lambda n: len(_dumps(_cut(_trimmed(obj, n), 0, keep))) <= limit)
        obj = _trimmed(obj, count or 0)
        line = _shortened(obj, limit, keep) or _shortened(obj, limit, _NEVER)
    # Still too long only with keys of absurd length (none come from a validated inventory).
    return line or _dumps(_cut(obj, 0, _NEVER))
