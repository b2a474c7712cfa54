"""Resource limits at process level: a low RLIMIT_NOFILE, and a 100k-host inventory end to end."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Lab, no_traceback, popen_cli, probes, records
from tests.cli.hostile import free_port
from tests.conftest import ROOT, cli_env, run_cli


def nofile(soft: int, hard: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return apply


def limited_sweep(inventory: Path, soft: int, hard: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prober", "sweep", str(inventory), "--concurrency", "1000"],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=60,
        preexec_fn=nofile(soft, hard),
    )


def spread_s(recs: list[dict[str, Any]], hosts: list[str]) -> float:
    """Seconds between the first and the last of these hosts' records."""
    stamps = [datetime.fromisoformat(r["ts"].replace("Z", "+00:00")) for r in recs if r["host"] in hosts]
    return (max(stamps) - min(stamps)).total_seconds()


class TestOpenFileLimit:
    def test_low_nofile_caps_concurrency_with_a_warning(self, lab: Lab) -> None:
        """RLIMIT_NOFILE 256 with --concurrency 1000: no crash, a warning, concurrency capped, all records."""
        hung = lab.add("hung", "hung", 150)
        down = lab.add("down", "refused", 50)
        proc = limited_sweep(lab.inventory(timeout="1s"), 256, 256)
        no_traceback(proc.stderr)
        assert "concurrency capped by the open-file limit" in proc.stderr
        lines = records(proc.stdout)
        recs = probes(lines)
        assert sorted(r["host"] for r in recs) == sorted(hung + down)
        assert Counter(r["error"]["kind"] for r in recs) == {"timeout": 150, "refused": 50}
        assert proc.returncode == 2 and lines[-1]["event"] == "sweep"
        # 150 hung hosts at the capped concurrency (96) need two rounds of the 1 s timeout.
        assert spread_s(recs, hung) >= 0.9

    def test_soft_limit_is_raised_to_the_hard_limit(self, lab: Lab) -> None:
        """A low soft limit under a high hard limit is raised: no cap, the hung hosts share one round."""
        hung = lab.add("hung", "hung", 150)
        proc = limited_sweep(lab.inventory(timeout="2s"), 256, 8192)
        no_traceback(proc.stderr)
        assert "capped" not in proc.stderr
        lines = records(proc.stdout)
        assert len(probes(lines)) == 150
        # One round: all time out together (~0.1 s apart idle); two rounds would be 2 s apart.
        assert spread_s(probes(lines), hung) < 1.5


HOSTS_100K = "127.[20:23].[0:99].[1:250]"  # 4 * 100 * 250 = 100,000 addresses


class TestHundredThousandHosts:
    @pytest.mark.timeout(360)  # ~11 s idle, ~30 s loaded; the sweep's own guard kills it at 300 s
    def test_plan_validate_and_sweep_100k(self, tmp_path: Path) -> None:
        """A 100k-host inventory plans, validates, and sweeps to exactly 100k probe records."""
        port = free_port("127.20.0.1")  # nothing listens there: every connect is refused at once
        inventory = tmp_path / "big.yaml"
        inventory.write_text(
            "defaults: {timeout: 5s, retries: 2, concurrency: 10}\n"
            f"probes:\n  pg: {{type: tcp, port: {port}}}\n"
            f'groups:\n  fleet:\n    hosts: ["{HOSTS_100K}"]\n    probes: [pg]\n'
        )
        plan = run_cli("plan", str(inventory))
        assert plan.returncode == 0 and plan.stdout.count("\n") == 100_000
        validate = run_cli("validate", str(inventory))
        assert validate.returncode == 0 and "100000 planned probes" in validate.stderr
        started = time.monotonic()
        out, err = tmp_path / "out.jsonl", tmp_path / "err.txt"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            child = popen_cli(
                "sweep",
                str(inventory),
                "--concurrency",
                "1000",
                "--timeout",
                "200ms",
                "--retries",
                "0",
                stdout=stdout,
                stderr=stderr,
            )
            # wait4: this child's own peak RSS, not the largest of every child the test run has had.
            guard = threading.Timer(300, child.kill)  # a hung sweep fails the test instead of CI
            guard.start()
            try:
                _, status, usage = os.wait4(child.pid, 0)
            finally:
                guard.cancel()
            child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
        peak_rss_mb = usage.ru_maxrss / 1024
        no_traceback(err.read_text())
        assert child.returncode == 2
        lines = records(out.read_bytes())
        recs = probes(lines)
        assert len(recs) == 100_000 and len({r["host"] for r in recs}) == 100_000
        assert {r["attempts"] for r in recs} == {1}  # --retries 0 won over the inventory's 2
        # Refused at once; a probe starved of CPU by 1000 siblings may still reach the 200 ms timeout.
        assert {r["error"]["kind"] for r in recs} <= {"refused", "timeout"}
        assert lines[-1]["event"] == "sweep" and lines[-1]["planned"] == 100_000
        assert peak_rss_mb < 300, f"peak RSS {peak_rss_mb:.0f} MB"
        print(f"\n100k sweep: {elapsed:.1f} s wall, peak RSS {peak_rss_mb:.0f} MB, {lines[-1]['errors']}")
