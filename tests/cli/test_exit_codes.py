"""`prober sweep` as a process: exit codes, and every sweep flag overriding the inventory's defaults."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Lab, no_traceback, probes, records
from tests.conftest import run_cli


def sweep(inventory: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    proc = run_cli("sweep", str(inventory), *flags, timeout=60)
    no_traceback(proc.stderr)
    return proc, records(proc.stdout)


def spread_s(recs: list[dict[str, Any]], hosts: list[str]) -> float:
    """Seconds between the first and the last of these hosts' records."""
    stamps = [datetime.fromisoformat(r["ts"].replace("Z", "+00:00")) for r in recs if r["host"] in hosts]
    return (max(stamps) - min(stamps)).total_seconds()


class TestExitCodes:
    def test_all_ok_exits_0(self, lab: Lab) -> None:
        """Every probe ok → exit 0 and a sweep line saying so."""
        lab.add("web", "http_ok", 3)
        proc, lines = sweep(lab.inventory())
        assert proc.returncode == 0
        assert [r["status"] for r in probes(lines)] == ["ok"] * 3
        assert lines[-1]["exit_code"] == 0

    def test_warning_without_failure_exits_0(self, lab: Lab) -> None:
        """A probe slower than its latency_warn (and no failure) → status warn; the gate passes: exit 0."""
        lab.add("web", "http_ok", 2)
        lab.add("slowweb", "http_ok", 1, 0.2, probe="slow")
        proc, lines = sweep(lab.inventory())
        assert proc.returncode == 0 and lines[-1]["exit_code"] == 0
        assert sorted(r["status"] for r in probes(lines)) == ["ok", "ok", "warn"]

    def test_any_failure_exits_2(self, lab: Lab) -> None:
        """One refused host among healthy and slow ones → exit 2."""
        lab.add("web", "http_ok", 2)
        lab.add("slowweb", "http_ok", 1, 0.2, probe="slow")
        lab.add("down", "refused", 1)
        proc, lines = sweep(lab.inventory())
        assert proc.returncode == 2
        assert lines[-1]["counts"] == {"ok": 2, "warn": 1, "fail": 1}

    @pytest.mark.parametrize(
        ("max_fail", "expected"),
        [("1", 0), ("0", 2), ("2", 0), ("50%", 2), ("100%", 0), ("25%", 2)],
    )
    def test_max_fail_budget(self, lab: Lab, max_fail: str, expected: int) -> None:
        """--max-fail is each group's budget of failing hosts (a count, or a percentage of the group's
        hosts rounded down): the one-host group `down` with its host failing passes with 1 or 100%,
        fails with 0, 50% or 25% (half a host rounds down to none). Within budget → 0; over it → 2."""
        lab.add("web", "http_ok", 3)
        lab.add("down", "refused", 1)
        proc, lines = sweep(lab.inventory(), "--max-fail", max_fail)
        assert proc.returncode == expected and lines[-1]["exit_code"] == expected

    def test_max_fail_flag_overrides_inventory(self, lab: Lab) -> None:
        """An inventory max_fail of 5 tolerates one failure; --max-fail 0 takes it back."""
        lab.add("web", "http_ok", 1)
        lab.add("down", "refused", 1)
        inventory = lab.inventory(max_fail="5")
        assert sweep(inventory)[0].returncode == 0
        assert sweep(inventory, "--max-fail", "0")[0].returncode == 2

    def test_bad_input_exits_3_and_probes_nothing(self, lab: Lab) -> None:
        """A malformed --timeout is bad input: exit 3, a clear message, nothing on stdout."""
        lab.add("web", "http_ok", 1)
        proc, lines = sweep(lab.inventory(), "--timeout", "soon")
        assert proc.returncode == 3
        assert lines == []
        assert "--timeout" in proc.stderr


class TestFlagsOverrideDefaults:
    def test_concurrency_flag_parallelises(self, lab: Lab) -> None:
        """Four hung hosts at inventory concurrency 1 time out together with --concurrency 4 (one after
        another they would be spread over 1.5 s), and one after another at inventory concurrency 4
        with --concurrency 1."""
        hosts = lab.add("hung", "hung", 4)
        _, lines = sweep(lab.inventory(concurrency=1, timeout="500ms"), "--concurrency", "4")
        assert spread_s(probes(lines), hosts) < 0.75  # room for a loaded machine; serial: 1.5 s
        _, lines = sweep(
            lab.inventory(name="wide.yaml", concurrency=4, timeout="500ms"), "--concurrency", "1"
        )
        assert spread_s(probes(lines), hosts) >= 3 * 0.5 * 0.95
        assert lines[-1]["duration_ms"] >= 4 * 500 * 0.95

    @pytest.mark.parametrize(("flag", "seconds"), [("200ms", 0.2), ("500ms", 0.5), ("1s", 1.0)])
    def test_timeout_flag_shortens(self, lab: Lab, flag: str, seconds: float) -> None:
        """--timeout replaces the inventory's 30 s: a hung host times out after about the flag's value."""
        lab.add("hung", "hung", 2)
        _, lines = sweep(lab.inventory(timeout="30s"), "--timeout", flag)
        for rec in probes(lines):
            assert rec["error"]["kind"] == "timeout"
            # Timers fire to ~1 ms; 1.5 s of room for a loaded machine (the inventory's is 30 s).
            assert seconds * 950 <= rec["latency_ms"] < seconds * 1000 + 1500

    def test_timeout_flag_lengthens(self, lab: Lab) -> None:
        """--timeout 2s lets a 0.4 s answer through where the inventory's 100ms would time out."""
        lab.add("slowweb", "http_ok", 1, 0.4)
        inventory = lab.inventory(timeout="100ms")
        assert probes(sweep(inventory)[1])[0]["error"]["kind"] == "timeout"
        proc, lines = sweep(inventory, "--timeout", "2s")
        assert proc.returncode == 0
        assert probes(lines)[0]["latency_ms"] >= 400

    def test_retries_flag(self, lab: Lab) -> None:
        """--retries 2 gives a refused host three attempts; --retries 0 gives one, whatever the inventory."""
        lab.add("down", "refused", 1)
        assert probes(sweep(lab.inventory(retries=0), "--retries", "2")[1])[0]["attempts"] == 3
        assert probes(sweep(lab.inventory(retries=3), "--retries", "0")[1])[0]["attempts"] == 1

    def test_deadline_flag_overrides_inventory(self, lab: Lab) -> None:
        """An inventory deadline of 60 s is replaced by --deadline 1s: hung probes end as kind deadline."""
        lab.add("hung", "hung", 4)
        proc, lines = sweep(lab.inventory(timeout="30s", deadline="60s"), "--deadline", "1s")
        assert proc.returncode == 2
        assert {r["error"]["kind"] for r in probes(lines)} == {"deadline"}
        assert 1000 <= lines[-1]["duration_ms"] < 1000 + 3000  # room for a loaded machine; 60 s is not

    def test_output_flag_writes_file(self, lab: Lab, tmp_path: Path) -> None:
        """-o FILE puts every record and the sweep line in FILE and nothing on stdout."""
        lab.add("web", "http_ok", 2)
        lab.add("down", "refused", 1)
        target = tmp_path / "out.jsonl"
        proc, lines = sweep(lab.inventory(), "-o", str(target))
        assert lines == []
        written = records(target.read_text())
        assert len(probes(written)) == 3
        assert written[-1]["event"] == "sweep" and written[-1]["exit_code"] == proc.returncode == 2

    def test_limit_flag_selects_groups_and_hosts(self, lab: Lab) -> None:
        """--limit keeps only the named group plus the named host."""
        web = lab.add("web", "http_ok", 3)
        down = lab.add("down", "refused", 2)
        _, lines = sweep(lab.inventory(), "--limit", f"web,{down[0]}")
        assert sorted(r["host"] for r in probes(lines)) == sorted([*web, down[0]])
        assert lines[-1]["planned"] == 4
