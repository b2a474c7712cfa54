"""prober: concurrent HTTP, TCP and SSH health sweeps, one JSON line per result."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Heavy modules (aiohttp, asyncssh) load only when used, so `prober --version` stays fast.
_LAZY = {
    "Engine": "prober.runtime.engine",
    "ErrorInfo": "prober.model",
    "HTTPSpec": "prober.probes.http.spec",
    "InventoryError": "prober.errors",
    "Job": "prober.model",
    "ProbeFailed": "prober.errors",
    "Result": "prober.model",
    "SSHSpec": "prober.probes.ssh.spec",
    "Status": "prober.model",
    "TCPSpec": "prober.probes.tcp",
    "Target": "prober.model",
    "build_plan": "prober.plan",
    "load_inventory": "prober.inventory.loader",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'prober' has no attribute {name!r}")
