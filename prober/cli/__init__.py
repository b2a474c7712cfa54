"""Command line: parse arguments, call the keyword-only core, turn bad input into exit 3."""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from prober import __version__
from prober.runtime.signals import STOP_SIGNALS

EXIT_INPUT = 3
EXIT_WRITE_ERROR = 2
EXIT_INTERRUPTED = 130
WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG})
MAX_PROBLEMS_SHOWN = 100


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage; 2 means 'probes failed' here, so bad usage is 3."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def _typed(convert: Callable[[Any], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _duration(text: str) -> float:
    from prober.inventory.fields import duration

    return duration(text)


def _max_fail(text: str) -> str:
    from prober.inventory.loader import parse_max_fail

    parse_max_fail(text)
    return text


def _whole(text: str, low: int, high: int) -> int:
    if not text.strip().isascii() or not text.strip().isdigit():
        raise ValueError(f"expected a whole number, got {text!r}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high}, got {value}")
    return value


def _positive(text: str) -> int:
    return _whole(text, 1, 1_000_000)


def _retries(text: str) -> int:
    return _whole(text, 0, 10)


def _limit_arg(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise ValueError(f"expected group or host names (globs allowed) separated by commas, got {text!r}")
    return items


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="prober", description="Concurrent HTTP, TCP and SSH health sweeps.")
    parser.add_argument("--version", action="version", version=f"prober {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug diagnostics on stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sweep = sub.add_parser("sweep", help="probe every (host, probe) pair of an inventory")
    sweep.add_argument("inventory")
    sweep.add_argument("--concurrency", type=_typed(_positive), help="probes in flight at once")
    sweep.add_argument("--timeout", type=_typed(_duration), help="per-probe deadline, e.g. 500ms, 2s")
    sweep.add_argument("--retries", type=_typed(_retries), help="extra attempts on timeout/refused/reset")
    sweep.add_argument("--deadline", type=_typed(_duration), help="deadline for the whole sweep, e.g. 60s")
    sweep.add_argument(
        "--max-fail", type=_typed(_max_fail), help="failures tolerated (N or P%%) before exit 2"
    )
    sweep.add_argument("-o", "--output", help="write JSON lines to FILE instead of stdout")
    sweep.add_argument(
        "--limit", type=_typed(_limit_arg), help="only these groups or hosts (comma-separated, globs allowed)"
    )
    sweep.add_argument(
        "--workers",
        type=_typed(_positive),
        help="processes sharing the plan (default: usable CPUs for 500+ probes per extra worker, else 1)",
    )
    sweep.add_argument("-q", "--quiet", action="store_true", help="no human summary on stderr")

    validate = sub.add_parser("validate", help="check an inventory and report every problem")
    validate.add_argument("inventory")

    plan = sub.add_parser("plan", help="print the planned probes as JSON lines; contact nothing")
    plan.add_argument("inventory")
    plan.add_argument(
        "--limit", type=_typed(_limit_arg), help="only these groups or hosts (comma-separated, globs allowed)"
    )

    report = sub.add_parser("report", help="HTML page, JUnit XML and CI annotations from a results file")
    report.add_argument("results", help="JSON lines written by prober sweep")
    report.add_argument("-o", "--output", help="write the self-contained HTML report to FILE")
    report.add_argument("--baseline", help="an earlier results file: show what changed since")
    report.add_argument("--junit", help="write JUnit XML to FILE (one testsuite per group)")
    report.add_argument(
        "--annotations",
        choices=("auto", "github", "none"),
        default="auto",
        help="GitHub Actions annotations on stderr (auto: when GITHUB_ACTIONS=true)",
    )

    diff = sub.add_parser("diff", help="what changed between two results files (exit 2: new failures)")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument(
        "--format", choices=("jsonl", "table"), help="default: table on a terminal, else JSON lines"
    )

    demo = sub.add_parser("demo", help="sweep a simulated fleet on loopback")
    demo.add_argument("--hosts", type=_typed(_positive), default=200, help="fleet size (default 200)")
    demo.add_argument("--keep", action="store_true", help="keep the generated inventory directory")
    return parser


def _one_line(text: str) -> str:
    """Escape line breaks and control characters so each problem stays on exactly one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _report(problems: Sequence[object]) -> int:
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        print(f"error: {_one_line(str(problem))}", file=sys.stderr)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        print(f"error: ... and {len(problems) - MAX_PROBLEMS_SHOWN} more", file=sys.stderr)
    return EXIT_INPUT


def _dispatch(args: argparse.Namespace) -> int:
    from prober.cli import commands

    if args.command == "sweep":
        from prober.runtime.sweep import SweepFlags, run

        flags = SweepFlags(
            concurrency=args.concurrency,
            timeout=args.timeout,
            retries=args.retries,
            deadline=args.deadline,
            max_fail=args.max_fail,
            limit=args.limit,
            workers=args.workers,
        )
        return run(args.inventory, flags, output=args.output, quiet=args.quiet)
    if args.command == "validate":
        return commands.validate(args.inventory)
    if args.command == "plan":
        return commands.plan(args.inventory, args.limit)
    if args.command in ("report", "diff"):
        from prober.cli import outputs as outputcmds

        if args.command == "diff":
            return outputcmds.diff(args.old, args.new, fmt=args.format)
        return outputcmds.report(
            args.results,
            output=args.output,
            baseline=args.baseline,
            junit=args.junit,
            annotations=args.annotations,
        )
    return commands.demo(hosts=args.hosts, keep=args.keep)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from prober import logs
    from prober.errors import InputError, InventoryError

    logs.configure(args.verbose)
    try:
        try:
            return _dispatch(args)
        except (InventoryError, InputError) as exc:
            return _report(exc.problems)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:  # plan, validate, report... writing to a full disk (sweep handles its own)
        if exc.errno not in WRITE_ERRORS:
            raise
        return _cannot_write(exc, 0)


def _cannot_write(exc: OSError, code: int) -> int:
    """Output was lost (disk full, I/O error): say so in one line if stderr still can; exit 2."""
    with contextlib.suppress(OSError):
        os.write(2, f"prober: cannot write output: {exc.strerror}\n".encode())
    return code if code in (EXIT_WRITE_ERROR, EXIT_INTERRUPTED) else EXIT_WRITE_ERROR


GC_THRESHOLDS = (50_000, 20, 20)


def entry() -> NoReturn:
    # CPython's default (700, 10, 10) runs a young collection every 700 allocations and rescans
    # the whole plan in full ones: ~10% of a sweep's CPU (0.76 s of 8 s at 100k probes). Almost
    # all of a sweep's garbage is freed by reference counting; peak RSS measured the same.
    gc.set_threshold(*GC_THRESHOLDS)
    code = main()
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # the exit code is final now
    # Leave without the interpreter's teardown: everything is written and closed by now, and
    # freeing a large plan object by object only delays the exit a deploy gate waits for
    # (~35 ms at 1,000 probes, more at 100k).
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None when started with the fd closed
            try:
                stream.flush()
            except ValueError:  # already closed
                pass
            except OSError as exc:
                code = _cannot_write(exc, code) if exc.errno in WRITE_ERRORS else code
    os._exit(code)
