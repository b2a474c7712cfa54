"""`prober demo`: start a simulated fleet on loopback and sweep it."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from prober.cli.args import positive, typed
from prober.cli.sweep import SweepFlags, finish, load
from prober.runtime.execute import execute, run_loop


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="sweep a simulated fleet on loopback")
    demo.add_argument("--hosts", type=typed(positive), default=200, help="fleet size (default 200)")
    demo.add_argument("--keep", action="store_true", help="keep the generated inventory directory")


def command(args: argparse.Namespace) -> int:
    return demo(hosts=args.hosts, keep=args.keep)


def demo(*, hosts: int = 200, keep: bool = False) -> int:
    """Start a simulated fleet on loopback, sweep it, print the results and the summary."""
    workdir = Path(tempfile.mkdtemp(prefix="prober-demo-"))
    return run_loop(_demo(workdir, hosts, keep))


async def _demo(workdir: Path, hosts: int, keep: bool) -> int:
    from prober.record import new_run_id
    from prober.sim import Fleet

    async with Fleet(size=hosts, workdir=workdir) as fleet:
        path = fleet.write_inventory(checks=True)
        print(
            f"prober demo: {hosts} simulated hosts on 127.{fleet.block}.0.0/16; inventory: {path}",
            file=sys.stderr,
        )
        _, settings, jobs = load(str(path), SweepFlags())
        run_id = new_run_id()
        outcome = await execute(jobs, settings, out_fd=sys.stdout.fileno(), run_id=run_id)
    code = finish(outcome, settings, out_fd=sys.stdout.fileno(), run_id=run_id)
    if not keep:
        _remove(workdir)
    return code


def _remove(workdir: Path) -> None:
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)
