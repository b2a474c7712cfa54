"""SIGINT, SIGTERM and --deadline mid-sweep: one record per planned probe, valid JSONL, the right exit."""

from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import FleetThread, Lab, no_traceback, popen_cli, probes, records


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.01)


def established(addresses: set[str], port: int) -> int:
    """Established TCP connections to these servers (local side address:port), from /proc/net/tcp."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, _, state = line.split()[1:4]
        address, local_port = local.split(":")
        ip = socket.inet_ntoa(struct.pack("=I", int(address, 16)))  # the kernel prints host order
        count += ip in addresses and int(local_port, 16) == port and state == "01"
    return count


def interrupted_sweep(
    inventory: Path,
    tmp_path: Path,
    signum: int,
    wait_lines: int,
    pause: float = 0.3,
    env: dict[str, str] | None = None,
    in_flight: Callable[[], bool] | None = None,
) -> tuple[int, list[dict[str, Any]], str, float]:
    """Start a sweep, wait for `wait_lines` records (and `in_flight()`, if given), send `signum`;
    return (rc, records, stderr, seconds from the signal to the exit)."""
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = popen_cli("sweep", str(inventory), stderr=err, env=env)
        assert proc.stdout is not None
        wait_for(lambda: b"probes starting" in log.read_bytes())  # planning and preparation are over
        head = [proc.stdout.readline() for _ in range(wait_lines)]
        if in_flight is not None:
            wait_for(in_flight)
        time.sleep(pause)  # the hung probes are in flight now
        proc.send_signal(signum)
        sent = time.monotonic()
        try:
            rest = proc.stdout.read()
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        elapsed = time.monotonic() - sent
    return code, records(b"".join(head) + rest), (tmp_path / "stderr.txt").read_text(), elapsed


class TestInterrupt:
    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    def test_signal_mid_sweep(self, lab: Lab, tmp_path: Path, signum: int) -> None:
        """A signal mid-sweep: exit 130, one record per planned probe (unfinished → cancelled), sweep last."""
        ok = lab.add("web", "http_ok", 3)
        hung = lab.add("hung", "hung", 12)
        down = lab.add("down", "refused", 3)
        code, lines, stderr, elapsed = interrupted_sweep(
            lab.inventory(timeout="30s", concurrency=8), tmp_path, signum, wait_lines=3
        )
        assert code == 130
        no_traceback(stderr)
        assert elapsed < 10  # room for a loaded machine; the hung probes' own timeout is 30 s
        recs = probes(lines)
        assert sorted(r["host"] for r in recs) == sorted(ok + hung + down)
        assert lines[-1]["event"] == "sweep" and [r["event"] for r in lines].count("sweep") == 1
        assert lines[-1]["exit_code"] == 130 and lines[-1]["stopped"] == "cancelled"
        assert {r["status"] for r in recs if r["host"] in ok} == {"ok"}
        assert {r["error"]["kind"] for r in recs if r["host"] in hung} == {"cancelled"}
        assert {r["error"]["kind"] for r in recs if r["host"] in down} <= {"cancelled", "refused"}
        assert lines[-1]["counts"]["fail"] == len(hung) + len(down)
        assert "interrupted" in stderr

    @pytest.mark.parametrize("uvloop", ["1", "0"], ids=["uvloop", "asyncio"])
    def test_signal_before_any_result(self, lab: Lab, tmp_path: Path, uvloop: str) -> None:
        """SIGTERM while only hung probes are in flight still accounts for every planned probe."""
        hung = lab.add("hung", "hung", 5)
        addresses = {address for _, address in lab.hosts["hung"]}
        code, lines, stderr, _ = interrupted_sweep(
            lab.inventory(timeout="30s", concurrency=2),
            tmp_path,
            signal.SIGTERM,
            wait_lines=0,
            pause=0,
            env={"PROBER_UVLOOP": uvloop},
            in_flight=lambda: established(addresses, lab.port) == 2,  # both slots hold a hung host
        )
        assert code == 130
        no_traceback(stderr)
        assert sorted(r["host"] for r in probes(lines)) == sorted(hung)
        in_flight = [r for r in probes(lines) if r["attempts"] == 1]
        never_started = [r for r in probes(lines) if r["attempts"] == 0]
        assert len(in_flight) == 2 and len(never_started) == 3

    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    def test_signal_right_after_planning(self, lab: Lab, tmp_path: Path, signum: int) -> None:
        """A signal the moment planning ends (before the loop runs) still yields every record, exit 130."""
        hung = lab.add("hung", "hung", 4)
        code, lines, stderr, _ = interrupted_sweep(
            lab.inventory(timeout="30s"), tmp_path, signum, wait_lines=0, pause=0
        )
        assert code == 130
        no_traceback(stderr)
        assert sorted(r["host"] for r in probes(lines)) == sorted(hung)
        assert lines[-1]["event"] == "sweep" and lines[-1]["exit_code"] == 130

    @pytest.mark.parametrize("workers", ["1", "2"])
    def test_second_signal_leaves_when_the_reader_is_stuck(
        self, lab: Lab, tmp_path: Path, workers: str
    ) -> None:
        """With a reader that never reads, the first SIGINT cannot finish writing; a second one exits 130,
        in one process and with worker processes (whose parent does the writing)."""
        lab.add("web", "http_ok", 700)  # ~280 KB of records: more than the pipe holds
        log = tmp_path / "stderr.txt"
        with open(log, "wb") as err:
            inventory = str(lab.inventory(concurrency=100))
            proc = popen_cli("sweep", inventory, "--workers", workers, stderr=err)
            try:
                wait_for(lambda: b"sweep starting" in log.read_bytes())
                time.sleep(1.5)  # probes done; the writer is blocked on the full pipe
                proc.send_signal(signal.SIGINT)
                with pytest.raises(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.5)  # still trying to hand its records over
                proc.send_signal(signal.SIGINT)
                assert proc.wait(timeout=15) == 130  # at once; 15 s of room for a loaded machine
            finally:
                proc.kill()
                proc.wait()
                assert proc.stdout is not None
                proc.stdout.close()
        no_traceback(log.read_text())
        assert "interrupted again" in log.read_text()


class TestSimulatedFleet:
    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    def test_signal_mid_sweep_of_mixed_fleet(
        self, sim_fleet: FleetThread, tmp_path: Path, signum: int
    ) -> None:
        """Interrupting a sweep of HTTP, TCP and SSH hosts mid-flight: every probe once, nothing on stderr
        but JSON diagnostics and the summary."""
        inventory = sim_fleet.fleet.write_inventory()
        code, lines, stderr, _ = interrupted_sweep(
            inventory, tmp_path, signum, wait_lines=20, pause=0.05, env=None
        )
        assert code == 130
        no_traceback(stderr)
        recs = probes(lines)
        assert len(recs) == len({(r["host"], r["probe"]) for r in recs}) == 200
        assert lines[-1]["event"] == "sweep" and lines[-1]["planned"] == 200
        assert "cancelled" in lines[-1]["errors"]
        summary_at = stderr.index("prober: 200 probes")
        for line in stderr[:summary_at].splitlines():
            assert json.loads(line)["level"] in ("info", "warning"), line


class TestDeadline:
    def test_deadline_cuts_hung_hosts(self, lab: Lab, tmp_path: Path) -> None:
        """--deadline 1s with hung hosts: their records say deadline, healthy ones ok, exit 2 in about 1 s."""
        ok = lab.add("web", "http_ok", 2)
        hung = lab.add("hung", "hung", 6)
        started = time.monotonic()
        proc = popen_cli("sweep", str(lab.inventory(timeout="30s", concurrency=4)), "--deadline", "1s")
        out, err = proc.communicate(timeout=20)
        wall = time.monotonic() - started
        no_traceback(err)
        lines = records(out)
        assert proc.returncode == 2
        assert wall < 20  # start-up and planning included; the hung probes' own timeout is 30 s
        assert 1000 <= lines[-1]["duration_ms"] < 1000 + 3000  # room for a loaded machine
        recs = probes(lines)
        assert sorted(r["host"] for r in recs) == sorted(ok + hung)
        assert {r["error"]["kind"] for r in recs if r["host"] in hung} == {"deadline"}
        assert lines[-1]["stopped"] == "deadline"
