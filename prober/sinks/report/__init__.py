"""The HTML report as a sink: records in, one self-contained page out (written atomically at close)."""

from __future__ import annotations

from typing import Any

from prober.results.baseline import Baseline
from prober.sinks.atomic import write_or_fail
from prober.sinks.report.collect import ReportData
from prober.sinks.report.page import render


class HtmlReport:
    """`record(dict)` per probe record, `close(sweep_line)` writes `path` (InputError if it cannot)."""

    def __init__(self, path: str, *, baseline: Baseline | None = None, source: str = "") -> None:
        self.path = path
        self.source = source
        self.data = ReportData(baseline)

    def record(self, record: dict[str, Any]) -> None:
        self.data.record(record)

    def close(self, sweep: dict[str, Any] | None = None) -> None:
        self.data.close(sweep)
        write_or_fail(self.path, "-o", render(self.data, self.source))


__all__ = ["HtmlReport", "ReportData"]
