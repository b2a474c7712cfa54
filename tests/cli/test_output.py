"""What a sweep writes where: stdout closed early, a slow reader, stdout vs stderr, the summary."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.cli.conftest import Lab, no_traceback, popen_cli, probes, records
from tests.conftest import ROOT, cli_env, run_cli


class TestStdoutClosedEarly:
    def test_head_three(self, lab: Lab, tmp_path: Path) -> None:
        """`prober sweep | head -3` ends quietly and promptly instead of probing the whole fleet."""
        lab.add("web", "http_ok", 5)
        lab.add("hung", "hung", 200)  # 50 rounds of 0.5 s at concurrency 4: ~25 s if it kept going
        inventory = lab.inventory(timeout="500ms", concurrency=4)
        err = tmp_path / "stderr.txt"
        script = (
            f"{sys.executable} -m prober sweep {inventory} 2>{err} | head -3; "
            f'echo "${{PIPESTATUS[0]}}" > {tmp_path / "rc"}'
        )
        started = time.monotonic()
        proc = subprocess.run(
            ["bash", "-c", script], capture_output=True, env=cli_env(), timeout=60, cwd=ROOT
        )
        elapsed = time.monotonic() - started
        assert len(records(proc.stdout)) == 3
        no_traceback(err.read_text())
        assert elapsed < 8
        assert (tmp_path / "rc").read_text().strip() == "141"

    def test_reader_closes_pipe(self, lab: Lab) -> None:
        """A reader that takes one line and closes the pipe ends the sweep quietly, with no summary."""
        lab.add("web", "http_ok", 3)
        lab.add("hung", "hung", 40)
        proc = popen_cli("sweep", str(lab.inventory(timeout="300ms", concurrency=2)))
        assert proc.stdout is not None and proc.stderr is not None
        json.loads(proc.stdout.readline())
        proc.stdout.close()
        assert proc.wait(timeout=15) == 141
        stderr = proc.stderr.read()
        no_traceback(stderr)
        assert b"probes in" not in stderr


class TestUnusableOutput:
    def test_unwritable_output_file_is_bad_input(self, lab: Lab, tmp_path: Path) -> None:
        """-o into a missing directory: exit 3 with a message naming the file, nothing probed."""
        lab.add("web", "http_ok", 1)
        target = tmp_path / "missing" / "out.jsonl"
        proc = run_cli("sweep", str(lab.inventory()), "-o", str(target))
        assert proc.returncode == 3 and proc.stdout == ""
        assert f"{target}: --output: cannot write" in proc.stderr
        no_traceback(proc.stderr)

    def test_closed_stdout_is_bad_input(self, lab: Lab) -> None:
        """A sweep started with stdout closed says so and exits 3 instead of crashing."""
        lab.add("web", "http_ok", 1)
        proc = subprocess.run(
            [sys.executable, "-m", "prober", "sweep", str(lab.inventory())],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=cli_env(),
            cwd=ROOT,
            timeout=60,
            preexec_fn=lambda: os.close(1),
        )
        assert proc.returncode == 3
        assert b"stdout is closed" in proc.stderr
        no_traceback(proc.stderr)

    def test_disk_full_stops_the_sweep_with_an_error(self, lab: Lab) -> None:
        """-o /dev/full (every write fails with ENOSPC): an error on stderr, exit 2, no traceback, no hang."""
        lab.add("web", "http_ok", 2)
        lab.add("hung", "hung", 40)
        proc = run_cli("sweep", str(lab.inventory(timeout="1s", concurrency=2)), "-o", "/dev/full")
        assert proc.returncode == 2
        no_traceback(proc.stderr)
        assert "cannot write results" in proc.stderr and "No space left on device" in proc.stderr
        assert proc.stdout == ""


class TestSlowReader:
    @pytest.mark.timeout(120)  # 620 hosts read by a deliberately slow reader: ~4.5 s idle
    def test_slow_reader_gets_every_line_and_true_latencies(self, lab: Lab) -> None:
        """A reader sleeping between lines gets every line whole, and hung probes still time out on time."""
        hung = lab.add("hung", "hung", 20)
        lab.add("web", "http_ok", 600)  # ~250 KB of records: far more than a pipe buffer holds
        proc = popen_cli("sweep", str(lab.inventory(timeout="300ms", concurrency=1000)))
        assert proc.stdout is not None
        raw = []
        while line := proc.stdout.readline():
            raw.append(line)
            time.sleep(0.004)  # ~2.5 s for all: the sweep itself needs ~0.3 s
        proc.wait(timeout=30)
        assert all(len(line) <= 4096 and line.endswith(b"\n") for line in raw)
        lines = records(b"".join(raw))
        assert len(probes(lines)) == 620 and lines[-1]["event"] == "sweep"
        timeouts = [r for r in probes(lines) if r["host"] in hung]
        assert {r["error"]["kind"] for r in timeouts} == {"timeout"}
        # A loop stalled on blocked writes fires these timers ~2 s late (measured before the writer
        # thread existed); the latency shows it.
        assert max(r["latency_ms"] for r in timeouts) < 300 + 700


class TestStreams:
    def test_stdout_only_records_stderr_json_logs(self, lab: Lab) -> None:
        """stdout holds only probe lines and the final sweep line; stderr diagnostics are JSON when piped."""
        lab.add("web", "http_ok", 2)
        lab.add("down", "refused", 2)
        proc = run_cli("sweep", str(lab.inventory()))
        lines = records(proc.stdout)
        assert [r["event"] for r in lines] == ["probe"] * 4 + ["sweep"]
        logged = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
        assert any(rec["event"] == "sweep starting" and rec["level"] == "info" for rec in logged)
        assert all({"event", "level", "timestamp"} <= rec.keys() for rec in logged)

    def test_closed_stderr_changes_nothing_on_stdout(self, lab: Lab) -> None:
        """Started with stderr closed (2>&-): the sweep runs, and no diagnostics leak onto stdout."""
        lab.add("web", "http_ok", 2)
        proc = subprocess.run(
            [sys.executable, "-m", "prober", "sweep", str(lab.inventory())],
            capture_output=True,
            env=cli_env(),
            cwd=ROOT,
            timeout=60,
            preexec_fn=lambda: os.close(2),
        )
        assert proc.returncode == 0
        assert [r["event"] for r in records(proc.stdout)] == ["probe", "probe", "sweep"]

    def test_stderr_reader_gone(self, lab: Lab) -> None:
        """A stderr reader that goes away (EPIPE on every diagnostic) does not stop the sweep."""
        lab.add("web", "http_ok", 2)
        lab.add("down", "refused", 1)
        proc = popen_cli("sweep", str(lab.inventory()))
        assert proc.stderr is not None
        proc.stderr.close()
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 2
        assert [r["event"] for r in records(out)] == ["probe"] * 3 + ["sweep"]

    def test_terminal_stderr_is_readable(self, lab: Lab) -> None:
        """With stderr on a terminal, diagnostics are human lines, not JSON."""
        lab.add("web", "http_ok", 1)
        leader, follower = pty.openpty()
        proc = popen_cli("sweep", str(lab.inventory()), stderr=follower)
        os.close(follower)
        out, _ = proc.communicate(timeout=30)
        text = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            text += chunk
        os.close(leader)
        assert len(probes(records(out))) == 1
        log_line = next(line for line in text.decode().splitlines() if "sweep starting" in line)
        assert not log_line.lstrip().startswith("{")
        assert "info" in log_line

    def test_sweep_line_and_summary(self, lab: Lab) -> None:
        """The sweep line carries run_id, counts, by_group, duration and exit code; the stderr summary
        shows counts per status and group, the slowest probes and failures grouped by kind."""
        lab.add("web", "http_ok", 3)
        lab.add("slowweb", "http_ok", 1, 0.2, probe="slow")
        lab.add("down", "refused", 2)
        lab.add("hung", "hung", 1)
        proc = run_cli("sweep", str(lab.inventory(timeout="300ms")))
        lines = records(proc.stdout)
        sweep = lines[-1]
        assert sweep["event"] == "sweep"
        assert {r["run_id"] for r in lines} == {sweep["run_id"]}
        assert sweep["counts"] == {"ok": 3, "warn": 1, "fail": 3}
        tally = Counter((r["group"], r["status"]) for r in probes(lines))
        for group, counts in sweep["by_group"].items():
            assert counts == {s: tally[(group, s)] for s in ("ok", "warn", "fail")}
        assert sweep["exit_code"] == proc.returncode == 2
        assert sweep["duration_ms"] > 0 and sweep["errors"] == {"refused": 2, "timeout": 1}
        summary = proc.stderr[proc.stderr.index("prober: 7 probes") :]
        assert "ok=3 warn=1 fail=3" in summary and "(exit 2)" in summary
        for group in ("web", "slowweb", "down", "hung"):
            assert f"group {group}" in summary
        assert "slowest:" in summary and "hung0007/web" in summary.split("failures by kind:")[0]
        by_kind = summary.split("failures by kind:")[1]
        assert "refused" in by_kind and "timeout" in by_kind
