"""The human summary in-process: worst groups first, capped, why a sweep stopped, and the gate's
verdict with every failing host, collapsed past a screenful."""

from __future__ import annotations

import time

from prober.budget import parse
from prober.model import ErrorInfo, Job, Result, Status, Target
from prober.probes.tcp import TCPSpec
from prober.record import to_record
from prober.sinks import gatetext
from prober.sinks.gate import Gate
from prober.sinks.summary import GROUPS_SHOWN, Summary


def result(group: str, status: Status, index: int, host: str | None = None) -> dict[str, object]:
    job = Job(index, Target(host or f"{group}-h{index}", "127.0.0.1", group), TCPSpec(name="t", port=1))
    error = ErrorInfo("refused", "connection refused") if status is Status.FAIL else None
    return to_record(Result(job, status, 1.0 + index, 1, time.time(), error), "run")


class TestSummaryRender:
    def test_many_groups_are_capped_worst_first(self) -> None:
        """With more groups than fit, failing groups come first and the rest is counted, not listed."""
        summary = Summary(GROUPS_SHOWN + 10)
        for index in range(GROUPS_SHOWN + 9):
            summary.record(result(f"g{index:02d}", Status.OK, index))
        summary.record(result("zz-broken", Status.FAIL, 99))
        lines = summary.render(1.0, 2)
        assert lines[1].startswith("  group zz-broken")
        assert sum(line.startswith("  group ") for line in lines) == GROUPS_SHOWN
        assert "… and 10 more groups" in "\n".join(lines)

    def test_stop_reason_is_named(self) -> None:
        """A sweep cut short by its deadline says so under the headline."""
        summary = Summary(1)
        summary.record(result("g", Status.FAIL, 0))
        assert "stopped early: the sweep deadline passed" in "\n".join(summary.render(1.0, 2, "deadline"))
        assert "stopped early" not in "\n".join(summary.render(1.0, 2))

    def test_remote_text_cannot_reach_the_terminal(self) -> None:
        """An error message with terminal escapes and line breaks is shown on one line, escapes replaced."""
        summary = Summary(1)
        record = result("g", Status.FAIL, 0)
        record["error"] = {"kind": "protocol", "message": "bad\x1b[2J\nFAKE LINE"}
        summary.record(record)
        text = "\n".join(summary.render(1.0, 2))
        assert "\x1b" not in text and "\nFAKE LINE" not in text


class TestSummaryCounts:
    @staticmethod
    def sweep() -> Summary:
        """Ten records in three groups: every status, two error kinds, a tie for the slowest five."""

        def record(group: str, status: Status, host: str, latency: float | None, kind: str = "") -> None:
            job = Job(0, Target(host, "127.0.0.1", group), TCPSpec(name="t", port=1))
            error = ErrorInfo(kind, messages[kind]) if kind else None
            summary.record(to_record(Result(job, status, latency, 1, time.time(), error), "run"))

        messages = {"refused": "connection refused", "timeout": "no answer\nat all", "long": "x" * 300}
        summary = Summary(10)
        record("web", Status.OK, "w1", 5.0)
        record("web", Status.FAIL, "w2", 7.25, "refused")
        record("db", Status.WARN, "d1", 1.0)
        record("db", Status.FAIL, "d2", None, "timeout")
        for index in range(4):
            record("api", Status.FAIL, f"a{index}", 3.0 + index, "long")
        record("api", Status.OK, "a9", 3.0)
        record("web", Status.OK, "z", 4.0)  # ties the fifth slowest (a1, 4.0 ms): takes its place
        return summary

    def test_render_counts_groups_slowest_and_kinds(self) -> None:
        """The headline, worst groups first (fails, then warnings), the five slowest, each error kind
        by count with up to three examples on one line of at most 200 characters."""
        long = "x" * (200 - len("a0/t: ") - 1) + "…"
        assert self.sweep().render(1.234, 2, "weird") == [
            "prober: 10 probes in 1.23s: ok=3 warn=1 fail=6 (exit 2)",
            "  stopped early: weird",
            "  group api                  ok=1 warn=0 fail=4",
            "  group db                   ok=0 warn=1 fail=1",
            "  group web                  ok=2 warn=0 fail=1",
            "  slowest:",
            "          7.2 ms  w2/t",
            "          6.0 ms  a3/t",
            "          5.0 ms  w1/t",
            "          5.0 ms  a2/t",
            "          4.0 ms  z/t",
            "  failures by kind:",
            "    long         4",
            f"      a0/t: {long}",
            f"      a1/t: {long}",
            f"      a2/t: {long}",
            "    refused      1",
            "      w2/t: connection refused",
            "    timeout      1",
            "      d2/t: no answer at all",
        ]

    def test_sweep_fields(self) -> None:
        """The sweep line's counts: every status even at 0, groups and kinds sorted by name."""
        summary = self.sweep()
        assert summary.sweep_fields() == {
            "planned": 10,
            "counts": {"ok": 3, "warn": 1, "fail": 6},
            "by_group": {
                "api": {"ok": 1, "warn": 0, "fail": 4},
                "db": {"ok": 0, "warn": 1, "fail": 1},
                "web": {"ok": 2, "warn": 0, "fail": 1},
            },
            "errors": {"long": 4, "refused": 1, "timeout": 1},
        }
        assert summary.counts_text() == "ok=3 warn=1 fail=6"
        assert Summary(0).sweep_fields()["counts"] == {"ok": 0, "warn": 0, "fail": 0}

    def test_nothing_slow_or_failed_adds_no_section(self) -> None:
        assert Summary(0).render(0.5, 0) == ["prober: 0 probes in 0.50s: ok=0 warn=0 fail=0 (exit 0)"]


class TestGateSummary:
    def gate(self, hosts: int, failing: int, budget: str = "0") -> Gate:
        gate = Gate({"web": (hosts, parse(budget))})
        for index in range(failing):
            gate.record(result("web", Status.FAIL, index, host=f"web{index:05d}"))
        return gate

    def test_every_failing_host_is_named_when_they_fit(self) -> None:
        """30 failing hosts on an 80-column, 40-row screen: every name is in the summary."""
        gate = self.gate(100, 30)
        lines = gatetext.failing_hosts(gate, rows=40, width=80, pointer="see FILE")
        text = "\n".join(lines)
        assert all(f"web{index:05d}" in text for index in range(30))
        assert "more failing hosts" not in text
        assert all(len(line) <= 80 for line in lines)

    def test_past_a_screenful_the_rest_is_counted_with_a_pointer(self) -> None:
        """5,000 failing hosts: the list stops within the rows given, counts the rest exactly, and
        says where the full list is."""
        gate = self.gate(10_000, 5_000)
        lines = gatetext.failing_hosts(gate, rows=20, width=80, pointer="every record is in out.jsonl")
        assert len(lines) <= 21
        named = sum(f"web{index:05d}" in "\n".join(lines) for index in range(5_000))
        assert named > 0
        assert lines[-1] == f"    … and {5_000 - named} more failing hosts: every record is in out.jsonl"

    def test_verdict_says_what_was_allowed_through(self) -> None:
        """A passing gate with failures within budget and warnings says so; a failing one names the group."""
        passing = self.gate(40, 2, "5%")
        assert gatetext.verdict(passing, 3, 0) == (
            "  gate passed (exit 0): 2 failing hosts within budget, 3 warning(s) allowed"
        )
        failing = self.gate(40, 3, "5%")
        assert gatetext.verdict(failing, 0, 2) == "  gate FAILED (exit 2): 1 group(s) over budget: web"
