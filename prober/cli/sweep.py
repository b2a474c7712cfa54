"""`prober sweep INVENTORY`: plan, run (one process or workers), write the sweep line, exit with a verdict."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prober import logs
from prober.cli.args import duration, limit, max_fail, positive, retries, typed
from prober.inventory import Inventory, load_inventory
from prober.inventory.loader import parse_max_fail
from prober.model import Job
from prober.plan import SweepSettings, build_plan, settings_for
from prober.record import new_run_id
from prober.runtime.execute import SweepOutcome, execute, run_loop
from prober.runtime.output import STDOUT, close_output, open_output
from prober.runtime.signals import signals_held
from prober.sinks.jsonl import JsonlSink
from prober.sinks.summary import EXIT_FAIL, EXIT_OK, EXIT_WARN
from prober.sinks.writer import write_all

if TYPE_CHECKING:
    from prober.sinks.promfile import PromFileSink

EXIT_OUTPUT_CLOSED = 141  # what a shell reports for a writer killed by SIGPIPE
# Why records could not be written → exit code: the reader left (like SIGPIPE), or a write failed.
OUTPUT_LOST = {"output_closed": EXIT_OUTPUT_CLOSED, "output_error": EXIT_FAIL}


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sweep = sub.add_parser("sweep", help="probe every (host, probe) pair of an inventory")
    sweep.add_argument("inventory")
    sweep.add_argument("--concurrency", type=typed(positive), help="probes in flight at once")
    sweep.add_argument("--timeout", type=typed(duration), help="per-probe deadline, e.g. 500ms, 2s")
    sweep.add_argument("--retries", type=typed(retries), help="extra attempts on timeout/refused/reset")
    sweep.add_argument("--deadline", type=typed(duration), help="deadline for the whole sweep, e.g. 60s")
    sweep.add_argument("--max-fail", type=typed(max_fail), help="failures tolerated (N or P%%) before exit 2")
    sweep.add_argument("-o", "--output", help="write JSON lines to FILE instead of stdout")
    sweep.add_argument(
        "--limit", type=typed(limit), help="only these groups or hosts (comma-separated, globs allowed)"
    )
    sweep.add_argument(
        "--workers",
        type=typed(positive),
        help="processes sharing the plan (default: usable CPUs for 500+ probes per extra worker, else 1)",
    )
    sweep.add_argument("-q", "--quiet", action="store_true", help="no human summary on stderr")
    sweep.add_argument(
        "--prom-file", help="also write the results as Prometheus text to FILE.prom (node_exporter textfile)"
    )


def command(args: argparse.Namespace) -> int:
    flags = SweepFlags(
        concurrency=args.concurrency,
        timeout=args.timeout,
        retries=args.retries,
        deadline=args.deadline,
        max_fail=args.max_fail,
        limit=args.limit,
        workers=args.workers,
    )
    return run(args.inventory, flags, output=args.output, quiet=args.quiet, prom_file=args.prom_file)


@dataclass(frozen=True, kw_only=True)
class SweepFlags:
    """CLI flags; None means 'use the inventory's value'."""

    concurrency: int | None = None
    timeout: float | None = None
    retries: int | None = None
    deadline: float | None = None
    max_fail: str | None = None
    limit: list[str] | None = None
    workers: int | None = None  # None: usable CPUs when the plan is large enough (prober.runtime.workers)


def load(path: str, flags: SweepFlags) -> tuple[Inventory, SweepSettings, tuple[Job, ...]]:
    """Inventory, merged settings and plan; InventoryError on any bad input."""
    inventory = load_inventory(path)
    settings = settings_for(
        inventory,
        concurrency=flags.concurrency,
        timeout=flags.timeout,
        retries=flags.retries,
        deadline=flags.deadline,
        max_fail=flags.max_fail,
    )
    return inventory, settings, build_plan(inventory, settings, flags.limit)


def finish(
    outcome: SweepOutcome,
    settings: SweepSettings,
    *,
    out_fd: int,
    run_id: str,
    quiet: bool = False,
    prom: PromFileSink | None = None,
) -> int:
    """Write the sweep line and the human summary; return the exit code."""
    summary, stop_reason, duration = outcome.summary, outcome.stop_reason, outcome.duration
    budget = parse_max_fail(settings.max_fail) if settings.max_fail else None
    code = summary.exit_code(budget, stop_reason)
    if stop_reason in OUTPUT_LOST:  # nowhere to write the sweep line or the rest: stop quietly
        return OUTPUT_LOST[stop_reason]
    sink = JsonlSink(out_fd, run_id)
    line = summary.sweep_record(run_id, duration, code, stop_reason)
    sink.write(line, cap=False)
    if sink.lost:
        return OUTPUT_LOST[sink.lost]
    if prom is not None:
        prom.close(line)
        code = EXIT_FAIL if prom.error and code in (EXIT_OK, EXIT_WARN) else code
    if not quiet:
        _print_summary(summary.render(duration, code, stop_reason))
    if logs.stderr_error() and code in (EXIT_OK, EXIT_WARN):
        return EXIT_FAIL  # the records are out, but diagnostics or the summary were lost
    return code


def run(
    path: str,
    flags: SweepFlags,
    *,
    output: str | None = None,
    quiet: bool = False,
    prom_file: str | None = None,
) -> int:
    """`prober sweep`: the whole sweep; InventoryError propagates for the CLI to report.

    Until the output is open (planning, waiting for a FIFO's reader), a stop signal ends prober at
    once (exit 130, see prober.runtime.signals); then signals are held until the sweep's handlers take them.
    """
    _, settings, jobs = load(path, flags)
    prom = _prom_file(prom_file) if prom_file else None
    out_fd = open_output(output)
    with signals_held():
        code = _sweep(jobs, settings, out_fd, quiet, _workers(flags.workers, len(jobs)), prom)
        return code if out_fd == STDOUT else close_output(out_fd, code)


def _print_summary(text: str) -> None:
    # Not print(): a text stream drops what a partial write() left (seen under PYTHONUNBUFFERED=1 with
    # a slow stderr reader after a uvloop sweep: 1,661 of 5,757 bytes written, the rest lost).
    try:
        sys.stderr.flush()
        encoding = sys.stderr.encoding or "utf-8"
        write_all(sys.stderr.fileno(), (text + "\n").encode(encoding, "backslashreplace"))
    except OSError as exc:
        logs.stderr_failed(exc)


def _sweep(
    jobs: Sequence[Job],
    settings: SweepSettings,
    out_fd: int,
    quiet: bool,
    workers: int,
    prom: PromFileSink | None = None,
) -> int:
    run_id = new_run_id()
    log = logs.get()
    log.info(
        "sweep starting", run_id=run_id, probes=len(jobs), concurrency=settings.concurrency, workers=workers
    )
    records = prom.record if prom is not None else None
    if workers > 1:
        from prober.runtime.workers import run_workers

        outcome = run_workers(jobs, settings, workers=workers, out_fd=out_fd, run_id=run_id, records=records)
    else:
        outcome = run_loop(execute(jobs, settings, out_fd=out_fd, run_id=run_id, records=records))
    return finish(outcome, settings, out_fd=out_fd, run_id=run_id, quiet=quiet, prom=prom)


def _prom_file(path: str) -> PromFileSink:
    from prober.sinks.promfile import PromFileSink  # prometheus_client: ~55 ms to import, only when asked

    return PromFileSink(path)


def _workers(asked: int | None, planned: int) -> int:
    """--workers, or the default for this plan size; never more processes than probes."""
    from prober.runtime.workers import default_workers

    return max(1, min(asked, planned)) if asked else default_workers(planned)


__all__ = ["SweepFlags", "add_arguments", "command", "finish", "load", "run"]
