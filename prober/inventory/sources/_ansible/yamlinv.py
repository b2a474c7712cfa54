"""Ansible's YAML inventory format: groups with hosts, vars and children, nested to any depth."""

from __future__ import annotations

from typing import Any

from prober.inventory.sources._ansible import hostpatterns
from prober.inventory.sources._ansible.data import Builder
from prober.inventory.sources._ansible.errors import Where, fail

_SECTIONS = ("vars", "children", "hosts")


def parse_yaml(builder: Builder, path: str, data: Any) -> None:
    """Add a loaded YAML (or JSON) inventory document to builder."""
    if not data:
        raise fail(Where(path), "the YAML file is empty")
    if not isinstance(data, dict):
        raise fail(Where(path, 1), f"the top level must be a mapping of groups, got {type(data).__name__}")
    if data.get("plugin"):
        message = (
            f"this configures Ansible inventory plugin {data['plugin']!r}, which prober cannot run; "
            "give prober an executable script that runs `ansible-inventory -i THIS_FILE --list` instead"
        )
        raise fail(_where(path, data, "plugin", ""), message)
    for name, body in data.items():
        _group(builder, name, body, _where(path, data, name, ""))


def _where(path: str, mapping: Any, key: Any, parent: str) -> Where:
    lines = getattr(mapping, "lines", None)
    return Where(path, lines.get(key) if lines else None, f"{parent}.{key}" if parent else str(key))


def _group(builder: Builder, name: Any, data: Any, where: Where) -> Any:
    if data is not None and not isinstance(data, dict):
        builder.warn(
            where, f"group {name!r} skipped: its definition is a {type(data).__name__}, not a mapping"
        )
        return name
    name = builder.add_group(name, where)
    if data is None:
        return name
    for section in _SECTIONS:
        value = data.get(section)
        if isinstance(value, str):  # `hosts: web01` means `hosts: {web01: }`, as in Ansible
            data[section] = value = {value: None}
        if section in data and value is not None and not isinstance(value, dict):
            sub = _where(where.file, data, section, where.key)
            raise fail(sub, f"{section!r} of group {name!r} must be a mapping, got {type(value).__name__}")
    for key, value in data.items():
        sub = _where(where.file, data, key, where.key)
        if key not in _SECTIONS:
            builder.warn(
                sub, f"unexpected key {key!r} in group {name!r} skipped (expected vars, children or hosts)"
            )
        elif value is None:
            continue
        elif key == "vars":
            for var, item in value.items():
                builder.set_var(name, var, item, _where(where.file, value, var, sub.key))
        elif key == "children":
            for child, body in value.items():
                child_where = _where(where.file, value, child, sub.key)
                builder.add_child(name, _group(builder, child, body, child_where), child_where)
        else:
            _hosts(builder, name, value, sub)
    return name


def _hosts(builder: Builder, group: str, hosts: dict[Any, Any], where: Where) -> None:
    for pattern, body in hosts.items():
        sub = _where(where.file, hosts, pattern, where.key)
        if not isinstance(pattern, str):
            raise fail(sub, f"host pattern {pattern!r} must be a string: quote numbers")
        host_vars = body or {}
        if not isinstance(host_vars, dict):
            raise fail(sub, f"the vars of host {pattern!r} must be a mapping, got {type(host_vars).__name__}")
        host, port = hostpatterns.split_port(pattern)
        try:
            names = hostpatterns.expand(host)
        except ValueError as exc:
            raise fail(sub, str(exc)) from None
        if not names:
            builder.warn(sub, f"host pattern {pattern!r} expands to no hosts")
        for name in names:
            builder.add_host(name, group, port, sub)
            for var, item in host_vars.items():
                builder.set_var(name, var, item, _where(where.file, host_vars, var, sub.key))
