"""`prober diff OLD NEW`: newly failing, still failing, recovered, added and removed probes."""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = sub.add_parser("diff", help="what changed between two results files (exit 2: new failures)")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument(
        "--format", choices=("jsonl", "table"), help="default: table on a terminal, else JSON lines"
    )


def command(args: argparse.Namespace) -> int:
    return diff(args.old, args.new, fmt=args.format)


def diff(old_path: str, new_path: str, *, fmt: str | None = None) -> int:
    """Compare two results files; print the changes (JSON lines, or a table on a terminal).

    Exit 0 when nothing newly fails, 2 when something does, 3 on bad input."""
    import orjson

    from prober.results import baseline as baselines
    from prober.results import diff as diffs
    from prober.sinks.safetext import no_workflow_commands, no_workflow_commands_json

    old, new = baselines.load(old_path), baselines.load(new_path)
    changes = diffs.compare(old, new)
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "jsonl"
    try:
        if fmt == "table":
            if changes:
                sys.stdout.write(no_workflow_commands(diffs.table(changes)) + "\n")
            sys.stdout.write(diffs.footer(changes) + "\n")
        else:
            out = sys.stdout.buffer
            for change in changes:
                line = orjson.dumps(diffs.change_record(change), option=orjson.OPT_APPEND_NEWLINE)
                out.write(no_workflow_commands_json(line))
            out.write(orjson.dumps(diffs.diff_record(old, new, changes), option=orjson.OPT_APPEND_NEWLINE))
        sys.stdout.flush()
    except BrokenPipeError:
        # `prober diff … | head`: the reader has gone; point stdout at /dev/null so exit stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return diffs.exit_code(changes)
