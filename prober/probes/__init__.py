"""Probe kinds, one module or package each (see registry.py): http, tcp, ssh, and whatever is added."""

from __future__ import annotations

from typing import Any

from prober.probes.registry import ProbeFn, get


def probe_for(kind: str) -> ProbeFn[Any]:
    """The `probe(target, spec, resources)` coroutine function of a kind, its libraries imported on
    first use (the engine asks for every job: a cached lookup after the first)."""
    return get(kind).load()


__all__ = ["ProbeFn", "probe_for"]
