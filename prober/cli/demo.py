"""`prober demo`: start a simulated fleet on loopback, sweep it, write an HTML report and say where."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from prober.cli.args import positive, typed

if TYPE_CHECKING:  # imported when the command runs: the parser is built for every command
    from prober.cli import outputs as outs
    from prober.runtime.execute import SweepOutcome

REPORT = "prober-demo.html"


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="sweep a simulated fleet on loopback")
    demo.add_argument("--hosts", type=typed(positive), default=200, help="fleet size (default 200)")
    demo.add_argument("--keep", action="store_true", help="keep the generated inventory directory")
    demo.add_argument("--report", default=REPORT, help=f"where to write the HTML report (default {REPORT})")


def command(args: argparse.Namespace) -> int:
    return demo(hosts=args.hosts, keep=args.keep, report=args.report)


def demo(*, hosts: int = 200, keep: bool = False, report: str = REPORT) -> int:
    """Start a simulated fleet on loopback, sweep it, print the results and the summary, and write
    the HTML report (checked writable before the fleet starts)."""
    from prober.cli import outputs as outs
    from prober.cli.finish import finish
    from prober.runtime.execute import run_loop

    outs.check(outs.OutputOptions(report=report))
    workdir = Path(tempfile.mkdtemp(prefix="prober-demo-"))
    try:
        outcome, outputs, run_id = run_loop(_demo(workdir, hosts, report))
    finally:
        if not keep:
            _remove(workdir)
    code = finish(outcome, outputs, run_id=run_id)
    if not outputs.fanout.failed:
        print(f"prober demo: HTML report: {os.path.abspath(report)} (open it in a browser)", file=sys.stderr)
    return code


async def _demo(workdir: Path, hosts: int, report: str) -> tuple[SweepOutcome, outs.Outputs, str]:
    from prober.budget import budgets
    from prober.cli import outputs as outs
    from prober.cli.sweep import SweepFlags, load
    from prober.record import new_run_id
    from prober.runtime.execute import execute
    from prober.runtime.records import Recorder
    from prober.sim import Fleet

    options = outs.OutputOptions(report=report)
    async with Fleet(size=hosts, workdir=workdir) as fleet:
        path = fleet.write_inventory(checks=True)
        print(
            f"prober demo: {hosts} simulated hosts on 127.{fleet.block}.0.0/16; inventory: {path}",
            file=sys.stderr,
        )
        inventory, settings, jobs = load(str(path), SweepFlags())
        run_id = new_run_id()
        out_fd = sys.stdout.fileno()
        outputs = outs.build(
            options, groups=budgets(inventory, settings, jobs), planned=len(jobs), out_fd=out_fd,
            run_id=run_id, baseline=None,
        )  # fmt: skip
        outcome = await execute(jobs, settings, fanout=outputs.fanout, recorder=Recorder(run_id))
    return outcome, outputs, run_id


def _remove(workdir: Path) -> None:
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)
