"""Parse monitoring-plugins performance data: 'label'=value[UOM];[warn];[crit];[min];[max] ..."""

from __future__ import annotations

import re
from typing import Any

# A label is bare (no spaces, no '=') or single-quoted with '' for a literal quote.
_ITEM = re.compile(r"\s*(?:'(?P<quoted>(?:[^']|'')*)'|(?P<bare>[^'=\s][^=\s]*))=(?P<data>\S*)")
_VALUE = re.compile(r"^(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)(?P<uom>[^;\d]*)\Z")
_NUMBER = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\Z")
# A record line must stay under 4 KiB (atomic pipe writes): bound what perfdata may add to it.
MAX_ITEMS = 32
MAX_BYTES = 1500  # rough JSON size budget for all items
MAX_LABEL = 64


def _number(text: str) -> float | int | None:
    if not _NUMBER.match(text):
        return None
    number = float(text)
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _threshold(text: str) -> float | int | str | None:
    """A plain number stays a number; a range such as '10:20' or '@~:5' stays text."""
    if text == "":
        return None
    number = _number(text)
    return text[:32] if number is None else number


def _entry(data: str) -> dict[str, Any] | None:
    parts = data.split(";")
    head = parts[0]
    if head in ("U", ""):
        value, uom = None, ""
    elif match := _VALUE.match(head):
        value, uom = _number(match.group("num")), match.group("uom")[:8]
    else:
        return None
    rest = (parts[1:] + [""] * 4)[:4]
    return {
        "value": value,
        "uom": uom or None,
        "warn": _threshold(rest[0]),
        "crit": _threshold(rest[1]),
        "min": _number(rest[2]) if rest[2] else None,
        "max": _number(rest[3]) if rest[3] else None,
    }


def parse(text: str) -> dict[str, dict[str, Any]]:
    """label → {value, uom, warn, crit, min, max}; malformed items are skipped, not fatal."""
    out: dict[str, dict[str, Any]] = {}
    position, size = 0, 0
    while len(out) < MAX_ITEMS:
        match = _ITEM.match(text, position)
        if match is None:
            # Skip one junk token and try again: one bad item must not hide the rest.
            junk = re.compile(r"\s*\S+").match(text, position)
            if junk is None:
                break
            position = junk.end()
            continue
        position = match.end()
        label = (
            match.group("quoted").replace("''", "'")
            if match.group("quoted") is not None
            else match.group("bare")
        )
        entry = _entry(match.group("data"))
        if entry is not None and label:
            size += len(label[:MAX_LABEL].encode()) + len(repr(entry).encode())
            if size > MAX_BYTES:
                break
            out[label[:MAX_LABEL]] = entry
    return out


def split_output(text: str) -> tuple[str, str]:
    """Plugin output → (first line's message, all perfdata text: after '|' on line 1 and in long output)."""
    lines = text.splitlines() or [""]
    first, _, perf = lines[0].partition("|")
    extra = []
    in_perf = False
    for line in lines[1:]:
        if in_perf:
            extra.append(line)
        elif "|" in line:
            in_perf = True
            extra.append(line.split("|", 1)[1])
    return first.strip(), " ".join([perf, *extra]).strip()
