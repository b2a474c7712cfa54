"""Templated URLs and jump hosts: a value stays in the part it was placed in (scheme, user, host, port,
path, query), so no var can move a probe to another host, port or scheme.

Where each {field} lands is decided once per template, from the template alone. Then, per host, a value
in the path, query or user part is percent-encoded (its '@', '/', '?', '#' can no longer end that part);
a value in the host may only hold a host name's characters (or be a whole IPv6 address); one in the port
only digits; the scheme is never a var's. Anything else is refused (validate names the var and the
host). One shape is allowed on purpose: a field ending the authority right after another piece
(`http://{address}:{port}{path}`) whose value starts with '/', '?' or '#' begins the path there.
Last, the URL is parsed as aiohttp will parse it (yarl), and its host and port must be the ones the
template placed: a check that does not trust the steps before it.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, replace
from urllib.parse import quote

from prober.inventory import fields

# RFC 3986 appendix B: scheme, authority, then the rest (path, query, fragment).
_URI = re.compile(r"^(?:(?P<scheme>[^:/?#]*):)?(?://(?P<authority>[^/?#]*))?(?P<rest>.*)$", re.S)
_HOST_VALUE = re.compile(r"^[A-Za-z0-9._-]+\Z")
_USER_VALUE = re.compile(r"^[A-Za-z0-9._-]+\Z")
_PLAIN = re.compile(r"^[A-Za-z0-9._~-]*\Z")
_PATH_PLAIN = re.compile(r"^[A-Za-z0-9/@:._~!$&'()*+,;=-]*\Z")
# What stays as is in each part: RFC 3986 pchar (path), plus '/' and '?' in a query or fragment but
# not '+' (servers read it as a space there); userinfo keeps ':' (user:password). Everything else,
# '%' included, is percent-encoded.
_SAFE = {"path": "/:@!$&'()*+,;=", "query": "/?:@!$&'()*,;=", "user": ":!$&'()*+,;="}
_CHECKED_HOSTS = ("address", "host")  # validated as host names when the inventory was loaded
Piece = str | int  # a literal text, or the index of a field


@dataclass(frozen=True)
class Form:
    """Where each field of a template lands, and the template's host and port as pieces."""

    places: tuple[str, ...]  # per field: scheme, user, host, port, path or query
    host: tuple[Piece, ...]
    port: tuple[Piece, ...] | None
    tail: int | None = None  # a field ending the authority after another piece: may begin the path
    # Every field is in the path or query, or is the whole host and a name already checked as a host
    # ({address}, {host}): no per-host value can then move the authority (see _trusted).
    trusted: bool = False
    whole: tuple[int | None, str] = (None, "")  # _whole_host(host), computed once


def _split(text: str) -> dict[str, str]:
    """A URL (or `ssh://` + jump host) cut into scheme, user, host, port, path and query, as urllib
    and yarl cut it: the last '@' ends the user part; a host in [brackets] is IPv6."""
    match = _URI.match(text)
    if match is None or match["authority"] is None:
        return {"host": ""}
    user, at, hostport = match["authority"].rpartition("@")
    if hostport.startswith("["):
        inside, _, after = hostport.partition("]")
        host, colon, port = inside + "]", after[:1], after[1:]
    else:
        host, colon, port = hostport.partition(":")
    rest = match["rest"]
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    parts = {"scheme": match["scheme"] or "", "user": user if at else "", "host": host}
    if colon:
        parts["port"] = port
    return parts | {"path": rest[:cut], "query": rest[cut:]}


@functools.lru_cache(maxsize=256)
def form(template: str, literals: tuple[str, ...], names: tuple[str, ...], prefix: str = "") -> Form:
    """Place each field of a template by parsing it with a letters-and-digits token for each field."""
    marker = next(m for m in ("zqz", "qxq", "xzx", "kqk", "zzq") if m not in template)
    text = prefix + literals[0] + "".join(f"{marker}{i}{marker}{lit}" for i, lit in enumerate(literals[1:]))
    parts = _split(text)
    places = []
    for index in range(len(names)):
        token = f"{marker}{index}{marker}"
        places.append(next((p for p in ("scheme", "user", "host", "port", "path", "query")
                            if token in parts.get(p, "")), "path"))  # fmt: skip
    host = _pieces_of(parts["host"], marker)
    port = _pieces_of(parts["port"], marker) if "port" in parts else None
    last = port if port is not None else host
    # Ends in a field (pieces end with index, "") that follows another piece of its part.
    tail = last[-2] if len(last) >= 3 and last[-1] == "" and (len(last) > 3 or last[0]) else None
    shape = Form(tuple(places), host, port, tail if isinstance(tail, int) else None, whole=_whole_host(host))
    return _trusted(shape, literals, names) if not prefix else shape


def _pieces_of(text: str, marker: str) -> tuple[Piece, ...]:
    pieces = re.split(f"{marker}([0-9]+){marker}", text)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(pieces))


def _trusted(shape: Form, literals: tuple[str, ...], names: tuple[str, ...]) -> Form:
    """The form marked trusted when its values cannot move the authority: each is percent-encoded or a
    checked host name. The template's literals are checked here, once, with sample values."""
    whole_index = shape.whole[0]
    for index, (place, name) in enumerate(zip(shape.places, names, strict=True)):
        if place not in ("path", "query") and not (index == whole_index and name in _CHECKED_HOSTS):
            return shape
    samples = ["example.invalid" if place == "host" else "p" for place in shape.places]
    try:
        _checked_url(shape, literals, names, samples)
    except ValueError:
        return shape  # the per-host check will say why
    return replace(shape, trusted=True)


def _whole_host(host: tuple[Piece, ...]) -> tuple[int | None, str]:
    """The field that is the whole host, written {field} ("alone") or [{field}] ("bracketed")."""
    if len(host) == 3 and isinstance(host[1], int):
        if host[0] == host[2] == "":
            return host[1], "alone"
        if (host[0], host[2]) == ("[", "]"):
            return host[1], "bracketed"
    return None, ""


def _host_value(name: str, value: str, whole: str) -> str:
    """A value in the host: a host name's characters, or an IPv6 address when it is the whole host."""
    if _HOST_VALUE.match(value) and whole != "bracketed":
        return value
    if whole and ":" in value:
        try:
            address = ipaddress.ip_address(value.split("%", 1)[0])
        except ValueError:
            address = None
        if address is not None and address.version == 6:
            literal = value.replace("%", "%25")  # a zone (fe80::1%eth0) is %25 in a URL
            return literal if whole == "bracketed" else f"[{literal}]"
    raise ValueError(
        f"var {{{name}}} = {fields.shown(value)} would change the host: a value in a host may only hold "
        "letters, digits, '.', '-' and '_' (or be a whole IPv6 address)"
    )


def _value(place: str, name: str, value: str, whole: str) -> str:
    if place == "path" or place == "query":
        # A tail value moved to "query" begins the path up to its own '?'.
        if _dot_segment(value if place == "path" else value.split("?", 1)[0]):
            raise ValueError(
                f"var {{{name}}} = {fields.shown(value)} would change the path: '.' and '..' segments "
                "are removed when the URL is normalised (even as %2E)"
            )
        plain = _PATH_PLAIN.match(value) and (place == "path" or "+" not in value)
        return value if plain else quote(value, safe=_SAFE[place])
    if place == "host":
        return _host_value(name, value, whole)
    if place == "user":
        return value if _PLAIN.match(value) else quote(value, safe=_SAFE["user"])
    if place == "port":
        if value.isascii() and value.isdigit():
            return value
        raise ValueError(f"var {{{name}}} = {fields.shown(value)} would change the port: it is not a number")
    raise ValueError(
        f"var {{{name}}} = {fields.shown(value)} would set the scheme: write http:// or https://"
    )


def _dot_segment(path: str) -> bool:
    return "." in path and any(part in (".", "..") for part in path.split("/"))


def _filled(shape: Form, names: tuple[str, ...], raw: list[str]) -> tuple[list[str], Form]:
    """Each value made safe for its place (ValueError for one that would move the authority), and the
    form as this host's values shape it (a tail value starting with '/', '?' or '#' begins the path)."""
    if shape.tail is not None and raw[shape.tail][:1] in ("/", "?", "#"):
        moved = list(shape.places)
        moved[shape.tail] = "query"  # its own '?' may start a query; '#' is encoded
        host, port = shape.host, shape.port
        if port is None:
            host = host[:-2]  # (..., text, tail, "") → (..., text)
        else:
            port = port[:-2]
        shape = replace(shape, places=tuple(moved), host=host, port=port, whole=_whole_host(host))
    whole_index, whole = shape.whole
    places = shape.places
    return [
        _value(places[i], name, value, whole if i == whole_index else "")
        for i, (name, value) in enumerate(zip(names, raw, strict=True))
    ], shape


def _joined(pieces: tuple[Piece, ...], values: list[str]) -> str:
    return "".join(values[p] if isinstance(p, int) else p for p in pieces)


def render_url(template: str, literals: tuple[str, ...], names: tuple[str, ...], raw: list[str]) -> str:
    """The URL for one host; ValueError if a value would move it or the result is not a valid URL."""
    shape = form(template, literals, names)
    if shape.trusted:
        values = _filled(shape, names, raw)[0]
        return literals[0] + "".join(v + lit for v, lit in zip(values, literals[1:], strict=True))
    return _checked_url(shape, literals, names, raw)


def _checked_url(shape: Form, literals: tuple[str, ...], names: tuple[str, ...], raw: list[str]) -> str:
    values, shape = _filled(shape, names, raw)
    url = literals[0] + "".join(v + lit for v, lit in zip(values, literals[1:], strict=True))
    host = _joined(shape.host, values).lower()
    problem = fields.url_host_problem(host)
    if problem:
        raise ValueError(f"URL host {problem}")
    port = _joined(shape.port, values) if shape.port is not None else ""
    _same_target(url, host, int(port) if port.isdigit() else None)
    return url


def _same_target(url: str, host: str, port: int | None) -> None:
    """aiohttp's URL parser (yarl) finds an http(s) URL with the host and port the template placed."""
    import yarl

    if port is not None and not 0 < port < 65536:
        raise ValueError("URL has an invalid port")
    try:
        parsed = yarl.URL(url)
        got, got_port = parsed.raw_host or "", parsed.explicit_port
    except ValueError as exc:
        raise ValueError(f"invalid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise ValueError("URL must start with http:// or https://")
    same = _ipv6(host[1:-1]) == _ipv6(parsed.host or "") if host.startswith("[") else got == host
    if not same or got_port != port:
        where = fields.shown(f"{got}:{got_port}" if got_port else got)
        raise ValueError(f"the URL would go to {where}, not to the host and port its template places")


def _ipv6(text: str) -> object:
    address, _, zone = text.replace("%25", "%").partition("%")
    try:
        return (ipaddress.IPv6Address(address), zone)
    except ValueError:
        return text


def render_jump(template: str, literals: tuple[str, ...], names: tuple[str, ...], raw: list[str]) -> str:
    """A jump host ([user@]host[:port]) for one host, each value kept in its part; a var that is the
    whole jump host (`jump: "{bastion}"`) places nothing, so it may hold all three."""
    if literals == ("", ""):
        return fields.jump_host(raw[0])
    shape = form(template, literals, names, "ssh://")
    for place, name, value in zip(shape.places, names, raw, strict=True):
        if place == "user" and not _USER_VALUE.match(value):
            raise ValueError(f"var {{{name}}} = {fields.shown(value)} cannot be a jump host's user name")
        if place not in ("user", "host", "port"):
            raise ValueError(f"var {{{name}}} = {fields.shown(value)} would not fit [user@]host[:port]")
    values = _filled(replace(shape, tail=None), names, raw)[0]
    jump = literals[0] + "".join(v + lit for v, lit in zip(values, literals[1:], strict=True))
    return fields.jump_host(jump)
