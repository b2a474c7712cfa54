"""Stop signals from prober's first line to its exit. Until a sweep starts, SIGINT and SIGTERM end prober
at once (exit 130; no record exists yet); from then on they are held until the event loop's handlers
take them, so every planned probe gets a record; once the sweep is over, its exit code is final."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import NoReturn

from prober.exits import Exit

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
EXIT_INTERRUPTED = int(Exit.INTERRUPTED)


def leave_now() -> NoReturn:
    """A second SIGINT/SIGTERM: the user insists (e.g. the output reader is stuck and the remaining
    records can never be written); exit at once, saying so."""
    with contextlib.suppress(OSError):
        os.write(2, b"prober: interrupted again; exiting without writing the remaining records\n")
    os._exit(EXIT_INTERRUPTED)


def _leave(signum: int, frame: object) -> NoReturn:
    # os._exit rather than KeyboardInterrupt: an exception raised at an arbitrary bytecode can land
    # in a finaliser ("Exception ignored", a traceback, and the interrupt lost) or in an import.
    with contextlib.suppress(OSError):
        os.write(2, f"prober: interrupted by {signal.Signals(signum).name}\n".encode())
    os._exit(EXIT_INTERRUPTED)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def exit_on_stop_signals() -> Iterator[None]:
    """SIGINT and SIGTERM exit 130 at once, with a line on stderr: never a traceback, never a bare kill
    by SIGTERM (143). prober's entry point enters this before importing the rest of prober."""
    if not _main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _leave) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM from the end of planning until the loop's handlers take them (execute
    unblocks them), so a signal at any moment yields a record for every planned probe."""
    if not _main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        # A signal after the sweep ended changes nothing: its records and exit code are final.
        while signal.sigtimedwait(STOP_SIGNALS, 0) is not None:
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
