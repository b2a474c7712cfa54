"""`--prom-file PATH`: the sweep's results as Prometheus text, written atomically when the sweep ends.

For node_exporter's textfile collector (`--collector.textfile.directory`), which reads `*.prom` files:
the file is written whole through a hidden temporary file and a rename (PromMetrics.write_textfile), so a
scrape never sees half of it, and a sweep that could not write it leaves the previous one in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prober import logs
from prober.errors import InputError, Problem
from prober.sinks.atomic import check_output
from prober.sinks.prom import PromMetrics

FLAG = "--prom-file"


class PromFileSink:
    """A sink (prober.sinks.base): takes every probe record, writes the file at `close(sweep_line)`;
    InputError naming the file when it cannot be written (the fan-out logs it; the sweep exits 2)."""

    def __init__(self, path: str) -> None:
        check_output(path, FLAG)  # InputError (exit 3) now, before anything is probed
        if not path.endswith(".prom"):
            logs.get().warning("node_exporter's textfile collector reads only *.prom files", prom_file=path)
        self.path = path
        self.metrics = PromMetrics()

    def record(self, record: Mapping[str, Any]) -> None:
        self.metrics.update(record)

    def close(self, sweep: Mapping[str, Any] | None = None) -> None:
        """Take the sweep line and write the file (the previous file stays if it cannot be written)."""
        if sweep is not None:
            self.metrics.sweep(sweep)
        try:
            self.metrics.write_textfile(self.path)
        except OSError as exc:
            message = f"cannot write the Prometheus file: {exc.strerror or exc}"
            raise InputError([Problem(self.path, None, FLAG, message)]) from None


__all__ = ["PromFileSink"]
