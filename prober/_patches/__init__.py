"""Patches of the libraries' private APIs, one module per patch; PROBER_NO_PATCHES=1 switches them all off.

Every module's docstring says which private API it uses, the versions it was tested with, what it
gains (measured), how it notices a library that changed (its guard, which falls back to the stock
path) and which test fails when an upgrade breaks that guard. Each entry point (`load`, `install`,
`make_*`, `connect`) asks `enabled()` first: with the switch set, every call site gets aiohttp's or
asyncssh's own behaviour (README, "Library patches", says what is lost then).
"""

from __future__ import annotations

import os

SWITCH = "PROBER_NO_PATCHES"


def enabled() -> bool:
    """False when PROBER_NO_PATCHES is set to anything but '' or '0' (read on every call: ~0.2 us)."""
    return os.environ.get(SWITCH, "") in ("", "0")


__all__ = ["SWITCH", "enabled"]
