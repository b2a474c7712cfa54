"""GitHub Actions annotations: one `::error` per failure and `::warning` per warning, capped, on stderr.

Where: the runner reads workflow commands from a step's stdout *and* stderr (actions/runner
ScriptHandler.cs gives each stream an OutputManager that hands every line to ActionCommandManager),
and prober's stdout carries JSON lines, so annotations go to stderr, one write per line.

How many: GitHub shows 10 error and 10 warning annotations per step (50 per job) and drops the rest
without a word. So at most CAP of each are printed; when there are more, the last slot says how many
were left out, and a closing line on stderr gives the totals. Failures are picked round-robin across
error kinds, so one broken group's 500 timeouts do not hide a single TLS failure elsewhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, TextIO

from prober.sinks.safetext import one_line

CAP = 10  # per severity: what GitHub shows per step
MESSAGE_MAX = 1000
_DATA = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A"})
_PROPERTY = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"})


def escape_data(value: str) -> str:
    """A workflow command's message, escaped as @actions/core's escapeData does."""
    return value.translate(_DATA)


def escape_property(value: str) -> str:
    """A workflow command's property value, escaped as @actions/core's escapeProperty does."""
    return value.translate(_PROPERTY)


def command(name: str, title: str, message: str) -> str:
    """One workflow command line, e.g. `::error title=…::message`; control characters replaced."""
    title, message = one_line(title, 200), one_line(message, MESSAGE_MAX)
    return f"::{name} title={escape_property(title)}::{escape_data(message)}\n"


def _label(record: dict[str, Any]) -> str:
    return f"{record['host']}/{record['probe']}"


class GitHubAnnotations:
    """Keeps what it will print (CAP per error kind, CAP warnings: bounded), prints it at `close`."""

    def __init__(self, stream: TextIO, cap: int = CAP) -> None:
        self.stream = stream
        self.cap = cap
        self.failures = 0
        self.warnings = 0
        self._by_kind: dict[str, list[dict[str, Any]]] = {}
        self._warned: list[dict[str, Any]] = []

    def record(self, record: dict[str, Any]) -> None:
        error = record.get("error")
        if error:
            self.failures += 1
            kept = self._by_kind.setdefault(error["kind"], [])
            if len(kept) < self.cap:
                kept.append(record)
        elif record["status"] == "warn":
            self.warnings += 1
            if len(self._warned) < self.cap:
                self._warned.append(record)

    def lines(self) -> Iterator[str]:
        """Every command line to print, failures first."""
        shown = self.cap - 1 if self.failures > self.cap else self.cap
        for record in itertools.islice(_round_robin(list(self._by_kind.values())), shown):
            error = record["error"]
            yield command(
                "error",
                f"prober: {error['kind']} {_label(record)}",
                f"{record['group']} {_label(record)} ({record.get('type', '?')}): {error['kind']}: "
                f"{error.get('message', '')}",
            )
        if self.failures > shown:
            more = self.failures - shown
            yield command(
                "error", "prober: more failures", f"… and {more} more failing probes (see the step summary)"
            )
        shown = self.cap - 1 if self.warnings > self.cap else self.cap
        for record in self._warned[:shown]:
            yield command(
                "warning",
                f"prober: warn {_label(record)}",
                f"{record['group']} {_label(record)}: {record.get('warning') or 'warn'}",
            )
        if self.warnings > shown:
            more = self.warnings - shown
            yield command(
                "warning", "prober: more warnings", f"… and {more} more warnings (see the step summary)"
            )

    def close(self, sweep: dict[str, Any] | None = None) -> None:
        for line in self.lines():
            self.stream.write(line)
        self.stream.write(
            f"prober: {self.failures} failing and {self.warnings} warning probes; GitHub shows "
            f"{self.cap} annotations of each per step\n"
        )
        self.stream.flush()


def _round_robin(queues: list[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for row in itertools.zip_longest(*queues):
        yield from (item for item in row if item is not None)


__all__ = ["CAP", "GitHubAnnotations", "command", "escape_data", "escape_property"]
