"""Host patterns as Ansible reads them: `host[:port]`, `[v6]:port`, and ranges (web[01:20:2], db-[a:c])."""

from __future__ import annotations

import re
import string

MAX_HOSTS = 1_000_000  # per pattern; Ansible has no cap, but web[0:999999999] must not eat the machine

_NUMERIC = r"\[[0-9]+:[0-9]+(?::[0-9]+)?\]"
_HEX = r"\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\]"
_ALNUM = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_V4_PART = rf"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{_NUMERIC})"
_V6_PART = rf"(?:[0-9a-f]{{1,4}}|{_HEX})"
_LABEL = rf"(?:\w|{_ALNUM})(?:[\w-]|{_ALNUM})*(?<![_-])"


def _v6_forms() -> str:
    """IPv6 text forms Ansible accepts: full, every `::` compression (at most 6 groups a side, 7 in all),
    and the IPv4-embedded forms; each hexadecimal group may be a range."""
    h = _V6_PART
    forms = [f"(?:{h}:){{7}}{h}"]
    for left in range(7):
        for right in range(min(6, 7 - left) + 1):
            forms.append(f"(?:{h}:){{{left}}}{'' if left else ':'}(?::{h}){{{right}}}{'' if right else ':'}")
    dotted = f"(?:{h}\\.){{3}}{h}"
    forms += [f"(?:0:){{6}}{dotted}", f"::(?:ffff:)?{dotted}", f"(?:0:){{5}}ffff:{dotted}"]
    return "|".join(forms)


_BRACKETED_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
_HOST_FORMS = (
    re.compile(rf"^(?:{_V4_PART}\.){{3}}{_V4_PART}$", re.I),
    re.compile(rf"^(?:{_v6_forms()})$", re.I),
    re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.I),
)


def parse_address(text: str) -> tuple[str, int | None]:
    """(host, port) of `host`, `host:port` or `[host]:port`; ValueError if the host is no name or address.

    Ranges are allowed in the host. As in Ansible, a bracketed form is unwrapped first and the result
    may then lose a `:port` of its own."""
    port = None
    for form in (_BRACKETED_PORT, _HOST_PORT):
        match = form.match(text)
        if match:
            text, port = match.group(1), int(match.group(2))
    if not any(form.match(text) for form in _HOST_FORMS):
        raise ValueError(f"not a host name or address: {text!r}")
    return text, port


def split_port(pattern: str) -> tuple[str, int | None]:
    """The host pattern and port of an inventory host entry; anything unparsable is all pattern."""
    if ":" not in pattern:  # the common case: no port to find, and the answer is the same either way
        return pattern, None
    try:
        return parse_address(pattern)
    except ValueError:
        return pattern, None


def expand(pattern: str) -> list[str]:
    """Every host name a pattern with [start:end(:step)] ranges stands for, in Ansible's order."""
    if "[" not in pattern:
        return [pattern]
    total = count(pattern)
    if total > MAX_HOSTS:
        raise ValueError(f"{pattern!r} expands to {total} hosts, over {MAX_HOSTS}")
    head, values, tail = _first_range(pattern)
    out: list[str] = []
    for value in values:
        out.extend(expand(head + value + tail))
    return out


def count(pattern: str) -> int:
    """How many names expand() gives, without making them: the values of a range contain no brackets,
    so every name a range makes has the same ranges left."""
    if "[" not in pattern:
        return 1
    head, values, tail = _first_range(pattern)
    return len(values) * count(head + values[0] + tail) if values else 0


def _first_range(pattern: str) -> tuple[str, list[str], str]:
    """Ansible's reading: the first '[' and the first ']' cut the pattern in three."""
    parts = pattern.replace("[", "|", 1).replace("]", "|", 1).split("|")
    if len(parts) != 3:
        raise ValueError(f"bad range in {pattern!r}: expected one [start:end] or [start:end:step]")
    head, body, tail = parts
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise ValueError(f"bad range [{body}] in {pattern!r}: a range is [start:end] or [start:end:step]")
    start, end = bounds[0] or "0", bounds[1]
    if not end:
        raise ValueError(f"bad range [{body}] in {pattern!r}: the range has no end")
    width = len(start) if start[0] == "0" and len(start) > 1 else 0
    if width and len(end) != width:
        raise ValueError(
            f"bad range [{body}] in {pattern!r}: a zero-padded start needs an end of the same width"
        )
    try:
        step = int(bounds[2]) if len(bounds) == 3 else 1
        values = _values(start, end, step)
    except ValueError as exc:
        raise ValueError(f"bad range [{body}] in {pattern!r}: {exc}") from None
    return head, [str(v).zfill(width) for v in values] if width else [str(v) for v in values], tail


def _values(start: str, end: str, step: int) -> range | str:
    letters = string.ascii_letters
    # As Ansible: letters when both ends are found in a-zA-Z (a substring search), else integers.
    low, high = letters.find(start), letters.find(end)
    if low >= 0 and high >= 0 and step != 0:
        if low > high:
            raise ValueError("the start comes after the end")
        return letters[low : high + 1 : step]
    try:
        low, high = int(start), int(end)
    except ValueError:
        raise ValueError("the ends must be both numbers or both letters (a-z, A-Z)") from None
    return range(low, high + 1, step)
