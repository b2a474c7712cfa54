"""A results file reduced to each (host, probe)'s outcome: what `diff`, `report` and `--baseline` compare."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, NamedTuple

from prober.results.reader import ResultsFile

Key = tuple[str, str]  # (host, probe): unique within one sweep
MESSAGE_MAX = 300  # a message kept per failure; records already cut remote text, this bounds memory


class Outcome(NamedTuple):
    """How one (host, probe) ended: enough to say what changed, and why."""

    group: str
    status: str
    kind: str | None  # error.kind for a failure, None otherwise
    message: str | None  # error message (fail) or warning (warn)


def outcome_of(record: dict[str, Any]) -> Outcome:
    """The Outcome of one checked probe record (see ResultsFile)."""
    error = record.get("error")
    if error:
        kind, message = error["kind"], error.get("message", "")
    else:
        kind, message = None, record.get("warning")
    if message is not None and len(message) > MESSAGE_MAX:
        message = message[: MESSAGE_MAX - 1] + "…"
    # Group, status and kind repeat on every line: interned, 100k outcomes share a few strings.
    return Outcome(
        sys.intern(record["group"]), sys.intern(record["status"]), kind and sys.intern(kind), message
    )


class Baseline:
    """Outcomes by (host, probe). A key seen twice (files of several sweeps) keeps its last record."""

    def __init__(self, path: str = "") -> None:
        self.path = path
        self.outcomes: dict[Key, Outcome] = {}
        self.run_ids: list[str] = []
        self.sweep: dict[str, Any] | None = None
        self._ok: dict[str, Outcome] = {}  # one shared Outcome per group for the common case

    def add(self, record: dict[str, Any]) -> None:
        if record["status"] == "ok" and not record.get("warning"):
            outcome = self._ok.get(record["group"])
            if outcome is None:
                outcome = self._ok[record["group"]] = outcome_of(record)
        else:
            outcome = outcome_of(record)
        self.outcomes[record["host"], sys.intern(record["probe"])] = outcome

    def is_new_failure(self, host: str, probe: str) -> bool:
        """True unless this probe already failed in the baseline (ok, warn or absent there)."""
        old = self.outcomes.get((host, probe))
        return old is None or old.status != "fail"

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]], path: str = "") -> Baseline:
        baseline = cls(path)
        for record in records:
            baseline.add(record)
        return baseline


def load(path: str) -> Baseline:
    """Read a results file, streaming (memory grows with distinct probes, not with file size).

    Raises InputError naming the file and line when it is not prober output."""
    results = ResultsFile(path)
    baseline = Baseline.from_records(results, path)
    baseline.run_ids = list(results.run_ids)
    baseline.sweep = results.sweep
    return baseline


__all__ = ["Baseline", "Key", "Outcome", "load", "outcome_of"]
