"""SIGINT/SIGTERM at any moment of a run: start-up, planning, waiting for a FIFO's reader, after the sweep."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from prober.runtime.signals import signals_held
from tests.cli.conftest import Lab, no_traceback, popen_cli, probes, records

SIGNALS = [signal.SIGINT, signal.SIGTERM]
SIGNAL_IDS = ["SIGINT", "SIGTERM"]


def wait_for(condition: Callable[[], bool], timeout: float = 30, every: float = 0.01) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(every)


def handles_sigterm(pid: int) -> bool:
    """True once the process catches SIGTERM: prober's entry point has run its first line.

    Before that the interpreter is starting (~15-20 ms on an idle machine), which no Python code can
    cover: SIGTERM then kills it (143) and SIGINT can make CPython fail its own start-up.
    """
    status = Path(f"/proc/{pid}/status").read_text()
    caught = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught, 16) & (1 << (signal.SIGTERM - 1)))


def wchan(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


def with_big_group(inventory: Path, block: int, hosts: int = 20_000) -> Path:
    """Add a group of `hosts` (never probed under --limit): loading and planning take a while."""
    lines = ["  big:", "    probes: [tcp]", "    hosts:"]
    lines += [f"      - big-{block}-{i:05d}.invalid" for i in range(hosts)]
    with inventory.open("a") as out:
        out.write("\n".join(lines) + "\n")
    return inventory


class TestStartUp:
    @pytest.mark.parametrize("workers", ["1", "2"])
    @pytest.mark.parametrize("signum", SIGNALS, ids=SIGNAL_IDS)
    def test_a_signal_at_any_moment_of_start_up_exits_130(
        self, lab: Lab, tmp_path: Path, signum: int, workers: str
    ) -> None:
        """A stop signal 0-600 ms after prober's first line (imports, parsing, loading a 20,000-host
        inventory, planning, forking, probing): exit 130, never a traceback, and either no record at
        all or one per planned probe and the sweep line."""
        hung = lab.add("hung", "hung", 6)
        inventory = with_big_group(lab.inventory(timeout="30s"), lab.block)
        for offset in range(0, 601, 30):
            proc = popen_cli("sweep", str(inventory), "--limit", "hung", "--workers", workers)
            wait_for(lambda proc=proc: handles_sigterm(proc.pid), every=0.001)
            time.sleep(offset / 1000)
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=60)
            where = f"signal {offset} ms after start-up: {err.decode(errors='replace')[-2000:]}"
            assert proc.returncode == 130, where
            no_traceback(err)
            assert b"interrupted" in err, where
            lines = records(out)
            if offset == 0:  # right after the first line: imports and planning still ahead
                assert lines == [], where
            if lines:  # the sweep had started: every planned probe is accounted for
                assert sorted(r["host"] for r in probes(lines)) == sorted(hung), where
                assert lines[-1]["event"] == "sweep" and lines[-1]["exit_code"] == 130, where

    def test_sigterm_while_planning_a_million_hosts_exits_130(self, tmp_path: Path) -> None:
        """SIGTERM while a 10^6-host plan is being built: exit 130 at once with a line on stderr
        (not 143, the bare kill by SIGTERM), nothing written, nothing probed."""
        ranges = ", ".join(f'"127.{b}.[0:249].[1:250]"' for b in range(100, 116))
        inventory = tmp_path / "million.yaml"
        inventory.write_text(
            "defaults: {timeout: 1s}\nprobes:\n  t: {type: tcp, port: 9}\n"
            f"groups:\n  g:\n    probes: [t]\n    hosts: [{ranges}]\n"
        )
        proc = popen_cli("sweep", str(inventory))
        wait_for(lambda: handles_sigterm(proc.pid), every=0.001)
        time.sleep(2.0)  # imports take ~0.3 s; planning 10^6 probes takes several seconds
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130
        assert time.monotonic() - sent < 5
        assert b"sweep starting" not in err  # the signal did land before the sweep
        assert b"prober: interrupted by SIGTERM" in err
        no_traceback(err)
        assert out == b""


class TestAfterTheSweep:
    def test_a_signal_while_the_summary_is_written_changes_nothing(self, lab: Lab, tmp_path: Path) -> None:
        """SIGTERM while prober is blocked writing its summary (stderr reader stalled): the sweep line
        is out, so the exit code stays the sweep's (0), not 130: a signal held past the sweep is dropped."""
        for index in range(20):  # 20 groups with long names: a summary longer than the 4 KiB pipe
            lab.add(f"group{index:02d}-" + "x" * 240, "http_ok", 1)
        read_fd, write_fd = os.pipe()
        fcntl.fcntl(read_fd, fcntl.F_SETPIPE_SZ, 4096)
        proc = popen_cli("sweep", str(lab.inventory()), stderr=write_fd)
        os.close(write_fd)
        assert proc.stdout is not None
        try:
            lines = [json.loads(proc.stdout.readline())]
            while lines[-1]["event"] != "sweep":  # written just before the summary
                lines.append(json.loads(proc.stdout.readline()))
            assert lines[-1]["exit_code"] == 0
            wait_for(lambda: "pipe_write" in wchan(proc.pid))  # blocked on the full stderr pipe
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
        finally:
            with os.fdopen(read_fd, "rb") as err:
                stderr = err.read()
        assert proc.wait(timeout=30) == 0
        assert b"prober: 20 probes" in stderr and b"interrupted" not in stderr

    def test_signals_held_to_the_end_are_dropped(self) -> None:
        """A stop signal arriving while held (after the sweep's handlers are gone) is drained, not
        delivered when the mask is restored."""
        delivered: list[int] = []
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: delivered.append(signum))
        try:
            with signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
                assert signal.SIGTERM in signal.sigpending()
            time.sleep(0.05)  # a delivered signal runs its handler by now
            assert delivered == [] and signal.SIGTERM not in signal.sigpending()
        finally:
            signal.signal(signal.SIGTERM, previous)


class TestFifoOutput:
    @pytest.mark.parametrize("signum", SIGNALS, ids=SIGNAL_IDS)
    def test_a_signal_while_waiting_for_a_fifo_reader_exits_130(
        self, lab: Lab, tmp_path: Path, signum: int
    ) -> None:
        """-o on a FIFO nobody opens: prober says it waits for a reader; a signal then exits 130 at once."""
        lab.add("web", "http_ok", 2)
        fifo = tmp_path / "records.fifo"
        os.mkfifo(fifo)
        log = tmp_path / "stderr.txt"
        with open(log, "wb") as err:
            proc = popen_cli("sweep", str(lab.inventory()), "-o", str(fifo), stderr=err)
            wait_for(lambda: b"waiting for a reader" in log.read_bytes())
            proc.send_signal(signum)
            sent = time.monotonic()
            code = proc.wait(timeout=30)
        assert code == 130 and time.monotonic() - sent < 5
        stderr = log.read_text()
        no_traceback(stderr)
        assert f"prober: interrupted by {signal.Signals(signum).name}" in stderr
        assert str(fifo) in stderr  # the wait names the FIFO

    def test_records_flow_once_a_reader_opens_the_fifo(self, lab: Lab, tmp_path: Path) -> None:
        """A reader that opens the FIFO late gets every record and the sweep line; exit 0."""
        lab.add("web", "http_ok", 3)
        fifo = tmp_path / "records.fifo"
        os.mkfifo(fifo)
        log = tmp_path / "stderr.txt"
        with open(log, "wb") as err:
            proc = popen_cli("sweep", str(lab.inventory()), "-o", str(fifo), stderr=err)
            wait_for(lambda: b"waiting for a reader" in log.read_bytes())
            with open(fifo, "rb") as reader:
                lines = records(reader.read())
            code = proc.wait(timeout=30)
        assert code == 0
        assert len(probes(lines)) == 3 and lines[-1]["event"] == "sweep"
        assert proc.stdout is not None and proc.stdout.read() == b""
