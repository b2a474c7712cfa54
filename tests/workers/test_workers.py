"""`prober sweep --workers N`: one JSONL stream and one summary from N processes, one record per probe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.fleet import Fleet, addresses
from bench.inventories import patterns, prober_inventory
from prober.model import Job, Target
from prober.probes.tcp import TCPSpec
from prober.runtime.workers import default_workers, merge_stop, shard, usable_cpus
from tests.conftest import ROOT, cli_env, run_cli

PORT = 18480


def _records(stdout: str) -> tuple[list[dict[str, object]], dict[str, object]]:
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert lines and lines[-1]["event"] == "sweep"
    return [r for r in lines if r["event"] == "probe"], lines[-1]


def _tcp_inventory(path: Path, block: int, up: int, down: int, **kwargs: object) -> Path:
    """`up` hosts with a listener on PORT and `down` hosts where nothing listens (refused)."""
    hosts = [*patterns(block, up), *patterns(block, down, start=up)]
    return prober_inventory(path, {"port": f"{{type: tcp, port: {PORT}}}"}, hosts, **kwargs)  # type: ignore[arg-type]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _wait_children(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kids = _children(pid)
        if len(kids) >= count:
            return kids
        time.sleep(0.05)
    raise AssertionError(f"prober did not start {count} workers")


class TestDefaults:
    def test_small_plans_use_one_process(self) -> None:
        """A plan under 500 probes per extra worker runs in one process: forking would gain nothing."""
        assert default_workers(10) == 1
        assert default_workers(999) == 1
        assert default_workers(1000) == min(usable_cpus(), 2)

    def test_large_plans_use_every_usable_cpu(self) -> None:
        """A big plan gets one worker per usable CPU, never more."""
        assert default_workers(10_000_000) == min(usable_cpus(), 64)

    def test_stop_reasons_merge_by_precedence(self) -> None:
        """An interrupt outranks a deadline, which outranks a crashed worker; all None stays None."""
        assert merge_stop([None, "deadline", "cancelled"]) == "cancelled"
        assert merge_stop(["internal", "deadline"]) == "deadline"
        assert merge_stop([None, None]) is None

    def test_every_probe_of_a_host_lands_in_one_worker(self) -> None:
        """Sharding deals hosts round-robin and keeps each host's probes together (one SSH connection)."""
        jobs = [
            Job(i, Target(f"h{i % 7}", f"127.0.0.{i % 7 + 1}", "g"), TCPSpec(name=f"p{i}", port=22))
            for i in range(70)
        ]
        shares = shard(jobs, 3)
        assert sorted(i for share in shares for i in share) == list(range(70))
        owners = {jobs[i].target.address: n for n, share in enumerate(shares) for i in share}
        for n, share in enumerate(shares):
            assert all(owners[jobs[i].target.address] == n for i in share)
        assert sorted(len({jobs[i].target.address for i in share}) for share in shares) == [2, 2, 3]


class TestOneStream:
    def test_two_workers_give_one_record_per_probe_and_one_summary(
        self, fleet: Fleet, tmp_path: Path, loopback_block: int
    ) -> None:
        """Two workers report every planned probe exactly once, behind one sweep line with the totals."""
        fleet.python_servers("tcp", addresses(loopback_block, 30), PORT)
        inv = _tcp_inventory(tmp_path / "inv.yaml", loopback_block, 30, 10, timeout="2s")
        proc = run_cli("sweep", str(inv), "--workers", "2", "-q")
        probes, sweep = _records(proc.stdout)
        assert proc.returncode == 2, proc.stderr
        assert sorted(r["host"] for r in probes) == sorted(addresses(loopback_block, 40))
        assert sweep["planned"] == 40
        assert sweep["counts"] == {"ok": 30, "warn": 0, "fail": 10}
        assert sweep["errors"] == {"refused": 10}
        assert {r["host"] for r in probes if r["status"] == "fail"} == set(addresses(loopback_block, 10, 30))

    def test_workers_and_single_process_agree(
        self, fleet: Fleet, tmp_path: Path, loopback_block: int
    ) -> None:
        """The same plan yields the same (host, status) set and exit code with 1 or 3 workers."""
        fleet.python_servers("tcp", addresses(loopback_block, 12), PORT)
        inv = _tcp_inventory(tmp_path / "inv.yaml", loopback_block, 12, 5, timeout="2s")
        outcomes = []
        for workers in ("1", "3"):
            proc = run_cli("sweep", str(inv), "--workers", workers, "-q")
            probes, _ = _records(proc.stdout)
            outcomes.append((proc.returncode, sorted((r["host"], r["status"]) for r in probes)))
        assert outcomes[0] == outcomes[1]


class TestFailures:
    def _start(self, inv: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "prober", "sweep", str(inv), "--workers", "2", "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            cwd=ROOT,
        )

    @pytest.mark.timeout(120)  # ~3.5 s idle
    def test_a_killed_worker_s_probes_are_recorded_as_internal(
        self, fleet: Fleet, tmp_path: Path, loopback_block: int
    ) -> None:
        """When a worker is SIGKILLed, its unreported probes still get one `internal` record each."""
        fleet.python_servers("hold", addresses(loopback_block, 20), PORT)
        inv = _tcp_inventory(tmp_path / "inv.yaml", loopback_block, 20, 0, timeout="3s")
        inv.write_text(inv.read_text().replace("{type: tcp,", '{type: tcp, expect: "never",'))
        proc = self._start(inv)
        victim = _wait_children(proc.pid, 2)[0]
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=30)
        probes, sweep = _records(stdout)
        assert len(probes) == 20 and len({r["host"] for r in probes}) == 20, stderr
        internal = [r for r in probes if r["error"] and r["error"]["kind"] == "internal"]
        assert len(internal) == 10
        assert "signal 9" in internal[0]["error"]["message"]
        assert sweep["counts"]["fail"] == 20 and proc.returncode == 2

    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
    def test_a_signal_reaches_the_workers_and_exits_130(
        self, signum: int, fleet: Fleet, tmp_path: Path, loopback_block: int
    ) -> None:
        """SIGTERM or SIGINT to the parent stops every worker; each probe is recorded cancelled; exit 130."""
        fleet.python_servers("hold", addresses(loopback_block, 10), PORT)
        inv = _tcp_inventory(tmp_path / "inv.yaml", loopback_block, 10, 0, timeout="30s")
        inv.write_text(inv.read_text().replace("{type: tcp,", '{type: tcp, expect: "never",'))
        proc = self._start(inv)
        _wait_children(proc.pid, 2)
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=20)
        assert time.monotonic() - started < 10
        probes, sweep = _records(stdout)
        assert len(probes) == 10, stderr
        assert {r["error"]["kind"] for r in probes} == {"cancelled"}  # type: ignore[index]
        assert sweep["stopped"] == "cancelled" and proc.returncode == 130

    def test_the_sweep_deadline_holds_in_every_worker(
        self, fleet: Fleet, tmp_path: Path, loopback_block: int
    ) -> None:
        """With --deadline, every worker stops on time and each unfinished probe is recorded `deadline`."""
        fleet.python_servers("hold", addresses(loopback_block, 8), PORT)
        inv = _tcp_inventory(tmp_path / "inv.yaml", loopback_block, 8, 0, timeout="30s")
        inv.write_text(inv.read_text().replace("{type: tcp,", '{type: tcp, expect: "never",'))
        started = time.monotonic()
        proc = run_cli("sweep", str(inv), "--workers", "2", "--deadline", "1s", "-q")
        assert time.monotonic() - started < 15
        probes, sweep = _records(proc.stdout)
        assert len(probes) == 8, proc.stderr
        assert {r["error"]["kind"] for r in probes} == {"deadline"}  # type: ignore[index]
        assert sweep["stopped"] == "deadline" and proc.returncode == 2

    def test_a_reader_that_leaves_stops_the_sweep_with_141(self, tmp_path: Path, loopback_block: int) -> None:
        """When stdout's reader closes early, the workers stop and prober exits 141 without a traceback."""
        inv = _tcp_inventory(tmp_path / "inv.yaml", loopback_block, 0, 6000, timeout="1s")
        proc = self._start(inv)
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        proc.stdout.close()
        proc.wait(timeout=60)
        assert first["event"] == "probe"
        assert proc.returncode == 141
        assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


@pytest.mark.parametrize("flag", ["0", "-1", "two"])
def test_bad_workers_flag_is_a_usage_error(flag: str, tmp_path: Path) -> None:
    """--workers must be a positive integer; anything else exits 3 naming the flag."""
    proc = run_cli("sweep", str(tmp_path / "none.yaml"), "--workers", flag)
    assert proc.returncode == 3
    assert "--workers" in proc.stderr
