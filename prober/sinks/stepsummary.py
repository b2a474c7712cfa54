"""Markdown summary for `$GITHUB_STEP_SUMMARY`: per-group counts and the failures, capped, appended."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from prober.errors import InputError, Problem
from prober.sinks.safetext import one_line

GROUPS_SHOWN = 50
FAILURES_SHOWN = 100
CELL_MAX = 200
# GitHub refuses a step summary over 1 MiB; with the caps above one summary stays under ~120 KiB.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def cell(value: object, limit: int = CELL_MAX) -> str:
    """Text for a GFM table cell: one line, every ASCII punctuation backslash-escaped.

    CommonMark lets any ASCII punctuation be escaped, so remote text can open no link, image, HTML
    tag, emphasis or code span, and `|` cannot end the cell."""
    return _PUNCTUATION.sub(r"\\\1", one_line(str(value), limit))


class StepSummary:
    """Counts by group and status, the first FAILURES_SHOWN failures; appended to `path` at close."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.by_group: dict[str, Counter[str]] = defaultdict(Counter)
        self.failures: list[dict[str, Any]] = []
        self.failed = 0

    def record(self, record: dict[str, Any]) -> None:
        self.by_group[record["group"]][record["status"]] += 1
        if record.get("error"):
            self.failed += 1
            if len(self.failures) < FAILURES_SHOWN:
                self.failures.append(record)

    def markdown(self, sweep: dict[str, Any] | None = None) -> str:
        total: Counter[str] = Counter()
        for counter in self.by_group.values():
            total.update(counter)
        run = f" (run {cell(sweep['run_id'])})" if sweep and isinstance(sweep.get("run_id"), str) else ""
        lines = [f"### prober: {total['ok']} ok, {total['warn']} warn, {total['fail']} fail{run}", ""]
        lines += ["| group | ok | warn | fail |", "| --- | ---: | ---: | ---: |"]
        groups = sorted(self.by_group.items(), key=lambda item: (-item[1]["fail"], -item[1]["warn"], item[0]))
        for group, counter in groups[:GROUPS_SHOWN]:
            lines.append(f"| {cell(group)} | {counter['ok']} | {counter['warn']} | {counter['fail']} |")
        if len(groups) > GROUPS_SHOWN:
            lines.append(f"\n… and {len(groups) - GROUPS_SHOWN} more groups (worst shown first)")
        if self.failures:
            lines += ["", f"#### Failures ({self.failed})", ""]
            lines += ["| group | host | probe | kind | message |", "| --- | --- | --- | --- | --- |"]
            for r in self.failures:
                error = r["error"]
                lines.append(
                    f"| {cell(r['group'])} | {cell(r['host'])} | {cell(r['probe'])} | "
                    f"{cell(error['kind'])} | {cell(error.get('message', ''))} |"
                )
            if self.failed > len(self.failures):
                lines.append(
                    f"\n… and {self.failed - len(self.failures)} more failures (see the results file)"
                )
        return "\n".join(lines) + "\n\n"

    def close(self, sweep: dict[str, Any] | None = None) -> None:
        """Append the summary (GitHub joins the summaries of a job's steps); InputError if it cannot."""
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(self.markdown(sweep))
        except OSError as exc:
            problem = Problem(self.path, None, "GITHUB_STEP_SUMMARY", f"cannot write: {exc.strerror or exc}")
            raise InputError([problem]) from None


__all__ = ["FAILURES_SHOWN", "GROUPS_SHOWN", "StepSummary", "cell"]
