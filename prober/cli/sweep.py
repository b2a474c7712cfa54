"""`prober sweep INVENTORY`: plan, run (one process or workers) feeding one fan-out of sinks, then
write the sweep line and exit with the gate's verdict (prober.cli.finish)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prober.cli.args import (
    LIMIT_HELP,
    add_annotations,
    add_shard,
    duration,
    limit,
    max_fail,
    positive,
    retries,
    typed,
)

# Every command's arguments are declared when the parser is built (`prober --version` too), so what
# the sweep itself needs is imported when it runs: --version in 0.03 s, not 0.14 s.
if TYPE_CHECKING:
    from prober.budget import Budget
    from prober.cli import outputs as outs
    from prober.inventory.defs import Inventory
    from prober.model import Job
    from prober.plan import SweepSettings
    from prober.runtime.execute import SweepOutcome
    from prober.runtime.records import Recorder
    from prober.shard import Shard


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sweep = sub.add_parser("sweep", help="probe every (host, probe) pair of an inventory")
    sweep.add_argument("inventory", help="the inventory file, or - to read it from stdin")
    sweep.add_argument("--concurrency", type=typed(positive), help="probes in flight at once")
    sweep.add_argument("--timeout", type=typed(duration), help="per-probe deadline, e.g. 500ms, 2s")
    sweep.add_argument("--retries", type=typed(retries), help="extra attempts on timeout/refused/reset")
    sweep.add_argument("--deadline", type=typed(duration), help="deadline for the whole sweep, e.g. 60s")
    sweep.add_argument(
        "--max-fail",
        type=typed(max_fail),
        help="failing hosts a group may have (N, or P%% of its hosts) for groups that set no max_fail",
    )
    sweep.add_argument(
        "--fail-on", choices=("fail", "warn"), default="fail", help="warn: warnings count as failures"
    )
    sweep.add_argument("--baseline", help="an earlier results file: only failures new since it count")
    sweep.add_argument("-o", "--output", help="write the records to FILE instead of stdout")
    sweep.add_argument("--append", action="store_true", help="append to -o FILE instead of replacing it")
    sweep.add_argument(
        "--format",
        choices=("jsonl", "table"),
        help="records as JSON lines, or a table of what is not ok "
        "(default: table when stdout is a terminal, else jsonl)",
    )
    sweep.add_argument(
        "--nagios", action="store_true", help="one Nagios status line on stdout, exit 0-3 (records: -o)"
    )
    sweep.add_argument("--junit", help="write JUnit XML to FILE (one testsuite per group)")
    add_annotations(sweep)
    sweep.add_argument("--limit", type=typed(limit), help=LIMIT_HELP)
    sweep.add_argument(
        "--workers",
        type=typed(positive),
        help="processes sharing the plan (default: usable CPUs for 500+ probes per extra worker, else 1)",
    )
    add_shard(sweep)
    sweep.add_argument(
        "--tee", metavar="FILE", help="also write every JSON line to FILE (a shard's copy for prober merge)"
    )
    sweep.add_argument("-q", "--quiet", action="store_true", help="print nothing on stderr but errors")
    sweep.add_argument(
        "--prom-file", help="also write the results as Prometheus text to FILE.prom (node_exporter textfile)"
    )


def command(args: argparse.Namespace) -> int:
    from prober.cli import outputs as outs

    flags = SweepFlags(
        concurrency=args.concurrency,
        timeout=args.timeout,
        retries=args.retries,
        deadline=args.deadline,
        max_fail=args.max_fail,
        limit=args.limit,
        workers=args.workers,
        shard=args.shard,
    )
    options = outs.OutputOptions(
        output=args.output,
        append=args.append,
        fmt=args.format,
        nagios=args.nagios,
        junit=args.junit,
        annotations=args.annotations,
        baseline=args.baseline,
        fail_on=args.fail_on,
        quiet=args.quiet,
        prom_file=args.prom_file,
        tee=args.tee,
    )
    return run(args.inventory, flags, options)


@dataclass(frozen=True, kw_only=True)
class SweepFlags:
    """CLI flags; None means 'use the inventory's value'."""

    concurrency: int | None = None
    timeout: float | None = None
    retries: int | None = None
    deadline: float | None = None
    max_fail: Budget | None = None
    limit: list[str] | None = None
    workers: int | None = None  # None: usable CPUs when the plan is large enough (prober.runtime.workers)
    shard: Shard | None = None  # --shard I/N: only that shard's hosts


def load(path: str, flags: SweepFlags) -> tuple[Inventory, SweepSettings, tuple[Job, ...]]:
    """Inventory, merged settings and plan; InventoryError on any bad input."""
    inventory, settings, jobs, _ = load_shard(path, flags)
    return inventory, settings, jobs


def load_shard(
    path: str, flags: SweepFlags
) -> tuple[Inventory, SweepSettings, tuple[Job, ...], dict[str, str]]:
    """`load`, and with --shard the fields every line then carries (prober.shard.stamp); the plan's
    fingerprint is computed over the whole plan while this shard's part is built."""
    from prober.plan import build_plan, load_checked, settings_for
    from prober.shard import plan_fingerprint, stamp

    inventory = load_checked(path)
    settings = settings_for(
        inventory,
        concurrency=flags.concurrency,
        timeout=flags.timeout,
        retries=flags.retries,
        deadline=flags.deadline,
        max_fail=flags.max_fail,
    )
    if flags.shard is None:
        return inventory, settings, build_plan(inventory, settings, flags.limit), {}
    fingerprint = plan_fingerprint(inventory, settings)
    jobs = build_plan(inventory, settings, flags.limit, flags.shard, fingerprint)
    return inventory, settings, jobs, stamp(flags.shard, fingerprint)


def run(path: str, flags: SweepFlags, options: outs.OutputOptions | None = None) -> int:
    """`prober sweep`: the whole sweep; InventoryError/InputError propagate for the CLI to report.

    Everything that can be bad input is checked before anything is probed: output options and paths,
    the baseline, the inventory and its plan, the output file. Until the output is open (planning,
    waiting for a FIFO's reader), a stop signal ends prober at once (exit 130, see
    prober.runtime.signals); then signals are held until the sweep's handlers take them.
    """
    from prober.budget import budgets
    from prober.cli import outputs as outs
    from prober.cli.finish import finish
    from prober.errors import InputError, Problem
    from prober.record import new_run_id
    from prober.runtime.output import STDOUT, close_output, open_output
    from prober.runtime.records import Recorder
    from prober.runtime.signals import signals_held

    options = options or outs.OutputOptions()
    outs.check(options)
    partial = flags.shard is not None and flags.shard.partial
    if partial and options.nagios:
        message = "a shard sees part of the fleet; run --nagios on `prober merge`'s result instead"
        raise InputError([Problem("--nagios", None, "", message)])
    baseline = None
    if options.baseline:
        from prober.results import baseline as baselines

        baseline = baselines.load(options.baseline)
    inventory, settings, jobs, shard_stamp = load_shard(path, flags)
    out_fd = open_output(options.output, append=options.append)
    with signals_held():
        run_id = new_run_id()
        outputs = outs.build(
            options, groups=budgets(inventory, settings, jobs), planned=len(jobs), out_fd=out_fd,
            run_id=run_id, baseline=baseline, stamp=shard_stamp, partial=partial,
        )  # fmt: skip
        recorder = Recorder(run_id, baseline=baseline, fail_on=options.fail_on, stamp=shard_stamp)
        outcome = _sweep(jobs, settings, outputs, recorder, _workers(flags.workers, len(jobs)))
        code = finish(outcome, outputs, run_id=run_id, nagios_mode=options.nagios, quiet=options.quiet)
        return code if out_fd == STDOUT else close_output(out_fd, code)


def _sweep(
    jobs: Sequence[Job], settings: SweepSettings, outputs: outs.Outputs, recorder: Recorder, workers: int
) -> SweepOutcome:
    from prober import logs
    from prober.runtime.execute import execute, run_loop

    logs.get().info(
        "sweep starting",
        run_id=recorder.run_id,
        probes=len(jobs),
        concurrency=settings.concurrency,
        workers=workers,
    )
    if workers > 1:
        from prober.runtime.workers import run_workers

        return run_workers(jobs, settings, workers=workers, fanout=outputs.fanout, recorder=recorder)
    return run_loop(execute(jobs, settings, fanout=outputs.fanout, recorder=recorder))


def _workers(asked: int | None, planned: int) -> int:
    """--workers, or the default for this plan size; never more processes than probes."""
    from prober.runtime.workers import default_workers

    return max(1, min(asked, planned)) if asked else default_workers(planned)


__all__ = ["SweepFlags", "add_arguments", "command", "load", "run"]
