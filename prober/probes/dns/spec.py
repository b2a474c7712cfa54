"""The DNS probe's spec: its inventory keys and their checks (names, types, rcodes, servers)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from prober.inventory import fields as f
from prober.model import BaseSpec
from prober.probes.registry import param

QUERY_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS", "PTR", "SOA", "CAA")
# RFC 1035 and RFC 2136 rcodes, the ones a reply's 4-bit header field can carry.
RCODES = (
    "NOERROR",
    "FORMERR",
    "SERVFAIL",
    "NXDOMAIN",
    "NOTIMP",
    "REFUSED",
    "YXDOMAIN",
    "YXRRSET",
    "NXRRSET",
    "NOTAUTH",
    "NOTZONE",
)
DNS_PORT = 53
ANSWERS_SHOWN = 10  # answers kept in a record: with ANSWER_TEXT_MAX each, ~2.2 KB of a 4 KiB line
ANSWER_TEXT_MAX = 200  # characters of one answer kept (a DKIM TXT runs to 400+); matched whole


def _upper_choice(allowed: tuple[str, ...]) -> Callable[[Any], str]:
    """One of `allowed`, in any case (`aaaa` is AAAA), stored as written there."""

    def convert(value: Any) -> str:
        if isinstance(value, str) and value.upper() in allowed:
            return value.upper()
        raise ValueError(f"expected one of {', '.join(allowed)}, got {f.shown(value)}")

    return convert


query_type = _upper_choice(QUERY_TYPES)
_rcode = _upper_choice(RCODES)


def rcodes(value: Any) -> tuple[str, ...]:
    """An rcode name, or a list of them (any of which passes)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("expected an rcode (NOERROR, NXDOMAIN...) or a list of them, got an empty list")
    return tuple(dict.fromkeys(_rcode(item) for item in items))


def name(value: Any) -> str:
    """A DNS name as dnspython reads it (labels of 1 to 63 bytes, 255 in all; `\\.` escapes a dot)."""
    import dns.exception
    import dns.name

    text = f.text(value)
    try:
        dns.name.from_text(text)
    except (dns.exception.DNSException, UnicodeError) as exc:
        reason = str(exc).rstrip(".") or type(exc).__name__
        raise ValueError(f"{f.shown(value)} is not a DNS name: {reason}") from None
    return text


def name_or_template(value: Any) -> str:
    """A DNS name, or a template checked as one once rendered for each host."""
    text = f.text(value)
    return text if f.template_names(text) else name(text)


def server(value: Any) -> str:
    """`ip`, `ip:port`, `[v6]` or `[v6]:port` (a bare IPv6 address takes the default port 53) →
    'ip:port' or '[v6]:port'. An address, never a name: the server is what would resolve it."""
    text = f.text(value).strip()
    host, port = text, DNS_PORT
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"expected ip[:port], or [ipv6]:port, got {f.shown(value)}")
        port = _port(rest[1:], value) if rest else DNS_PORT
    elif text.count(":") == 1:  # more than one: an IPv6 address without brackets (no port)
        host, _, digits = text.partition(":")
        port = _port(digits, value)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        why = "not an IP address (a name would need DNS itself)"
        raise ValueError(f"expected ip[:port], or [ipv6]:port, got {f.shown(value)}: {why}") from None
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


def server_or_template(value: Any) -> str:
    """A server, or a template (`{address}:53`) checked as one once rendered for each host."""
    text = f.text(value)
    return text if f.template_names(text) else server(text)


def _port(digits: str, value: Any) -> int:
    if not (digits.isascii() and digits.isdigit() and 1 <= int(digits) <= 65535):
        raise ValueError(f"the port must be a number from 1 to 65535, got {f.shown(value)}")
    return int(digits)


def split_server(text: str) -> tuple[str, int]:
    """'ip:port' or '[v6]:port' (as `server` writes them) → (address, port)."""
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass(frozen=True, slots=True, kw_only=True)
class DNSSpec(BaseSpec):
    """One DNS query to one server, judged by the reply's rcode and answers."""

    kind: ClassVar[str] = "dns"
    # None: the host's name ({host}); a host name is always a valid DNS name (inventory/hostnames.py).
    query_name: str | None = param(name_or_template, None, templated=True, rendered=name)
    query_type: str = param(query_type, "A")
    # None: the first nameserver of /etc/resolv.conf, read while the sweep is prepared.
    server: str | None = param(server_or_template, None, templated=True, rendered=server)
    transport: str = param(f.choice("udp", "tcp"), "udp")  # udp falls back to tcp on a truncated reply
    expect_rcode: tuple[str, ...] = param(rcodes, ("NOERROR",))
    expect: str | None = param(f.regex, None)  # at least one answer matches
    expect_all: str | None = param(f.regex, None)  # every answer matches (and there is one)
