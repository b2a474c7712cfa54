"""`--prom-file PATH`: the sweep's results as Prometheus text, written atomically when the sweep ends.

For node_exporter's textfile collector (`--collector.textfile.directory`), which reads `*.prom` files:
the file is written whole through a hidden temporary file and a rename (PromMetrics.write_textfile), so a
scrape never sees half of it, and a sweep that could not write it leaves the previous one in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prober import logs
from prober.sinks.atomic import check_output
from prober.sinks.prom import PromMetrics

FLAG = "--prom-file"


class PromFileSink:
    """Takes every probe record (`record`), writes the file at `close(sweep_line)`; `error` says why
    the write failed (None: written)."""

    def __init__(self, path: str) -> None:
        check_output(path, FLAG)  # InputError (exit 3) now, before anything is probed
        if not path.endswith(".prom"):
            logs.get().warning("node_exporter's textfile collector reads only *.prom files", prom_file=path)
        self.path = path
        self.metrics = PromMetrics()
        self.error: str | None = None

    def record(self, record: Mapping[str, Any]) -> None:
        self.metrics.update(record)

    def close(self, sweep: Mapping[str, Any]) -> None:
        """Take the sweep line and write the file; a write error is logged and kept in `error`."""
        self.metrics.sweep(sweep)
        try:
            self.metrics.write_textfile(self.path)
        except OSError as exc:
            self.error = exc.strerror or str(exc)
            logs.get().error("cannot write the Prometheus file", prom_file=self.path, error=self.error)


__all__ = ["PromFileSink"]
