"""Exit codes, defined once: what `prober` returns, and what each code means to a caller."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Process exit codes. A gate (`set -e`, a CI step) needs only OK vs anything else."""

    OK = 0  # the gate passed: warnings and failures within budget allowed
    WARNING = 1  # only with --nagios: warnings, or failures within budget (Nagios WARNING)
    FAILED = 2  # the gate failed (over budget), or results could not be written
    INPUT = 3  # bad input (inventory, flags, baseline, output paths): nothing was probed
    INTERRUPTED = 130  # SIGINT/SIGTERM
    OUTPUT_CLOSED = 141  # stdout's reader left (what a shell reports for SIGPIPE)


class Nagios(IntEnum):
    """Nagios/Icinga plugin states (the monitoring-plugins guidelines), for --nagios."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


__all__ = ["Exit", "Nagios"]
