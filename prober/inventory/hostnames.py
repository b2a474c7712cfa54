"""What a host name or address may be: a DNS-style name, a canonical IPv4 address, or an IPv6 address.

The system resolver (inet_aton, then getaddrinfo: what asyncio, aiohttp and asyncssh all end in) reads
more than dotted decimal as IPv4: `010` is octal (8), `0x7f` hex, `127.1` is 127.0.0.1 and `2130706433`
one 32-bit number, while `08` is no number at all and goes to DNS. A probe of `10.0.0.010` would reach
10.0.0.8 and report it under the name the user reads as 10.0.0.10. So a name that looks like an IPv4
address (its last label is a number: the WHATWG URL rule) must be four decimal octets, or it is refused.
"""

from __future__ import annotations

import ipaddress
import re
import socket

HOST_CHARS = re.compile(r"^[A-Za-z0-9_:][A-Za-z0-9_.:%-]*\Z")
_HOST_RULE = "letters, digits, '.', '_' and '-' (not first), or be an IPv6 address"
# A label the resolver would take for a number: decimal (octal with a leading 0) or 0x hex.
NUMBER = re.compile(r"^(?:[0-9]+|0[xX][0-9A-Fa-f]*)\Z")
_OCTET_TEXT = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_OCTET = re.compile(rf"^{_OCTET_TEXT}\Z")
_CANONICAL = re.compile(rf"^(?:{_OCTET_TEXT}\.){{3}}{_OCTET_TEXT}\Z")
# One regex each, not a loop over labels: validate checks every host of 100k-line host lists.
_NUMERIC_TAIL = re.compile(r"(?:^|\.)(?:[0-9]+|0[xX][0-9A-Fa-f]*)\.?\Z")
_NUMBER_END = frozenset("0123456789abcdefABCDEFxX.")
_LABEL_MAX = 63  # RFC 1035; Python's idna codec raises UnicodeError past it (an `internal` record)
_NAME_MAX = 253
_LABELS = re.compile(rf"^(?:[^.]{{1,{_LABEL_MAX}}}\.)*[^.]{{1,{_LABEL_MAX}}}\.?\Z")


def looks_like_ipv4(name: str) -> bool:
    """True when the resolver would try `name` as an IPv4 number: its last label is a number."""
    return _NUMERIC_TAIL.search(name) is not None


def canonical_ipv4(name: str) -> bool:
    return _CANONICAL.match(name) is not None


def ipv4_problem(name: str) -> str | None:
    """Why `name` cannot be used as an IPv4 address, or None (a DNS-style name, or canonical IPv4)."""
    if canonical_ipv4(name) or not looks_like_ipv4(name):
        return None
    intended = _decimal_reading(name)
    system = _system_reading(name)
    if name.endswith(".") and (intended or system):
        why = "a trailing dot makes it a DNS name"
    elif intended and system is None:
        bad = next(label for label in name.split(".") if not _OCTET.match(label))
        why = f"{bad!r} is no octal number, so the system would look the name up in DNS"
    elif intended:
        moved = f": it would connect to {system}" if system != intended else ""
        why = f"the system resolver reads an octet with a leading zero as octal{moved}"
    elif system:
        why = f"the system resolver reads it as {system}"
    else:
        why = "a name ending in a number is taken for one, and that is four decimal numbers from 0 to 255"
    suggestion = intended or system
    write = f"; write {suggestion}" if suggestion else ""
    return f"{name!r} is not a canonical IPv4 address: {why}{write}"


def _decimal_reading(name: str) -> str | None:
    """What a person reads: four decimal octets, leading zeros ignored (10.0.0.010 → 10.0.0.10)."""
    labels = name.removesuffix(".").split(".")
    if len(labels) != 4 or not all(label.isascii() and label.isdigit() for label in labels):
        return None
    numbers = [int(label) for label in labels]
    return ".".join(map(str, numbers)) if max(numbers) <= 255 else None


def _system_reading(name: str) -> str | None:
    """The address inet_aton makes of `name` (what getaddrinfo connects to), or None if it is no number."""
    try:
        return socket.inet_ntoa(socket.inet_aton(name))
    except (OSError, ValueError):
        return None


def dns_problem(name: str) -> str | None:
    """Empty or over-long labels: the resolver cannot even encode them (UnicodeError, not a DNS error)."""
    if len(name) - name.endswith(".") > _NAME_MAX:
        return f"host name {name!r} is over {_NAME_MAX} characters"
    if not _LABELS.match(name):
        return f"host name {name!r} has an empty label or one over {_LABEL_MAX} characters"
    return None


def check_host(name: str) -> None:
    """ValueError unless name is a DNS-style name, a canonical IPv4 address or an IPv6 address (zone
    allowed). Nothing else can reach a URL authority or a command line: no '@', '/', spaces or shell."""
    if not HOST_CHARS.match(name):
        raise ValueError(f"host name {name!r} may only contain {_HOST_RULE}")
    if ":" in name or "%" in name:
        try:
            if ipaddress.ip_address(name.split("%", 1)[0]).version != 6 or name.endswith("%"):
                raise ValueError
        except ValueError:
            raise ValueError(f"{name!r} has ':' or '%' but is not an IPv6 address") from None
        return
    # Cheap tests first (a 100k-line host list is checked name by name): only a name ending in a digit,
    # a hex letter, x or a dot can read as a number; only a long one or one with '..' has a bad label.
    problem = ipv4_problem(name) if name[-1] in _NUMBER_END else None
    if problem is None and (len(name) > _LABEL_MAX or ".." in name):
        problem = dns_problem(name)
    if problem:
        raise ValueError(problem)
