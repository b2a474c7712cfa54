"""Converters for inventory values: each takes what YAML gave and returns it checked, or raises ValueError."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from prober import redact
from prober.inventory import hostnames
from prober.regex import BYTES, TEXT, compile_pattern

Converter = Callable[[Any], Any]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*\Z")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
# {name} is a template field; {{ and }} stand for literal braces (so a command can say ${{HOME}}).
TEMPLATE_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SHOWN_MAX = 80


def shown(value: Any) -> str:
    """repr() of an inventory value for an error message, cut short so a huge value stays readable."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<deeply nested {type(value).__name__}>"
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"


def template_names(value: str) -> list[str]:
    """The {name} fields of a template, escapes ({{, }}) left out."""
    return [m.group(1) for m in TEMPLATE_FIELD.finditer(value) if m.group(1)]


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{" in value or "}" in value)


def duration(value: Any) -> float:
    """'500ms', '2s', '1m' or a number of seconds → seconds (> 0)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 500ms or 2s, got {shown(value)}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(f"expected a duration like 500ms or 2s, got {shown(value)}")
    if not seconds > 0 or seconds > 86400:
        raise ValueError(f"duration must be > 0 and at most 24h, got {shown(value)}")
    return seconds


def integer(low: int, high: int) -> Converter:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {shown(value)}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return convert


def number(low: float, high: float) -> Converter:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {shown(value)}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return float(value)

    return convert


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {shown(value)}")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {shown(value)}")
    return value


def local_file(value: Any) -> str:
    """A file prober opens itself (key, known_hosts, ca_file): it must exist and be readable, or every
    probe using it would fail as auth, host_key or tls, like a sick fleet. Opened, never read: its
    contents never reach an error. `~` is expanded as the probes expand it; the value is kept as given."""
    path = text(value)
    full = os.path.expanduser(path)
    shown_path = path if full == path else f"{path} ({full})"
    try:
        # O_NONBLOCK: a FIFO must not block validate; O_NOCTTY: a terminal must not become ours.
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise ValueError(f"cannot read {shown_path}: {exc.strerror or type(exc).__name__}") from None
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise ValueError(f"{shown_path} is a directory, not a file")
    finally:
        os.close(fd)
    return path


def regex(value: Any) -> str:
    """A pattern on decoded text (body_regex, stdout_regex), checked the way the probe compiles it."""
    pattern = text(value)
    compile_pattern(pattern, TEXT)
    return pattern


def byte_regex(value: Any) -> str:
    """A pattern on raw bytes (tcp expect), checked the way the probe compiles it."""
    pattern = text(value)
    compile_pattern(pattern, BYTES)
    return pattern


def port(value: Any) -> int | str:
    """A port number, or a template like '{ssh_port}' resolved per host at plan time."""
    if isinstance(value, str) and template_names(value):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"expected a port number from 1 to 65535, got {shown(value)}")
    return value


_UNSAFE_URL_CHAR = re.compile(r"[\s\x00-\x1f\x7f]")


def url(value: Any) -> str:
    """An http(s) URL; a templated one is checked again after templating."""
    raw = text(value)
    problem = _url_problem(raw)
    if problem:
        # Shown with its password redacted: a URL's credentials never reach an error message.
        raise ValueError(f"{problem}: {shown(redact.url(raw))}")
    return raw


def url_host_problem(host: str) -> str | None:
    """A URL's host the resolver can take as written: an IPv6 literal, a canonical IPv4 address, or
    a name with 1-63 character labels (a templated URL's host is checked once filled in)."""
    if host.startswith("["):
        return None  # IPv6: urllib and yarl check what is inside the brackets
    return hostnames.ipv4_problem(host) or hostnames.dns_problem(host)


def _url_problem(raw: str) -> str | None:
    if _UNSAFE_URL_CHAR.search(raw) or not raw.isprintable():
        return "URL cannot contain spaces or control characters"
    # Check the shape with each field as "1" (valid in a host, port and path); templated again per host.
    templated = "{" in raw or "}" in raw
    filled = TEMPLATE_FIELD.sub(lambda m: "1" if m.group(1) else "", raw) if templated else raw
    try:
        parts = urlsplit(filled)
        if parts.scheme not in ("http", "https"):
            return "URL must start with http:// or https://"
        if not parts.hostname:
            return "URL has no host"
        port = parts.port  # raises ValueError on a port that is not a number or out of range
    except ValueError as exc:
        return "URL has an invalid port" if str(exc).startswith("Port") else "URL has an invalid host"
    if port == 0:
        return "URL has an invalid port"
    host = parts.netloc.rpartition("@")[2]
    host = host if host.startswith("[") else parts.hostname
    problem = None if templated else url_host_problem(host)
    return f"URL host {problem}" if problem else None


def status_ranges(value: Any) -> tuple[tuple[int, int], ...]:
    """[200, '2xx', '300-399'] → ((200, 200), (200, 299), (300, 399))."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("expected at least one status code")
    ranges = []
    for item in items:
        ranges.append(_status_range(item))
    return tuple(ranges)


def _status_range(item: Any) -> tuple[int, int]:
    if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
        return (item, item)
    if isinstance(item, str):
        if re.fullmatch(r"[1-5]xx", item):
            base = int(item[0]) * 100
            return (base, base + 99)
        if match := re.fullmatch(r"(\d{3})\s*-\s*(\d{3})", item):
            low, high = int(match.group(1)), int(match.group(2))
            if 100 <= low <= high <= 599:
                return (low, high)
    raise ValueError(
        f"expected a status code (200), a class ('2xx') or a range ('200-299'), got {shown(item)}"
    )


def headers(value: Any) -> tuple[tuple[str, str], ...]:
    # Values are never quoted back in a message: any of them may be a credential.
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of header names to values, got {type(value).__name__}")
    out = []
    for name, item in value.items():
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise ValueError(f"header {name!r}: expected a string value, got {type(item).__name__}")
        if any(c in str(item) for c in "\r\n\0"):
            raise ValueError(f"header {name!r}: values cannot contain line breaks")
        out.append((header_name(name), str(item)))
    return tuple(out)


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")  # RFC 9110 token: what a header name may be


def header_name(value: Any) -> str:
    name = text(value)
    if not _TOKEN.match(name):
        raise ValueError(f"header {shown(name)}: not a valid header name")
    return name


def headers_env(value: Any) -> tuple[tuple[str, str], ...]:
    """{X-Api-Key: API_KEY}: each header's value is read from that environment variable when probing."""
    if not isinstance(value, dict) or not value:
        raise ValueError("expected a mapping of header names to environment variable names")
    return tuple((header_name(name), env_name(variable)) for name, variable in value.items())


def names(value: Any) -> tuple[str, ...]:
    """A list of header or query parameter names (compared without regard to case), sorted."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise ValueError(f"expected a list of names, got {shown(value)}")
    return tuple(sorted({item.lower() for item in items}))


def method(value: Any) -> str:
    verb = text(value).upper()
    if verb not in {"GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE", "PATCH"}:
        raise ValueError(f"unsupported HTTP method {shown(value)}")
    return verb


def command(value: Any) -> str:
    """A shell command; template fields must stand outside quotes, where their shell-quoted value is safe."""
    raw = text(value)
    if "\0" in raw:
        raise ValueError("a command cannot contain a NUL character")
    quoted = _quoted_fields(raw)
    if quoted:
        raise ValueError(
            f"template field {{{quoted[0]}}} is inside quotes; write it bare: prober shell-quotes every value"
        )
    return raw


def _quoted_fields(command: str) -> list[str]:
    """Template fields found inside '...' or "..." in a POSIX shell command."""
    found: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(command):
        char = command[index]
        match = TEMPLATE_FIELD.match(command, index)
        if match and match.group(1) and quote:
            found.append(match.group(1))
        if match:
            index = match.end()
            continue
        if char == "\\" and quote != "'":
            index += 2
            continue
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        index += 1
    return found


def env_name(value: Any) -> str:
    name = text(value)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"expected an environment variable name, got {shown(value)}")
    return name


def choice(*allowed: str) -> Converter:
    def convert(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return str(value)

    return convert


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|m|h))?\s*\Z")


def rate(value: Any) -> float:
    """'200/s', '30/m' or a number per second → events per second (> 0)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        per_second = float(value)
    elif isinstance(value, str) and (match := _RATE.match(value)):
        per_second = float(match.group(1)) / _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(f"expected a rate like 200/s or 30/m, got {value!r}")
    if not 0 < per_second <= 1e6:
        raise ValueError(f"rate must be > 0 and at most 1000000/s, got {value!r}")
    return per_second


_JUMP = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9_.][A-Za-z0-9_.-]*)@)?(?P<host>[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d{1,5}))?$"
)


def parse_jump(raw: str) -> tuple[str | None, str, int]:
    """'[user@]host[:port]' → (user, host, port 22 by default; [v6] without brackets): the one parser
    of the jump-host format, for the inventory and for the SSH probe."""
    match = _JUMP.match(raw)
    if not match or (match["port"] and not 0 < int(match["port"]) < 65536):
        raise ValueError(f"expected a jump host as [user@]host[:port], got {raw!r}")
    host = match["host"]
    host = host[1:-1] if host.startswith("[") else host
    try:
        hostnames.check_host(host)
    except ValueError as exc:
        raise ValueError(f"jump host: {exc}") from None
    return match["user"], host, int(match["port"] or 22)


def jump_host(value: Any) -> str:
    """A bastion as [user@]host[:port]; a template like '{bastion}' is checked after templating."""
    raw = text(value)
    if TEMPLATE_FIELD.search(raw):
        return raw
    parse_jump(raw)
    return raw


def rendered_jump_host(value: Any) -> str:
    """A templated jump host once rendered for a host: the whole format checked (a var cannot make a
    value the inventory itself could not hold)."""
    raw = text(value)
    parse_jump(raw)
    return raw
    match = _JUMP.match(raw)
    if not match or (match["port"] and not 0 < int(match["port"]) < 65536):
        raise ValueError(f"expected a jump host as [user@]host[:port], got {raw!r}")
    host = match["host"]
    try:
        hostnames.check_host(host[1:-1] if host.startswith("[") else host)
    except ValueError as exc:
        raise ValueError(f"jump host: {exc}") from None
    return raw
