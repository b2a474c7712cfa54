"""The combined script run by each POSIX shell found here: frames intact, jobs concurrent, budgets kept."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from prober.probes.ssh.script import Frames, Job, script, split_result

NONCE = "0123456789abcdef"
SHELLS = [s for s in ("dash", "bash", "busybox", "mksh", "ksh") if shutil.which(s)]


Results = dict[int, tuple[bytes, bytes, int | None]]


def run(shell: str, jobs: list[Job], timeout: float = 30) -> tuple[Results, set[int], float]:
    """Run the script under `shell`; (results by index, indexes reported timed out, seconds)."""
    argv = [shell, "sh", "-c"] if shell == "busybox" else [shell, "-c"]
    started = time.monotonic()
    out = subprocess.run([*argv, script(jobs, NONCE)], capture_output=True, timeout=timeout).stdout
    seconds = time.monotonic() - started
    parts: dict[int, bytes] = {}
    results, timed_out = {}, set()
    for index, kind, data in Frames(NONCE).feed(out):
        parts[index] = parts.get(index, b"") + data
        if kind == b"$":
            results[index] = split_result(parts.pop(index), NONCE, jobs[index].cap)
        elif kind == b"T":
            timed_out.add(index)
    return results, timed_out, seconds


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class TestScriptUnderEachShell:
    def test_results_are_per_job(self, shell: str) -> None:
        """Exit status, stderr, missing final newline, binary bytes and syntax errors stay per job."""
        jobs = [
            Job("printf 'no newline'", 100, 10),
            Job("echo out; echo err >&2; exit 3", 100, 10),
            Job(r"printf 'x\377y\n\n'", 100, 10),
            Job('echo "unterminated', 100, 10),
            Job("echo @@" + NONCE + " 0 $", 100, 10),
        ]
        results, timed_out, _ = run(shell, jobs)
        assert not timed_out
        assert results[0] == (b"no newline", b"", 0)
        assert results[1] == (b"out\n", b"err\n", 3)
        assert results[2] == (b"x\xffy\n\n", b"", 0)
        assert results[3][2] == 2 and results[3][1]  # the shell's complaint, in this job's stderr
        assert results[4][0] == b"@@" + NONCE.encode() + b" 0 $\n"

    def test_large_outputs_ending_together_never_interleave(self, shell: str) -> None:
        """Five jobs print 20 kB each at the same moment: every one comes back whole (cut in frames
        of at most 4 kB, each written at once), and a cap of 5000 bytes is kept."""
        jobs = [Job(f"sleep 0.2; head -c 20000 /dev/zero | tr '\\0' {c}", 65536, 10) for c in "abcde"]
        jobs.append(Job("head -c 20000 /dev/zero | tr '\\0' z", 5000, 10))
        results, _, _ = run(shell, jobs)
        for index, char in enumerate("abcde"):
            assert results[index] == (char.encode() * 20000, b"", 0)
        assert results[5][0] == b"z" * 5000

    def test_jobs_run_at_once_and_a_hung_one_is_stopped(self, shell: str, tmp_path: Path) -> None:
        """Four 1 s jobs take about 1 s together, not 4; a hung one (its own process tree) is
        reported T at its 1.5 s budget and killed, children included."""
        hang = tmp_path / f"prbhang{uuid.uuid4().hex[:8]}"
        shutil.copy("/bin/sleep", hang)
        jobs = [Job(f"sleep 1; echo {i}", 100, 10) for i in range(4)]
        jobs.append(Job(f"{hang} 60 & {hang} 61", 100, 1.5))
        results, timed_out, seconds = run(shell, jobs)
        assert [results[i][0] for i in range(4)] == [b"0\n", b"1\n", b"2\n", b"3\n"]
        assert timed_out == {4} and 4 not in results
        assert 1.4 <= seconds < 3.5  # one budget, not the sum of the jobs
        left = subprocess.run(["pgrep", "-f", str(hang)], capture_output=True, text=True).stdout
        assert not left.split(), f"still running: {left}"

    def test_the_script_ends_with_its_jobs_even_with_budgets_pending(self, shell: str) -> None:
        """A job killed at its 0.3 s budget while another budget (10 s) is still pending: the
        script reports T and ends at once, its watchdog's sleep killed with it (repeated: the
        script's TERM to the watchdog can land as a sleep is being started)."""
        jobs = [Job("sleep 0.1; echo 0", 100, 10), Job("sleep 60 & sleep 61", 100, 0.3)]
        for _ in range(8):
            results, timed_out, seconds = run(shell, jobs)
            assert results[0][0] == b"0\n" and timed_out == {1}
            assert seconds < 3  # not the 10 s the watchdog would otherwise sleep on
