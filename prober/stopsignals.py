"""Stop signals around a sweep: SIGTERM acts like Ctrl-C while planning, and both are held from the
end of planning until the event loop's handlers take them, so every planned probe gets a record."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import NoReturn

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
EXIT_INTERRUPTED = 130


def leave_now() -> NoReturn:
    """A second SIGINT/SIGTERM: the user insists (e.g. the output reader is stuck and the remaining
    records can never be written); exit at once, saying so."""
    os.write(2, b"prober: interrupted again; exiting without writing the remaining records\n")
    os._exit(EXIT_INTERRUPTED)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def term_interrupts() -> Iterator[None]:
    """While planning, SIGTERM interrupts like SIGINT (exit 130), never a bare kill by signal."""
    if not _main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
