"""The keys each probe kind accepts, their converters and cross-field rules: read from the registry,
where each kind declares them (prober/probes/registry.py); nothing here names a kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prober.inventory.fields import Converter
from prober.probes import registry


def known(kind: str) -> bool:
    return kind in registry.kinds()


def kind_names() -> str:
    """'http, ssh or tcp' (every registered kind), for messages."""
    return registry.names()


def converters(kind: str) -> dict[str, Converter]:
    """Field → converter, for a probe of this kind (the common fields included)."""
    return registry.get(kind).converters


def aliases(kind: str) -> dict[str, str]:
    """Inventory spellings stored under another field (`name` is the probe's own: `process` for ssh)."""
    return registry.get(kind).aliases


def required(kind: str) -> tuple[str, ...]:
    return registry.get(kind).required


def templated(kind: str) -> frozenset[str]:
    """Fields that may contain {host}, {address}, {group} and vars; all others are taken literally."""
    return registry.get(kind).templated


def cross_checks(kind: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Cross-field problems of one probe definition: (field, message) each."""
    return registry.get(kind).cross_checks(params)


def combination_problems(kind: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Parameters that can never work together once every layer (probe, group and host overrides) and
    template is applied: (parameter, message) for each; every probe using them would fail alike."""
    return registry.get(kind).combinations(params)
