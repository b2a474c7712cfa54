"""JUnit XML: one testsuite per group, one testcase per (host, probe), written atomically at close.

Mapping (what Jenkins, GitLab and GitHub's JUnit reporters show):
- a `fail` whose kind blames the target (timeout, refused, tls, http_status, assertion, …) is a
  `<failure type="KIND" message="…">`; one whose check could not complete (`deadline`, `cancelled`:
  the sweep stopped first; `internal`: a prober bug) is an `<error>`. Neither is `<skipped>`: a probe
  that was never checked must not look green on a dashboard, and the sweep's exit code counts it too.
- a `warn` passes (JUnit has no warning state) with the warning in the testcase's `<system-out>`.
- `time` is the latency in seconds (absent when the probe never ran); a testsuite's `time` is the sum
  of its probes' latencies (they ran concurrently), the root's is the sweep's wall time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from prober.sinks.atomic import write_or_fail
from prober.sinks.safetext import clean, cut, one_line

ERROR_KINDS = frozenset({"deadline", "cancelled", "internal"})  # the check itself did not complete
MESSAGE_MAX = 1000
DETAILS_MAX = 2000
_ATTR = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def attr(value: object) -> str:
    """An XML attribute value: unsafe characters replaced, markup and line breaks as references."""
    return clean(str(value)).translate(_ATTR)


def text(value: str) -> str:
    """XML character data: unsafe characters replaced, markup escaped, CR kept as a reference."""
    return clean(value).translate(_TEXT)


@dataclass
class _Suite:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    time: float = 0.0
    first_ts: str = ""
    run_ids: dict[str, None] = field(default_factory=dict)
    cases: list[tuple[str, str, str]] = field(default_factory=list)  # (host, probe, XML)


class JUnitSink:
    """Collects probe records (`record`) and writes the JUnit file at `close`.

    Each testcase is rendered to XML as it arrives (~100 bytes for a passing one), since a testsuite's
    counts must be written before its testcases."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._suites: dict[str, _Suite] = {}

    def record(self, record: dict[str, Any]) -> None:
        suite = self._suites.get(record["group"])
        if suite is None:
            suite = self._suites[record["group"]] = _Suite()
        suite.tests += 1
        latency = record.get("latency_ms")
        if latency is not None:
            suite.time += latency / 1000
        ts = record.get("ts")
        if isinstance(ts, str) and _TS.match(ts) and (not suite.first_ts or ts < suite.first_ts):
            suite.first_ts = ts
        suite.run_ids.setdefault(str(record.get("run_id", "")), None)
        error = record.get("error")
        if error:
            if error["kind"] in ERROR_KINDS:
                suite.errors += 1
            else:
                suite.failures += 1
        suite.cases.append((record["host"], record["probe"], _testcase(record, latency)))

    def close(self, sweep: dict[str, Any] | None = None) -> None:
        """Write the file (InputError if it cannot be written)."""
        write_or_fail(self.path, "--junit", self._document(sweep))

    def _document(self, sweep: dict[str, Any] | None) -> Iterator[str]:
        suites = self._suites
        total = sum(s.time for s in suites.values())
        if sweep is not None and isinstance(sweep.get("duration_ms"), int | float):
            total = sweep["duration_ms"] / 1000
        yield '<?xml version="1.0" encoding="UTF-8"?>\n'
        yield (
            f'<testsuites name="prober" tests="{sum(s.tests for s in suites.values())}" '
            f'failures="{sum(s.failures for s in suites.values())}" '
            f'errors="{sum(s.errors for s in suites.values())}" time="{total:.3f}">\n'
        )
        for name in sorted(suites):
            suite = suites[name]
            stamp = f' timestamp="{suite.first_ts[:19]}"' if suite.first_ts else ""
            yield (
                f'  <testsuite name="{attr(name)}" tests="{suite.tests}" failures="{suite.failures}" '
                f'errors="{suite.errors}" skipped="0" time="{suite.time:.3f}"{stamp}>\n'
                f'    <properties>\n      <property name="run_id" value="{attr(",".join(suite.run_ids))}"/>\n'
                "    </properties>\n"
            )
            suite.cases.sort(key=lambda case: case[:2])
            for _, _, case in suite.cases:
                yield case
            yield "  </testsuite>\n"
        yield "</testsuites>\n"


def _testcase(record: dict[str, Any], latency: float | None) -> str:
    name = f"{record['host']}/{record['probe']}"
    opening = f'    <testcase classname="{attr(record["group"])}" name="{attr(name)}"'
    if latency is not None:
        opening += f' time="{latency / 1000:.3f}"'
    error = record.get("error")
    if error:
        tag = "error" if error["kind"] in ERROR_KINDS else "failure"
        message = one_line(error.get("message", ""), MESSAGE_MAX)
        body = text(_details(record))
        fault = f'<{tag} type="{attr(error["kind"])}" message="{attr(message)}">{body}</{tag}>'
        return f"{opening}>\n      {fault}\n    </testcase>\n"
    warning = record.get("warning")
    if warning:
        out = f"<system-out>warn: {text(cut(warning, MESSAGE_MAX))}</system-out>"
        return f"{opening}>\n      {out}\n    </testcase>\n"
    return f"{opening}/>\n"


def _details(record: dict[str, Any]) -> str:
    """What a reader of the failure needs besides the message: where, how often, and what came back."""
    lines = [
        f"host {record['host']} (address {record.get('address', '?')}), group {record['group']}, "
        f"probe {record['probe']} ({record.get('type', '?')})",
        f"{record['error']['kind']}: {record['error'].get('message', '')}",
        f"attempts {record.get('attempts', '?')}, latency {record.get('latency_ms')} ms",
    ]
    if record.get("warning"):
        lines.append(f"warning: {record['warning']}")
    for key in (record.get("type"), "check"):
        if isinstance(key, str) and isinstance(record.get(key), dict):
            lines.append(f"{key}: {orjson.dumps(record[key], default=str).decode()}")
    return cut("\n".join(lines), DETAILS_MAX)


__all__ = ["ERROR_KINDS", "JUnitSink", "attr", "text"]
