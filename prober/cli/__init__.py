"""Command line: `prober COMMAND`, one module per command (prober/cli/<command>.py); bad input is
exit 3 with file:line, never a traceback. A command module has `add_arguments(sub)` and `command(args)`."""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn, Protocol, cast

from prober import __version__
from prober.cli.args import EXIT_INPUT, Parser
from prober.exits import Exit
from prober.runtime.signals import STOP_SIGNALS

EXIT_WRITE_ERROR = int(Exit.FAILED)
EXIT_INTERRUPTED = int(Exit.INTERRUPTED)
WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG})
MAX_PROBLEMS_SHOWN = 100
# The commands, in the order `prober --help` lists them; each is imported only when it runs, except
# for building the parser (light modules: heavy libraries load inside the commands).
COMMAND_NAMES = ("sweep", "watch", "validate", "plan", "merge", "report", "diff", "demo")


class Command(Protocol):
    """What a command module (prober/cli/<name>.py) defines."""

    def add_arguments(self, sub: argparse._SubParsersAction[Parser]) -> None: ...

    def command(self, args: argparse.Namespace) -> int: ...


class _Commands(dict[str, Command]):
    """Command name → its module, imported on first use."""

    def __missing__(self, name: str) -> Command:
        module = self[name] = cast(Command, importlib.import_module(f"prober.cli.{name}"))
        return module


COMMANDS = _Commands()


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="prober", description="Concurrent HTTP, TCP and SSH health sweeps.")
    parser.add_argument("--version", action="version", version=f"prober {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug diagnostics on stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMAND_NAMES:
        COMMANDS[name].add_arguments(sub)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from prober import logs
    from prober.errors import InputError, InventoryError

    # -q: errors only. --nagios too: Icinga 2 shows a check's stderr with its output.
    nagios = getattr(args, "nagios", False)
    logs.configure(args.verbose, quiet=getattr(args, "quiet", False) or nagios)
    try:
        try:
            return COMMANDS[args.command].command(args)
        except (InventoryError, InputError) as exc:
            if nagios:  # a check that cannot run is UNKNOWN (3), with a status line saying why
                print(f"PROBER UNKNOWN - bad input: {_one_line(str(exc.problems[0])).replace('|', '/')}")
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
