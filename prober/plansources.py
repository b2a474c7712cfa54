"""What a host read from a source (`sources:`) brings to its plan: an ssh layer, labels as text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from prober.inventory import tables
from prober.inventory.defs import HostDecl, Layer, ProbeDef

SSH_KIND = "ssh"  # the kind an Ansible host's ansible_port/_user/_ssh_private_key_file apply to


def source_layer(probe: ProbeDef, host: HostDecl) -> Layer | None:
    source = host.source
    return source.ssh if source is not None and probe.kind == SSH_KIND else None


def source_problems(probe: ProbeDef, source: Layer, origin: dict[str, Layer]) -> list[tuple[str, str]]:
    """A source's ssh settings that win, checked as the probe's own would be (a key file that cannot
    be read); once per distinct settings, not per host."""
    problems = []
    converters = tables.converters(probe.kind)
    for name, value in source.params.items():
        if origin[name] is source:
            try:
                converters[name](value)
            except ValueError as exc:
                problems.append((name, str(exc)))
    return problems


def labels_of(names: Iterable[str], variables: Mapping[str, Any]) -> dict[str, str]:
    """The record's `labels`: each listed var this host has, as text (one dict per host declaration,
    shared by the hosts a range expands to). A var this host lacks is left out, as Prometheus does."""
    return {name: _label_text(variables[name]) for name in names if name in variables}


def _label_text(value: Any) -> str:
    """A var as label text: text and numbers as they are; a source's booleans, lists and mappings as
    JSON (`true`, `["a", "b"]`), never Python's repr."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


__all__ = ["SSH_KIND", "labels_of", "source_layer", "source_problems"]
