"""Templates in probe fields: {name} replaced per host, each value quoted or checked for where it lands."""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from typing import Any

from prober import authority
from prober.inventory import fields


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


def _values(names: tuple[str, ...], variables: dict[str, Any]) -> list[str]:
    values = []
    for name in names:
        if name not in variables:
            known = ", ".join(sorted(variables))
            raise ValueError(f"unknown template variable {{{name}}} (known: {known})")
        value = variables[name]
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            # Only a source's vars can be anything else (an Ansible list, mapping, boolean or null):
            # Python's repr of one in a URL or a command would be nobody's intent.
            raise ValueError(f"var {{{name}}} is {_what(value)}: only text and numbers go into a template")
        values.append(str(value))
    return values


def _what(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return f"{str(value).lower() if value is not None else 'null'} (a boolean or null)"
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list | tuple) else f"a {type(value).__name__}"


def _rendered(field: str, template: str, values: list[str]) -> str:
    literals, names = _pieces(template)
    if field == "url":
        return authority.render_url(template, literals, names, values)
    if field == "jump":
        return authority.render_jump(template, literals, names, values)
    if field == "command":  # shell-quoted: a value is one word, whatever it holds
        values = [shlex.quote(value) for value in values]
    out = [literals[0]]
    for value, literal in zip(values, literals[1:], strict=True):
        out += [value, literal]
    return "".join(out)


def render(field: str, template: str, variables: dict[str, Any]) -> str:
    """Substitute {name} from variables: shell-quoted in a command, percent-encoded (or refused when it
    would move the host, port or scheme) in a URL and a jump host; ValueError names the problem."""
    return _rendered(field, template, _values(_pieces(template)[1], variables))


def resolve_one(
    name: str, value: Any, variables: dict[str, Any], check: Callable[[str], Any] | None = None
) -> Any:
    """One templated parameter for one host, through `check` (the field's check of a rendered value,
    if it has one); ValueError (file:line added by the caller) if it cannot be."""
    values = _values(_pieces(value)[1], variables)  # an unknown var: reported as such
    try:
        rendered = _rendered(name, value, values)
        return rendered if check is None else check(rendered)
    except ValueError as exc:
        raise ValueError(f"after templating: {exc}") from None
