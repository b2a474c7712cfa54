"""asyncssh's log messages and packet summaries built only when a logger would write them.

asyncssh's SSHLogger.log turns every argument into text and only then calls logging's level
check; its packet logger builds each packet's name and size even when packet dumps (debug level 3)
are off. prober keeps the asyncssh logger at WARNING (prober/logs.py), so ~30 messages and ~20
packet summaries per connection were built and thrown away. The wrappers ask the logger first;
whatever is enabled is logged exactly as before (the original methods run unchanged).

Private API: asyncssh.logging.SSHLogger.log (an internal class's method; `self.logger` is the
wrapped logging.Logger), SSHLogger._debug_level, asyncssh.packet.SSHPacketLogger._log_packet.
Tested with: asyncssh 2.24.1, CPython 3.11.7.
Gain: ~3% of the client CPU of an SSH probe (commit a491d6c; bench/README.md "What changed
prober's speed", first round).
Guard: COMPATIBLE, checked at import: log's parameters are (self, level, msg, *args, **kwargs),
_log_packet exists and _debug_level is an int. Otherwise `install()` leaves asyncssh as it is.
Switch: with PROBER_NO_PATCHES=1, `install()` does nothing (asyncssh formats every message).
Test: tests/patches/test_sshlog.py (test_guard_matches_installed_asyncssh fails on an asyncssh
that changed these; enabled messages still logged, disabled ones never formatted).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from prober._patches import asyncsshload, enabled

asyncsshload.load()  # before asyncssh's first import, whichever module asks first (its docstring)
from asyncssh import logging as ssh_logging  # noqa: E402
from asyncssh import packet as ssh_packet  # noqa: E402

_MARK = "_prober_quiet"
_LOGGER: Any = ssh_logging.SSHLogger
_PACKETS: Any = ssh_packet.SSHPacketLogger


def _compatible() -> bool:
    params = [(p.name, p.kind) for p in inspect.signature(_LOGGER.log).parameters.values()]
    expected = [
        ("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        ("level", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        ("msg", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        ("args", inspect.Parameter.VAR_POSITIONAL),
        ("kwargs", inspect.Parameter.VAR_KEYWORD),
    ]
    debug_level = getattr(_LOGGER, "_debug_level", None)
    packets = callable(getattr(_PACKETS, "_log_packet", None))
    return params == expected and packets and isinstance(debug_level, int)


COMPATIBLE = _compatible()


def install() -> bool:
    """Wrap SSHLogger.log and SSHPacketLogger._log_packet once per process (idempotent); False when
    switched off or this asyncssh does not have the expected shape."""
    if not enabled() or not COMPATIBLE:
        return False
    if getattr(_LOGGER, _MARK, False):
        return True
    original_log = _LOGGER.log
    original_packet = _PACKETS._log_packet

    def log(self: Any, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.logger.isEnabledFor(level):
            original_log(self, level, msg, *args, **kwargs)

    def log_packet(self: Any, *args: Any) -> None:
        # The dump is written only at debug level 3, and then only if the logger takes DEBUG.
        if _LOGGER._debug_level >= 3 and self.logger.isEnabledFor(logging.DEBUG):
            original_packet(self, *args)

    _LOGGER.log = log
    _PACKETS._log_packet = log_packet
    setattr(_LOGGER, _MARK, True)
    return True
