"""Expand Ansible-style host ranges: web[01:40].example.com, 10.0.3.[1:20], db-[a:c]."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

MAX_HOSTS_PER_PATTERN = 1_000_000
_RANGE = re.compile(r"\[([^\[\]]*)\]")


def _numeric(start: str, end: str, stride: int) -> list[str]:
    low, high = int(start), int(end)
    if low > high:
        raise ValueError(f"range start {start} is after its end {end}")
    # Ansible keeps the width of a zero-padded start ("01" → 01, 02, …).
    width = len(start) if start.startswith("0") and len(start) > 1 else 0
    return [str(n).zfill(width) for n in range(low, high + 1, stride)]


def _alpha(start: str, end: str, stride: int) -> list[str]:
    if start > end:
        raise ValueError(f"range start {start!r} is after its end {end!r}")
    return [chr(c) for c in range(ord(start), ord(end) + 1, stride)]


def _expand_one(body: str) -> list[str]:
    parts = body.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ValueError(f"bad range [{body}]: expected [start:end] or [start:end:stride]")
    start, end = parts[0].strip(), parts[1].strip()
    stride_text = parts[2].strip() if len(parts) == 3 else "1"
    if not stride_text.isdigit() or int(stride_text) < 1:
        raise ValueError(f"bad range [{body}]: stride must be a positive integer")
    stride = int(stride_text)
    if start.isdigit() and end.isdigit():
        return _numeric(start, end, stride)
    if len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
        return _alpha(start, end, stride)
    raise ValueError(f"bad range [{body}]: ends must be both numbers or both single letters")


def _parse(pattern: str) -> tuple[list[str], list[list[str]]]:
    if not pattern or any(c.isspace() for c in pattern):
        raise ValueError(f"host name {pattern!r} is empty or contains whitespace")
    pieces = _RANGE.split(pattern)
    literals = pieces[0::2]
    if any("[" in literal or "]" in literal for literal in literals):
        raise ValueError(f"unbalanced bracket in host pattern {pattern!r}")
    ranges = [_expand_one(body) for body in pieces[1::2]]
    total = 1
    for values in ranges:
        total *= len(values)
    if total > MAX_HOSTS_PER_PATTERN:
        raise ValueError(f"pattern {pattern!r} expands to {total} hosts, over {MAX_HOSTS_PER_PATTERN}")
    return literals, ranges


def expand(pattern: str) -> Iterator[str]:
    """Every host name a pattern stands for, in order; ValueError names what is wrong."""
    literals, ranges = _parse(pattern)
    for combo in itertools.product(*ranges):
        out = [literals[0]]
        for value, literal in zip(combo, literals[1:], strict=True):
            out += [value, literal]
        yield "".join(out)


def validate(pattern: str) -> None:
    """Raise ValueError if a pattern cannot be expanded."""
    _parse(pattern)
