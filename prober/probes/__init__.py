"""Probe registry: one module per kind, imported only when a plan uses that kind."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from prober.model import Outcome

ProbeFn = Callable[[Any, Any, Any], Awaitable[Outcome]]

_MODULES = {"http": "prober.probes.http.probe", "tcp": "prober.probes.tcp", "ssh": "prober.probes.ssh.probe"}


_LOADED: dict[str, ProbeFn] = {}


def probe_for(kind: str) -> ProbeFn:
    """The `probe(target, spec, resources)` coroutine function of a kind (looked up once per kind:
    the engine asks for every job)."""
    fn = _LOADED.get(kind)
    if fn is None:
        if kind == "http":
            from prober._patches import aiohttpload

            aiohttpload.load()  # aiohttp without its unused import-time CA stores
        elif kind == "ssh":
            from prober._patches import asyncsshload

            asyncsshload.load()  # asyncssh without running gcc and ld to look for liboqs
        fn = _LOADED[kind] = importlib.import_module(_MODULES[kind]).probe
    return fn


__all__ = ["ProbeFn", "probe_for"]
