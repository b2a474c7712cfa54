"""`prober merge SHARD.jsonl…`: the files of a sharded sweep as one stream of records and one sweep
line, with the gate applied fleet-wide: the verdict and exit code one unsharded sweep would give.

Every file is checked first (prober.results.shards), so bad input writes nothing and exits 3. Then the
records are read again, in shard order, and fed to the same fan-out of sinks a sweep feeds (JSON
lines or a table, --junit, annotations); the sweep line is built as a sweep's is (prober.cli.finish),
from every record and each group's hosts and budget summed over the shards.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from prober.cli.args import add_annotations

if TYPE_CHECKING:  # imported when the command runs: the parser is built for every command
    from prober.cli import outputs as outs


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    merge = sub.add_parser(
        "merge", help="one stream and one fleet-wide verdict from the files of `sweep --shard I/N`"
    )
    merge.add_argument("shards", nargs="+", metavar="SHARD.jsonl", help="one results file per shard")
    merge.add_argument("-o", "--output", help="write the records to FILE instead of stdout")
    merge.add_argument(
        "--format", choices=("jsonl", "table"), help="records as JSON lines, or a table of what is not ok "
        "(default: table when stdout is a terminal, else jsonl)",
    )  # fmt: skip
    merge.add_argument("--junit", help="write JUnit XML to FILE (one testsuite per group)")
    add_annotations(merge)
    merge.add_argument("-q", "--quiet", action="store_true", help="print nothing on stderr but errors")


def command(args: argparse.Namespace) -> int:
    return merge(
        args.shards,
        output=args.output,
        fmt=args.format,
        junit=args.junit,
        annotations=args.annotations,
        quiet=args.quiet,
    )


def merge(
    paths: list[str],
    *,
    output: str | None = None,
    fmt: str | None = None,
    junit: str | None = None,
    annotations: str = "auto",
    quiet: bool = False,
) -> int:
    """Merge the shard files; the exit code is the fleet's verdict (0 passed, 2 failed, 130 when a
    shard was interrupted, as its single sweep would be), 3 on bad input with nothing written.

    The budgets and what counts as failing (--max-fail, max_fail, --fail-on) are the ones the shards
    ran with: they are part of the plan every shard's fingerprint covers, and the files must agree."""
    from prober.cli import outputs as outs
    from prober.cli.finish import finish
    from prober.cli.report import _not_an_input
    from prober.record import new_run_id
    from prober.results import shards
    from prober.runtime.execute import SweepOutcome
    from prober.runtime.output import STDOUT, close_output, open_output

    for path, flag in ((output, "-o"), (junit, "--junit")):
        if path:
            _not_an_input(path, flag, paths)
    fleet = shards.fleet(paths)
    options = outs.OutputOptions(
        output=output,
        fmt=fmt,
        junit=junit,
        annotations=annotations,
        quiet=quiet,
        fail_on=fleet.fail_on,
        baseline=fleet.baseline,
    )
    outs.check(options)
    out_fd = open_output(output)
    run_id = new_run_id()
    outputs = outs.build(
        options, groups=fleet.groups, planned=fleet.planned, out_fd=out_fd, run_id=run_id, baseline=None,
        stamp=fleet.stamp(),
    )  # fmt: skip
    outputs.fanout.bind(lambda reason: None)  # the reader loop below checks `fanout.stopped`
    outputs.fanout.start()
    for shard in fleet.files:
        _feed(shard.path, outputs)
        if outputs.fanout.stopped:
            break
    outputs.fanout.drain()
    outcome = SweepOutcome(fleet.stopped(), fleet.duration(), fleet.loop_lag_max_ms())
    code = finish(outcome, outputs, run_id=run_id, quiet=quiet)
    return code if out_fd == STDOUT else close_output(out_fd, code)


def _feed(path: str, outputs: outs.Outputs) -> None:
    """Feed one checked file's records again; a file changed since it was checked is bad input."""
    from prober.errors import InputError, Problem
    from prober.results.reader import ResultsFile

    results = ResultsFile(path)
    fed = 0
    for record in results:
        outputs.fanout.record(record)
        fed += 1
        if outputs.fanout.stopped:
            return
    if fed != (results.sweep or {}).get("planned"):
        message = "changed while it was merged: run prober merge again once every shard has finished"
        raise InputError([Problem(path, None, "", message)])
