"""What a sweep writes where: the fan-out of sinks, built (and every output path checked) before probing.

- records: JSON lines (`--format jsonl`, the default for pipes and -o) or, on a terminal, a table of
  what is not ok (`--format table`, the default when stdout is a terminal); `--nagios` puts one status
  line on stdout instead, and records go only to -o;
- the gate (budgets per group) and the summary (counts), which the sweep line and exit code read;
- `--tee FILE`: every JSON line also to FILE (a shard's copy on a shared volume, beside stdout);
- CI outputs: `--junit FILE`, GitHub annotations on stderr, `$GITHUB_STEP_SUMMARY`; `--prom-file`;
- a live progress line on a terminal's stderr, when nothing else streams to that terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from prober.budget import Budget
from prober.errors import InputError, Problem
from prober.results.baseline import Baseline
from prober.sinks.atomic import check_output
from prober.sinks.base import FanOut, Sink
from prober.sinks.gate import Gate
from prober.sinks.jsonl import BackgroundJsonlSink
from prober.sinks.progress import Progress
from prober.sinks.summary import Summary


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    """The sweep's output flags, as given (None: not given)."""

    output: str | None = None
    append: bool = False
    fmt: str | None = None  # jsonl, table; None: table on a terminal, else jsonl
    nagios: bool = False
    junit: str | None = None
    annotations: str = "auto"  # auto (GitHub Actions), github, none
    baseline: str | None = None
    fail_on: str = "fail"
    quiet: bool = False
    report: str | None = None  # an HTML page (prober demo)
    prom_file: str | None = None  # Prometheus text for node_exporter's textfile collector
    tee: str | None = None  # also every JSON line to this file (a shard's copy for `prober merge`)


@dataclass
class Outputs:
    """The fan-out a sweep feeds, and the sinks its end reads (verdict, counts, a lost output)."""

    fanout: FanOut
    summary: Summary
    gate: Gate
    jsonl: BackgroundJsonlSink | None = None
    progress: Progress | None = None
    pointer: str = ""  # where the full list of failing records is, for the summary
    # With --shard: "shard" and "plan_fingerprint", on every line (prober.shard.stamp); `partial` when
    # this is one shard of several, whose gate cannot judge the fleet (the exit code then ignores it).
    stamp: dict[str, object] = field(default_factory=dict)
    partial: bool = False


def check(options: OutputOptions) -> None:
    """Refuse unusable output options now, before anything is read or probed (InputError: exit 3)."""
    problems = []
    if options.append and options.output in (None, "-"):
        problems.append(Problem("--append", None, "", "appends to -o FILE; give -o FILE"))
    if options.nagios and options.fmt and options.output in (None, "-"):
        message = "--nagios prints its status line on stdout; --format applies to -o FILE"
        problems.append(Problem("--format", None, "", message))
    if problems:
        raise InputError(problems)
    for path, flag in ((options.junit, "--junit"), (step_summary(), "GITHUB_STEP_SUMMARY")):
        if path:
            check_output(path, flag)
    if options.report:
        check_output(options.report, "--report")
    if options.prom_file:
        check_output(options.prom_file, "--prom-file")
    if options.tee:
        check_output(options.tee, "--tee")
        output = os.path.abspath(options.output) if options.output not in (None, "-") else None
        same = output == os.path.abspath(options.tee)
        if same:
            raise InputError([Problem(options.tee, None, "--tee", "is the -o file; give another file")])


def step_summary() -> str | None:
    return os.environ.get("GITHUB_STEP_SUMMARY") or None


def github(choice: str) -> bool:
    """--annotations: github, none, or auto (github when running in GitHub Actions)."""
    return choice == "github" or (choice == "auto" and os.environ.get("GITHUB_ACTIONS") == "true")


def record_format(options: OutputOptions, out_fd: int) -> str | None:
    """jsonl or table for the records on out_fd, or None when none go there (--nagios without -o)."""
    if options.nagios and options.output in (None, "-"):
        return None
    if options.fmt:
        return options.fmt
    return "table" if options.output in (None, "-") and os.isatty(out_fd) else "jsonl"


def build(
    options: OutputOptions,
    *,
    groups: Mapping[str, tuple[int, Budget]],
    planned: int,
    out_fd: int,
    run_id: str,
    baseline: Baseline | None,
    stamp: Mapping[str, object] | None = None,
    partial: bool = False,
) -> Outputs:
    """The sinks in the order they close: progress (erased first), counts, records, CI outputs.
    `groups`: each group's planned hosts and budget (prober.budget.budgets)."""
    summary = Summary(planned)
    gate = Gate(groups, fail_on=options.fail_on, baseline=options.baseline)
    sinks: list[Sink] = []
    fmt = record_format(options, out_fd)
    progress = None
    streams_to_terminal = fmt == "jsonl" and os.isatty(out_fd)
    if not (options.quiet or options.nagios or streams_to_terminal) and sys.stderr.isatty():
        progress = Progress(planned, sys.stderr.fileno())
        sinks.append(progress)
    sinks += [summary, gate]
    jsonl = None
    if fmt == "jsonl":
        jsonl = BackgroundJsonlSink(out_fd, run_id)
        sinks.append(jsonl)
    elif fmt == "table":
        from prober.sinks.table import TableSink

        sinks.append(TableSink(out_fd, _width(out_fd)))
    if options.tee:
        from prober.sinks.tee import TeeSink

        sinks.append(TeeSink(options.tee, run_id))
    sinks += _ci_sinks(options, baseline)
    fanout = FanOut(sinks, queue=jsonl)
    if jsonl is not None:
        jsonl.on_closed = fanout.stop
    pointer = _pointer(options, fmt)
    return Outputs(fanout, summary, gate, jsonl, progress, pointer, dict(stamp or {}), partial)


def _ci_sinks(options: OutputOptions, baseline: Baseline | None) -> list[Sink]:
    sinks: list[Sink] = []
    if options.junit:
        from prober.sinks.junit import JUnitSink

        sinks.append(JUnitSink(options.junit))
    if path := step_summary():
        from prober.sinks.stepsummary import StepSummary

        sinks.append(StepSummary(path))
    if options.report:
        from prober.sinks.report import HtmlReport

        sinks.append(HtmlReport(options.report, baseline=baseline, source="this sweep"))
    if options.prom_file:
        from prober.sinks.promfile import PromFileSink  # prometheus_client: ~55 ms to import, only when asked

        sinks.append(PromFileSink(options.prom_file))
    if github(options.annotations):
        from prober.sinks.annotations import GitHubAnnotations

        sinks.append(GitHubAnnotations(sys.stderr))
    return sinks


def _width(fd: int) -> int:
    try:
        return os.get_terminal_size(fd).columns
    except OSError:
        return 120


def _pointer(options: OutputOptions, fmt: str | None) -> str:
    """Where a reader finds every failing record when the summary collapses the list."""
    if fmt == "jsonl" and options.output not in (None, "-"):
        return f"every record is in {options.output} (`prober report {options.output} -o report.html`)"
    if fmt == "jsonl":
        return 'every record is in the JSON lines on stdout (`"status":"fail"`)'
    if options.junit:
        return f"every failing probe is in {options.junit}; -o FILE keeps every record"
    return "run with -o FILE to keep every record (`prober report FILE -o report.html` lists them)"


__all__ = ["OutputOptions", "Outputs", "build", "check", "github", "record_format", "step_summary"]
