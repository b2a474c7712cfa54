"""`prober report RESULTS`: a self-contained HTML page, JUnit XML, GitHub annotations and step summary."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from prober.cli.args import add_annotations
from prober.errors import InputError, Problem

if TYPE_CHECKING:  # imported when the command runs: the parser is built for every command
    from prober.results.reader import ResultsFile
    from prober.sinks.base import Sink


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="HTML page, JUnit XML and CI annotations from a results file")
    report.add_argument("results", help="JSON lines written by prober sweep")
    report.add_argument("-o", "--output", help="write the self-contained HTML report to FILE")
    report.add_argument("--baseline", help="an earlier results file: show what changed since")
    report.add_argument("--junit", help="write JUnit XML to FILE (one testsuite per group)")
    add_annotations(report)


def command(args: argparse.Namespace) -> int:
    return report(
        args.results,
        output=args.output,
        baseline=args.baseline,
        junit=args.junit,
        annotations=args.annotations,
    )


def replay(path: str, sinks: Sequence[Sink]) -> ResultsFile:
    """Feed every probe record of a results file to `sinks`, then close them with its sweep line.

    A file that is not prober output raises InputError before any sink is closed, so nothing is written."""
    from prober.results.reader import ResultsFile

    results = ResultsFile(path)
    for record in results:
        for sink in sinks:
            sink.record(record)
    for sink in sinks:
        sink.close(results.sweep)
    return results


def _not_an_input(path: str, flag: str, inputs: Sequence[str | None]) -> None:
    """Refuse to write over a file being read: `-o results.jsonl` would replace the results."""
    for source in inputs:
        if source and os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
            raise InputError([Problem(path, None, flag, f"is the input {source}; choose another file")])


def github_mode(choice: str) -> bool:
    """--annotations: github, none, or auto (github when running in GitHub Actions)."""
    from prober.cli.outputs import github

    return github(choice)


def report(
    results: str,
    *,
    output: str | None = None,
    baseline: str | None = None,
    junit: str | None = None,
    annotations: str = "auto",
) -> int:
    """Write the HTML page, the JUnit file, GitHub annotations and step summary from a results file.

    Every output path and the baseline are checked before the results are read; nothing is written
    unless the whole results file is prober output."""
    from prober.results import baseline as baselines
    from prober.sinks.atomic import check_output

    github = github_mode(annotations)
    summary = os.environ.get("GITHUB_STEP_SUMMARY") or None
    if not (output or junit or github):
        problem = Problem(results, None, "", "nothing to write: give -o FILE.html and/or --junit FILE.xml")
        raise InputError([problem])
    for path, flag in ((output, "-o"), (junit, "--junit"), (summary, "GITHUB_STEP_SUMMARY")):
        if path:
            check_output(path, flag)
            _not_an_input(path, flag, [results, baseline])
    old = baselines.load(baseline) if baseline else None
    sinks: list[Sink] = []
    if output:
        from prober.sinks.report import HtmlReport

        sinks.append(HtmlReport(output, baseline=old, source=results))
    if junit:
        from prober.sinks.junit import JUnitSink

        sinks.append(JUnitSink(junit))
    if summary:
        from prober.sinks.stepsummary import StepSummary

        sinks.append(StepSummary(summary))
    if github:
        from prober.sinks.annotations import GitHubAnnotations

        sinks.append(GitHubAnnotations(sys.stderr))
    read = replay(results, sinks)
    for path in (output, junit):
        if path:
            print(f"prober report: wrote {path} ({os.path.getsize(path):,} bytes)", file=sys.stderr)
    print(f"prober report: {read.probes:,} probe records from {results}", file=sys.stderr)
    return 0
