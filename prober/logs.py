"""Diagnostics through structlog to stderr: JSON when piped, readable on a terminal."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

# Why writes to stderr failed (disk full, I/O error): diagnostics or the summary were lost (exit 2).
_stderr_error: list[str] = []
# While a live progress line sits on the terminal (no newline), each diagnostic first returns to the
# start of the line and erases it, in the same write(), so it never lands inside the progress text.
CLEAR_LINE = b"\r\x1b[K"
_status_line: list[bool] = [False]


def status_line(shown: bool) -> None:
    """A progress line is (or no longer is) on stderr: diagnostics clear it first."""
    _status_line[0] = shown


class _StderrLogger(structlog.PrintLogger):
    """A PrintLogger that outlives its stderr (a closed pipe or a full disk must not crash the sweep)
    and writes each line in one write() call: under --workers several processes share stderr, and
    print()'s separate writes of text and newline let two lines run into one (seen in a test)."""

    def msg(self, message: str) -> None:
        try:
            _write_line(self._file, message)
        except OSError as exc:
            stderr_failed(exc)

    log = debug = info = warn = warning = err = error = critical = exception = fatal = failure = msg


def _write_line(stream: Any, message: str) -> None:
    line = (message + "\n").encode("utf-8", "replace")
    if _status_line[0]:
        line = CLEAR_LINE + line
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # not a real file (a test's capture): its own write is all there is
        stream.write(message + "\n")
        stream.flush()
        return
    stream.flush()  # whatever print() left in the buffer goes first, keeping the order
    view = memoryview(line)
    while view:
        view = view[os.write(fd, view) :]


def configure(verbose: bool = False, quiet: bool = False) -> None:
    """Route structlog (and asyncssh/aiohttp's stdlib logging) to stderr; stdout is for results.
    `quiet` (-q): errors only."""
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO
    if sys.stderr is None:  # started with stderr closed (2>&-): diagnostics go nowhere, never to stdout
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    renderer: Any
    if sys.stderr.isatty():
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *args: _StderrLogger(sys.stderr),
        cache_logger_on_first_use=True,
    )
    # asyncssh logs every connection at INFO; keep library chatter out unless it matters.
    for name in ("asyncssh", "aiohttp"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.basicConfig(
        stream=sys.stderr, level=logging.ERROR if quiet else logging.WARNING, format="%(name)s: %(message)s"
    )


def stderr_closed() -> None:
    """The stderr reader went away: send the rest of the diagnostics to /dev/null, quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def stderr_failed(exc: OSError) -> None:
    """A write to stderr failed. A reader that left (EPIPE) changes nothing else; any other error
    (ENOSPC, EIO) lost diagnostics or the summary, which `stderr_error` reports for the exit code."""
    if not isinstance(exc, BrokenPipeError):
        _stderr_error.append(exc.strerror or str(exc))
    stderr_closed()


def stderr_error() -> str | None:
    return _stderr_error[0] if _stderr_error else None


def get(name: str = "prober") -> Any:
    return structlog.get_logger(name)
