"""Budgets per group (`max_fail`): failing hosts against each group's hosts, the sweep line's verdict,
exit codes 0 and 2, `--fail-on warn`, and bad values refused at file:line before anything runs."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from prober.budget import parse
from tests.cli.conftest import Lab, probes
from tests.conftest import run_cli
from tests.gate.helpers import gate_of, sweep, write


class TestPercentagesAsAnsible:
    @pytest.mark.parametrize("percent", ["0%", "1%", "5%", "10%", "12.5%", "33%", "50%", "99%", "100%"])
    def test_same_verdict_as_ansible_linear_strategy(self, percent: str) -> None:
        """For every group size up to 60 and every count of failing hosts, the budget fails exactly when
        Ansible's linear strategy aborts: `failed / batch_size > max_fail_percentage / 100.0`
        (ansible/plugins/strategy/linear.py), so 10% of 15 hosts lets 1 fail, not 2."""
        budget = parse(percent)
        for hosts in range(1, 61):
            for failing in range(hosts + 1):
                ansible_aborts = (failing / hosts) > float(budget.amount) / 100.0
                assert (failing > budget.allowed(hosts)) is ansible_aborts, (percent, hosts, failing)

    def test_rounding_is_down_and_exact(self) -> None:
        """10% of 15 hosts is 1.5: 1 allowed. 12.5% of 8 is exactly 1 (no float error). Counts stay counts."""
        assert parse("10%").allowed(15) == 1
        assert parse("12.5%").allowed(8) == 1 and parse("12.5%").amount == Fraction(25, 2)
        assert parse("3").allowed(1) == 3 and parse(0).allowed(100) == 0


class TestGroupBudgets:
    def test_percentage_of_the_groups_hosts(self, lab: Lab) -> None:
        """15 web hosts, 2 down: max_fail 10% (1.5 → 1 allowed) fails the gate; 20% (3 allowed) passes,
        with exit 0 and the summary saying failures were allowed."""
        lab.add("web", "http_ok", 13)
        lab.hosts["web"] += [(f"down{i}", f"127.{lab.block}.9.{i + 1}") for i in range(2)]
        proc, lines = sweep(str(write(lab, {"web": {"max_fail": "10%"}})))
        web = gate_of(lines)["groups"]["web"]
        assert web == {"hosts": 15, "failing_hosts": 2, "counted": 2, "max_fail": "10%", "allowed": 1,
                       "passed": False}  # fmt: skip
        assert proc.returncode == 2 and lines[-1]["exit_code"] == 2
        assert "gate FAILED (exit 2)" in proc.stderr and "down0, down1" in proc.stderr
        proc, lines = sweep(str(write(lab, {"web": {"max_fail": "20%"}})))
        assert gate_of(lines)["groups"]["web"]["allowed"] == 3 and gate_of(lines)["passed"] is True
        assert proc.returncode == 0 and lines[-1]["exit_code"] == 0
        assert "gate passed (exit 0): 2 failing hosts within budget allowed" in proc.stderr

    def test_a_host_counts_once_whatever_fails_on_it(self, lab: Lab) -> None:
        """One down host with two probes (web and tcp) failing is one failing host: max_fail 1 holds."""
        lab.add("web", "http_ok", 3)
        lab.add("web", "refused", 1)
        proc, lines = sweep(str(write(lab, {"web": {"probes": ["web", "tcp"], "max_fail": 1}})))
        assert lines[-1]["counts"]["fail"] == 2
        assert gate_of(lines)["groups"]["web"]["failing_hosts"] == 1
        assert proc.returncode == 0

    def test_each_group_is_held_to_its_own_budget(self, lab: Lab) -> None:
        """web (max_fail 0) with one host down fails the gate even though batch (50%) absorbs its own;
        the sweep line gives each group's verdict and the summary names both groups' failing hosts."""
        lab.add("web", "http_ok", 3)
        web_down = lab.add("web", "refused", 1)
        lab.add("batch", "http_ok", 3)
        batch_down = lab.add("batch", "refused", 1)
        inventory = write(lab, {"web": {"max_fail": 0}, "batch": {"max_fail": "50%"}})
        proc, lines = sweep(str(inventory))
        groups = gate_of(lines)["groups"]
        assert groups["web"]["passed"] is False and groups["batch"]["passed"] is True
        assert groups["batch"]["allowed"] == 2
        assert proc.returncode == 2
        assert "1 group(s) over budget: web" in proc.stderr
        assert web_down[0] in proc.stderr and batch_down[0] in proc.stderr

    def test_flag_is_the_default_for_groups_without_their_own(self, lab: Lab) -> None:
        """--max-fail 1 replaces defaults.max_fail (0) for web, not db's own max_fail 0."""
        lab.add("web", "http_ok", 2)
        lab.add("web", "refused", 1)
        lab.add("db", "http_ok", 2)
        inventory = write(lab, {"web": {}, "db": {"max_fail": 0}}, defaults={"max_fail": 0})
        assert sweep(str(inventory))[0].returncode == 2
        proc, lines = sweep(str(inventory), "--max-fail", "1")
        assert proc.returncode == 0
        assert gate_of(lines)["groups"]["web"]["max_fail"] == "1"
        assert gate_of(lines)["groups"]["db"]["max_fail"] == "0"
        lab.add("db", "refused", 1)
        inventory = write(lab, {"web": {}, "db": {"max_fail": 0}}, name="more.yaml")
        proc, lines = sweep(str(inventory), "--max-fail", "1")
        assert proc.returncode == 2 and gate_of(lines)["groups"]["db"]["passed"] is False


class TestWarnings:
    def test_warnings_pass_the_gate_and_the_summary_says_so(self, lab: Lab) -> None:
        """A slow host (latency_warn) and no failure: exit 0; the summary says a warning was allowed."""
        lab.add("web", "http_ok", 2)
        lab.add("slow", "http_ok", 1, 0.2)
        proc, lines = sweep(str(write(lab, {"web": {}, "slow": {"probes": ["slow"]}})))
        assert [r["status"] for r in probes(lines)].count("warn") == 1
        assert proc.returncode == 0 and lines[-1]["exit_code"] == 0
        assert "gate passed (exit 0): 1 warning(s) allowed" in proc.stderr

    def test_fail_on_warn_counts_warnings_as_failures(self, lab: Lab) -> None:
        """--fail-on warn: the slow host fails its group's budget (exit 2); with max_fail 1 it passes."""
        lab.add("slow", "http_ok", 2, 0.2)
        inventory = write(lab, {"slow": {"probes": ["slow"]}})
        proc, lines = sweep(str(inventory), "--fail-on", "warn")
        assert proc.returncode == 2
        assert gate_of(lines)["fail_on"] == "warn" and gate_of(lines)["groups"]["slow"]["failing_hosts"] == 2
        assert sweep(str(inventory), "--fail-on", "warn", "--max-fail", "2")[0].returncode == 0


BAD_VALUES = [
    ("-1", "expected a count"),
    ("5.5", "expected a count"),
    ("101%", "at most 100%"),
    ("lots", "expected a count"),
    (True, "expected a count"),
    ([1], "expected a count"),
]


class TestBadBudgets:
    @pytest.mark.parametrize(("value", "message"), BAD_VALUES)
    def test_bad_group_budget_is_bad_input_at_its_line(self, lab: Lab, value: object, message: str) -> None:
        """A bad max_fail under a group: exit 3 naming file:line and the key; nothing probed."""
        lab.add("web", "http_ok", 1)
        inventory = write(lab, {"web": {"max_fail": value}})
        line = inventory.read_text().splitlines().index(f"    max_fail: {json.dumps(value)}") + 1
        proc, lines = sweep(str(inventory))
        assert proc.returncode == 3 and lines == [] and proc.stdout == ""
        assert f"{inventory}:{line}: groups.web.max_fail: " in proc.stderr and message in proc.stderr
        assert "sweep starting" not in proc.stderr

    def test_bad_default_budget_is_reported_by_validate(self, lab: Lab) -> None:
        """defaults.max_fail of 150% is refused by validate too, at its line."""
        lab.add("web", "http_ok", 1)
        inventory = write(lab, {"web": {}}, defaults={"max_fail": "150%"})
        proc = run_cli("validate", str(inventory))
        assert proc.returncode == 3
        assert f"{inventory}:5: defaults.max_fail: a percentage is at most 100%" in proc.stderr
