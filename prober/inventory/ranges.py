"""Expand Ansible-style host ranges: web[01:40].example.com, 10.0.3.[1:20], db-[a:c], h[0:10:2]."""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Iterator, Sequence

from prober.inventory.hostnames import HOST_CHARS, check_host, ipv4_problem, looks_like_ipv4

MAX_HOSTS_PER_PATTERN = 1_000_000
_RANGE = re.compile(r"\[([^\[\]]*)\]")
_DIGITS = re.compile(r"^[0-9]+\Z")
# Literal text a label that reads as a number can hold (decimal, or 0x hex); anything else: a DNS name.
_NUMERIC_TEXT = re.compile(r"^[0-9A-Fa-fxX]*\Z")
Label = list[str | Sequence[str]]

__all__ = ["HOST_CHARS", "check_host", "count", "expand", "validate"]


class _Numbers(Sequence[str]):
    """A numeric range without materialising it; zero padding of the start is kept."""

    def __init__(self, low: int, high: int, stride: int, width: int) -> None:
        self.numbers = range(low, high + 1, stride)
        self.width = width

    def __len__(self) -> int:
        return len(self.numbers)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]  # no slices: never taken
        return str(self.numbers[index]).zfill(self.width)


def _numeric(body: str, start: str, end: str, stride: int) -> Sequence[str]:
    low, high = int(start), int(end)
    if low > high:
        raise ValueError(f"bad range [{body}]: range start {start} is after its end {end}")
    # Ansible keeps the width of a zero-padded start ("01" → 01, 02, …).
    width = len(start) if start.startswith("0") and len(start) > 1 else 0
    return _Numbers(low, high, stride, width)


def _alpha(body: str, start: str, end: str, stride: int) -> Sequence[str]:
    letters = string.ascii_lowercase if start.islower() else string.ascii_uppercase
    if end not in letters:
        raise ValueError(f"bad range [{body}]: letter ends must be both lower case or both upper case")
    if start > end:
        raise ValueError(f"bad range [{body}]: range start {start!r} is after its end {end!r}")
    return letters[letters.index(start) : letters.index(end) + 1 : stride]


def _expand_one(body: str) -> Sequence[str]:
    parts = [part.strip() for part in body.split(":")]
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ValueError(f"bad range [{body}]: expected [start:end] or [start:end:stride]")
    start, end = parts[0], parts[1]
    stride_text = parts[2] if len(parts) == 3 else "1"
    if not _DIGITS.match(stride_text) or int(stride_text) < 1:
        raise ValueError(f"bad range [{body}]: stride must be a positive integer")
    stride = int(stride_text)
    if _DIGITS.match(start) and _DIGITS.match(end):
        return _numeric(body, start, end, stride)
    if len(start) == 1 and len(end) == 1 and start in string.ascii_letters and end in string.ascii_letters:
        return _alpha(body, start, end, stride)
    raise ValueError(f"bad range [{body}]: ends must be both numbers or both single letters")


_SPACE = re.compile(r"\s")


def _parse(pattern: str) -> tuple[list[str], list[Sequence[str]]]:
    if not pattern or _SPACE.search(pattern):
        raise ValueError(f"host name {pattern!r} is empty or contains whitespace")
    if "[" not in pattern and "]" not in pattern:  # a plain name: one per line of a 100k-host list
        check_host(pattern)
        return [pattern], []
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
    problem = _ipv4_range_problem(pattern, literals, ranges) if ranges else None
    if problem:
        raise ValueError(problem)
    check_host(_join(literals, [values[0] for values in ranges]))
    if ranges:  # the longest labels come last: a range's last value is its widest
        check_host(_join(literals, [values[-1] for values in ranges]))
    return literals, ranges


def _labels(literals: list[str], ranges: list[Sequence[str]]) -> list[Label]:
    """The pattern cut at its dots (range values never hold one): each label its literals and ranges."""
    labels: list[Label] = [[]]
    for index, literal in enumerate(literals):
        first, *rest = literal.split(".")
        labels[-1].append(first)
        labels += [[part] for part in rest]
        if index < len(ranges):
            labels[-1].append(ranges[index])
    return labels


def _values(label: Label) -> Iterator[str]:
    for combo in itertools.product(*([part] if isinstance(part, str) else part for part in label)):
        yield "".join(combo)


def _ipv4_range_problem(pattern: str, literals: list[str], ranges: list[Sequence[str]]) -> str | None:
    """A range over an IPv4 address must give canonical addresses for every value, checked label by
    label (at most ~256 values each) instead of name by name (up to a million names)."""
    labels = _labels(literals, ranges)
    tail = labels[-2] if len(labels) > 1 and labels[-1] == [""] else labels[-1]
    if not all(_NUMERIC_TEXT.match(part) for part in tail if isinstance(part, str)):
        return None  # web[01:40].example.com: its last label can never read as a number
    if not any(looks_like_ipv4(value) for value in _values(tail)):
        return None
    example = [next(_values(label)) for label in labels]
    for index, label in enumerate(labels):
        for value in _values(label):
            name = ".".join([*example[:index], value, *example[index + 1 :]])
            problem = ipv4_problem(name)
            if problem:
                return _range_message(pattern, name, problem)
    return None


def _unpad(bound: str) -> str:
    return bound.strip().lstrip("0") or "0"


def _range_message(pattern: str, name: str, problem: str) -> str:
    """The problem of one name a range gives; for a zero-padded range, the same range unpadded."""
    plain = _RANGE.sub(lambda m: "[" + ":".join(_unpad(p) for p in m.group(1).split(":")) + "]", pattern)
    if plain != pattern:
        pieces = _RANGE.split(plain)
        if _ipv4_range_problem(plain, pieces[0::2], [_expand_one(b) for b in pieces[1::2]]) is None:
            return (
                f"host range {pattern!r} is zero-padded: it gives {name!r}, which the system resolver "
                f"reads as octal (08 and 09 as a DNS name); write the range without padding: {plain}"
            )
    return f"host range {pattern!r}: {problem}"


def expand(pattern: str) -> Iterator[str]:
    """Every host name a pattern stands for, in order; ValueError names what is wrong."""
    if "[" not in pattern:  # a plain name (explicit host lists: 100k of them) expands to itself
        yield pattern
        return
    literals, ranges = _parse(pattern)
    # One str.format per host (C code) instead of a join loop: planning 100k hosts is on the clock.
    form = "{}".join(literal.replace("{", "{{").replace("}", "}}") for literal in literals)
    for combo in itertools.product(*ranges):
        yield form.format(*combo)


def _join(literals: Sequence[str], values: Sequence[str]) -> str:
    out = [literals[0]]
    for value, literal in zip(values, literals[1:], strict=True):
        out += [value, literal]
    return "".join(out)


def count(pattern: str) -> int:
    """How many host names a valid pattern stands for, without expanding it."""
    if "[" not in pattern:
        return 1
    total = 1
    for values in _parse(pattern)[1]:
        total *= len(values)
    return total


def validate(pattern: str) -> None:
    """Raise ValueError if a pattern cannot be expanded."""
    _parse(pattern)
