"""A live progress line on a terminal's stderr: done/planned, ok/warn/fail, probes/s, ETA.

Redrawn in place (carriage return, erase line) every REDRAW_S by its own thread, so it moves while
every probe in flight waits for a timeout. Only ever shown when stderr is a terminal and nothing else
streams to that terminal (see prober.cli.outputs); diagnostics erase it first (prober.logs), and it is
erased before the summary and the table are printed."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter

from prober import logs
from prober.sinks.base import Record

REDRAW_S = 0.2


class Progress:
    """Counts records as they arrive; a thread draws the line from the counts."""

    def __init__(self, planned: int, fd: int = 2) -> None:
        self.planned, self.fd = planned, fd
        self.done = 0
        self.counts: Counter[str] = Counter()
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prober-progress", daemon=True)
        logs.status_line(True)  # set before --workers forks: the workers' diagnostics clear it too

    def start(self) -> None:
        self.started = time.monotonic()
        self._thread.start()

    def record(self, record: Record) -> None:
        self.done += 1
        self.counts[record["status"]] += 1

    def close(self, sweep: Record | None = None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._write(logs.CLEAR_LINE)
        logs.status_line(False)

    def text(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.started, 1e-6)
        done, planned = self.done, self.planned
        rate = done / elapsed
        counts = f"ok {self.counts['ok']} · warn {self.counts['warn']} · fail {self.counts['fail']}"
        eta = f"ETA {(planned - done) / rate:.0f}s" if done and done < planned else "ETA -"
        return f"prober: {done:,}/{planned:,} probes · {counts} · {rate:,.0f}/s · {eta}"

    def _run(self) -> None:
        while not self._stop.wait(REDRAW_S):
            try:
                width = os.get_terminal_size(self.fd).columns
            except OSError:
                width = 80
            # Cut to the width: a line that wraps cannot be erased by one carriage return.
            self._write(logs.CLEAR_LINE + self.text()[: max(width - 1, 10)].encode())

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # a terminal gone away: the sweep goes on without the line
            os.write(self.fd, data)


__all__ = ["Progress"]
