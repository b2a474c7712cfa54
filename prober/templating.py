"""Templates in probe fields: {name} replaced per host, each value quoted for where it lands."""

from __future__ import annotations

import functools
import ipaddress
import re
import shlex
from typing import Any
from urllib.parse import quote

from prober.inventory import fields

_URL_SAFE = "/:@-._~!$&'()*+,;=[]"
_URL_PLAIN = re.compile(r"^[A-Za-z0-9/@._~!$&'()*+,;=-]*$")


def _url_value(value: object) -> str:
    text = str(value)
    if _URL_PLAIN.match(text):
        return text  # the common case (host names, ports, paths): nothing to encode
    if ":" in text:
        try:
            if isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address):
                return f"[{text}]"
        except ValueError:
            pass
    return quote(text, safe=_URL_SAFE)


_QUOTERS = {"url": _url_value, "command": lambda v: shlex.quote(str(v))}
# A value made only of these cannot change where a URL's scheme, host, port or path begin.
_URL_INERT = re.compile(r"^[A-Za-z0-9._-]+$")


@functools.lru_cache(maxsize=256)
def _pieces(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A template split once into its literal texts and the field names between them."""
    literals, names, start = [], [], 0
    out: list[str] = []
    for match in fields.TEMPLATE_FIELD.finditer(template):
        out.append(template[start : match.start()])
        start = match.end()
        if match.group(1) is None:
            out.append(match.group(0)[0])  # {{ or }}
        else:
            literals.append("".join(out))
            names.append(match.group(1))
            out = []
    out.append(template[start:])
    literals.append("".join(out))
    return tuple(literals), tuple(names)


def _substituted(field: str, template: str, variables: dict[str, Any]) -> tuple[str, list[str]]:
    """The rendered text and the quoted values that went into it."""
    quoter = _QUOTERS.get(field, str)
    literals, names = _pieces(template)
    values = []
    for name in names:
        if name not in variables:
            known = ", ".join(sorted(variables))
            raise ValueError(f"unknown template variable {{{name}}} (known: {known})")
        values.append(quoter(variables[name]))
    out = [literals[0]]
    for value, literal in zip(values, literals[1:], strict=True):
        out += [value, literal]
    return "".join(out), values


def render(field: str, template: str, variables: dict[str, Any]) -> str:
    """Substitute {name} from variables, quoting for where the value lands (shell, URL)."""
    return _substituted(field, template, variables)[0]


@functools.lru_cache(maxsize=256)
def _url_shape_fixed(template: str) -> bool:
    """True when the template is a valid URL with each field as "a": inert values (_URL_INERT) then
    land in the host or path, never the scheme or port, and cannot make the URL invalid."""
    literals, _ = _pieces(template)
    try:
        fields.url("a".join(literals))
    except ValueError:
        return False
    return True


def resolve_one(name: str, value: Any, variables: dict[str, Any]) -> Any:
    rendered, values = _substituted(name, value, variables)
    try:
        if name == "port":
            return fields.port(rendered)
        if name == "url" and not (_url_shape_fixed(value) and all(map(_URL_INERT.match, values))):
            fields.url(rendered)  # checked again, per host: a value may have changed its shape
    except ValueError as exc:
        raise ValueError(f"after templating: {exc}") from None
    return rendered
