"""The gate sink in-process: which records count against a group's budget, the verdict, its sweep line."""

from __future__ import annotations

from typing import Any

from prober.budget import parse
from prober.sinks.gate import Gate


def record(group: str, host: str, status: str = "fail", baseline: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"group": group, "host": host, "status": status}
    if baseline is not None:
        out["baseline"] = baseline
    return out


def gate(**kwargs: Any) -> Gate:
    return Gate({"web": (10, parse("1")), "db": (4, parse("50%")), "idle": (3, parse("0"))}, **kwargs)


class TestGateSink:
    def test_a_host_counts_once_and_only_failures_count(self) -> None:
        sink = gate()
        for item in (
            record("web", "w1"),
            record("web", "w1"),
            record("web", "w2", "warn"),
            record("web", "w3", "ok"),
        ):
            sink.record(item)
        assert sink.groups["web"].failing == {"w1": True}
        assert (sink.groups["web"].counted, sink.groups["web"].allowed, sink.passed) == (1, 1, True)
        sink.record(record("web", "w4"))
        assert (sink.groups["web"].counted, sink.groups["web"].passed, sink.passed) == (2, False, False)

    def test_fail_on_warn_counts_warnings(self) -> None:
        sink = gate(fail_on="warn")
        sink.record(record("idle", "i1", "warn"))
        sink.record(record("idle", "i2", "ok"))
        assert sink.groups["idle"].failing == {"i1": True} and not sink.passed
        assert sink.failing_statuses == {"fail", "warn"} and gate().failing_statuses == {"fail"}

    def test_budget_is_reached_not_passed_at_its_value(self) -> None:
        """50% of 4 hosts: 2 failing hosts pass, 3 fail the gate."""
        sink = gate()
        for host in ("d1", "d2"):
            sink.record(record("db", host))
        assert sink.groups["db"].allowed == 2 and sink.passed
        sink.record(record("db", "d3"))
        assert not sink.passed

    def test_with_a_baseline_only_new_failures_count(self) -> None:
        """A host that only still fails is listed, not counted; one new failure on it counts it."""
        sink = gate(baseline="old.jsonl")
        sink.record(record("idle", "i1", baseline="still"))
        assert sink.groups["idle"].failing == {"i1": False} and sink.passed
        sink.record(record("idle", "i1", baseline="new"))
        sink.record(record("idle", "i1", baseline="still"))  # counted stays counted
        assert sink.groups["idle"].failing == {"i1": True} and not sink.passed
        plain = gate()  # without a baseline, a "still" mark (from elsewhere) counts all the same
        plain.record(record("idle", "i1", baseline="still"))
        assert plain.groups["idle"].failing == {"i1": True}

    def test_records_of_unplanned_groups_are_ignored(self) -> None:
        sink = gate()
        sink.record(record("elsewhere", "x"))
        assert sink.passed and sink.failing_hosts() == 0

    def test_worst_first_and_failing_hosts(self) -> None:
        """Over budget first, then most failing hosts, then by name; groups without failures left out."""
        sink = gate()
        for group, host in (("web", "w1"), ("db", "d1"), ("db", "d2"), ("idle", "i1")):
            sink.record(record(group, host))
        assert [name for name, _ in sink.worst_first()] == ["idle", "db", "web"]
        assert sink.failing_hosts() == 4
        sink.record(record("web", "w2"))
        assert [name for name, _ in sink.worst_first()] == ["web", "idle", "db"]

    def test_sweep_fields(self) -> None:
        sink = gate(fail_on="warn", baseline="b.jsonl")
        sink.record(record("web", "w1", "warn", baseline="new"))
        sink.record(record("web", "w2", baseline="still"))
        assert sink.sweep_fields() == {
            "gate": {
                "passed": True,
                "fail_on": "warn",
                "baseline": "b.jsonl",
                "groups": {
                    "db": {
                        "hosts": 4,
                        "failing_hosts": 0,
                        "counted": 0,
                        "max_fail": "50%",
                        "allowed": 2,
                        "passed": True,
                    },
                    "idle": {
                        "hosts": 3,
                        "failing_hosts": 0,
                        "counted": 0,
                        "max_fail": "0",
                        "allowed": 0,
                        "passed": True,
                    },
                    "web": {
                        "hosts": 10,
                        "failing_hosts": 2,
                        "counted": 1,
                        "max_fail": "1",
                        "allowed": 1,
                        "passed": True,
                    },
                },
            }
        }
        assert gate().sweep_fields()["gate"]["baseline"] is None
        assert gate().sweep_fields()["gate"]["fail_on"] == "fail"
