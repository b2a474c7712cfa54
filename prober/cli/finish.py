"""The end of a sweep: the verdict, the sweep line, the sinks closed, the summary; the exit code.

Exit codes (prober.exits): 0 the gate passed (warnings and failures within budget allowed), 2 the
gate failed or results could not be written, 130 interrupted, 141 stdout's reader left. With
--nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (interrupted, results not written).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from prober import logs
from prober.cli.outputs import Outputs
from prober.exits import Exit, Nagios
from prober.model import StopReason
from prober.runtime.execute import SweepOutcome
from prober.sinks import gatetext, nagios
from prober.sinks.writer import write_all

# Why records could not be written → exit code: the reader left (like SIGPIPE), or a write failed.
OUTPUT_LOST = {StopReason.OUTPUT_CLOSED: Exit.OUTPUT_CLOSED, StopReason.OUTPUT_ERROR: Exit.FAILED}
SUMMARY_ROWS = 40  # a screenful when stderr is not a terminal


def gate_code(outputs: Outputs, stop_reason: StopReason | None) -> Exit:
    """The verdict as an exit code. One shard of several exits 0 whatever its hosts' state: its gate
    counts only its own hosts (a budget of 10% is the fleet's), so the verdict is `prober merge`'s,
    and a Kubernetes Indexed Job would re-run a pod that exits 2."""
    if stop_reason == StopReason.CANCELLED:
        return Exit.INTERRUPTED
    return Exit.OK if outputs.gate.passed or outputs.partial else Exit.FAILED


def finish(
    outcome: SweepOutcome, outputs: Outputs, *, run_id: str, nagios_mode: bool = False, quiet: bool = False
) -> int:
    """Close the fan-out with the sweep line, print the summary (or the Nagios line); the exit code."""
    stop = outcome.stop_reason
    lost = stop if stop in OUTPUT_LOST else (outputs.jsonl.lost if outputs.jsonl else None)
    code: int = gate_code(outputs, stop)
    state = nagios.state(outputs.gate, outputs.summary, stop, lost is not None)
    if lost is not None:  # nowhere to write the sweep line or the rest: stop quietly
        if outputs.progress is not None:
            outputs.progress.close()
        return _nagios_end(outputs, state, outcome, lost) if nagios_mode else OUTPUT_LOST[lost]
    line = sweep_line(outcome, outputs, run_id, int(state) if nagios_mode else code)
    outputs.fanout.close(line)
    lost = outputs.jsonl.lost if outputs.jsonl else None
    if lost is not None:
        return _nagios_end(outputs, Nagios.UNKNOWN, outcome, lost) if nagios_mode else OUTPUT_LOST[lost]
    if nagios_mode:
        state = Nagios.UNKNOWN if outputs.fanout.failed else state
        why = StopReason.OUTPUT_ERROR if outputs.fanout.failed else stop
        return _nagios_end(outputs, state, outcome, why)
    if not quiet:
        print_summary(summary_lines(outcome, outputs, code))
    if (logs.stderr_error() or outputs.fanout.failed) and code == Exit.OK:
        return Exit.FAILED  # the records are out, but diagnostics, the summary or an output were lost
    return code


def sweep_line(outcome: SweepOutcome, outputs: Outputs, run_id: str, exit_code: int) -> dict[str, Any]:
    return {
        "event": "sweep",
        "run_id": run_id,
        **outputs.stamp,
        **outputs.summary.sweep_fields(),
        "duration_ms": round(outcome.duration * 1000, 1),
        "loop_lag_max_ms": outcome.loop_lag_max_ms,
        "exit_code": exit_code,
        "stopped": outcome.stop_reason,
        **outputs.gate.sweep_fields(),
    }


def summary_lines(outcome: SweepOutcome, outputs: Outputs, code: int) -> list[str]:
    summary, gate = outputs.summary, outputs.gate
    lines = summary.render(outcome.duration, code, outcome.stop_reason)
    if outputs.partial:
        shard = outputs.stamp.get("shard")
        lines.append(f"  shard {shard}: no verdict here; `prober merge` of every shard's file gives it")
    else:
        lines.append(gatetext.verdict(gate, summary.by_status["warn"], code))
    rows, width = _screen()
    lines += gatetext.failing_hosts(gate, rows=rows - len(lines) - 2, width=width, pointer=outputs.pointer)
    return lines


def _screen() -> tuple[int, int]:
    """Rows and columns of stderr's terminal, or a fixed screenful when it is not one."""
    try:
        size = os.get_terminal_size(2)
        return size.lines, size.columns
    except OSError:
        return SUMMARY_ROWS, 120


def _nagios_end(outputs: Outputs, state: Nagios, outcome: SweepOutcome, why: str | None) -> int:
    """Print the one Nagios status line on stdout (unless stdout itself is what was lost)."""
    if why != StopReason.OUTPUT_CLOSED or outputs.jsonl is None or outputs.jsonl.fd != 1:
        text = nagios.status_line(state, outputs.gate, outputs.summary, outcome.duration, why)
        try:
            sys.stdout.flush()
            write_all(1, (text + "\n").encode("utf-8", "replace"))
        except OSError:
            return Nagios.UNKNOWN
    return int(state)


def print_summary(lines: list[str]) -> None:
    # Not print(): a text stream drops what a partial write() left (seen under PYTHONUNBUFFERED=1 with
    # a slow stderr reader after a uvloop sweep: 1,661 of 5,757 bytes written, the rest lost).
    try:
        sys.stderr.flush()
        encoding = sys.stderr.encoding or "utf-8"
        write_all(sys.stderr.fileno(), ("\n".join(lines) + "\n").encode(encoding, "backslashreplace"))
    except OSError as exc:
        logs.stderr_failed(exc)


__all__ = ["OUTPUT_LOST", "finish", "print_summary", "summary_lines", "sweep_line"]
