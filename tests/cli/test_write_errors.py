"""Write errors on every path (stdout, -o, the sweep line, stderr), in one process and under --workers:
exit 2, one error line, no traceback, and no worker process left behind."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Lab, no_traceback, popen_cli, probes, records

WORKERS = [["--workers", "1"], ["--workers", "2"], []]  # [] = the default: 2 workers at 1,000 probes
WORKER_IDS = ["one-process", "two-workers", "default-workers"]


def survivors(pgid: int) -> list[int]:
    """Live processes (zombies aside) of process group `pgid`."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def fleet(lab: Lab, healthy: int = 10, down: int = 970, hung: int = 20) -> Path:
    """1,000 probes: healthy HTTP hosts, refused hosts, and hung ones that would keep a worker busy
    for the whole 30 s timeout if nothing stopped it."""
    lab.add("web", "http_ok", healthy)
    lab.add("down", "refused", down)
    lab.add("hung", "hung", hung)
    return lab.inventory(timeout="30s", concurrency=128)


def sweep(*args: str, **streams: Any) -> tuple[int, bytes, str, float]:
    """Run a sweep in its own process group; return (exit code, stdout, stderr, seconds), after
    checking that no process of the group (a worker) outlives it. Output goes to temporary files:
    waiting for a pipe's EOF would also wait for any worker left holding it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        streams = {"stdout": out, "stderr": err, **streams}
        started = time.monotonic()
        proc = popen_cli("sweep", *args, start_new_session=True, **streams)
        code = proc.wait(timeout=120)
        elapsed = time.monotonic() - started
        assert survivors(proc.pid) == [], "a worker outlived prober"
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read().decode(errors="replace"), elapsed


def workers_used(stderr: str) -> int:
    line = next(line for line in stderr.splitlines() if "sweep starting" in line)
    return int(line.split('"workers": ')[1].split(",")[0].rstrip("}"))


def assert_write_error(code: int, stderr: str, elapsed: float, strerror: str) -> None:
    assert code == 2, stderr[-3000:]
    no_traceback(stderr)
    errors = [line for line in stderr.splitlines() if "cannot write results" in line]
    assert len(errors) == 1 and strerror in errors[0], stderr[-3000:]
    assert elapsed < 25  # stopped: the hung probes alone would take 30 s


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """mount(size): a tmpfs of `size` (e.g. "64k") mounted for the test (root only), unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"fs{len(mounted)}"
        point.mkdir()
        command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs: {proc.stderr.strip()}")
        mounted.append(point)
        return point

    try:
        yield mount
    finally:
        for point in mounted:
            subprocess.run(["umount", "-l", str(point)], check=False)


def leave_free(mount: Path, pages: int) -> None:
    """Fill the filesystem at `mount` until exactly `pages` blocks are free."""
    stat = os.statvfs(mount)
    filler = (stat.f_bavail - pages) * stat.f_frsize
    assert filler >= 0
    (mount / "filler").write_bytes(b"\0" * filler)
    assert os.statvfs(mount).f_bavail == pages


class TestDiskFull:
    @pytest.mark.parametrize("workers", WORKERS, ids=WORKER_IDS)
    def test_dev_full(self, lab: Lab, workers: list[str]) -> None:
        """-o /dev/full (every write fails: ENOSPC): exit 2, one error line, workers stopped and reaped."""
        code, out, err, elapsed = sweep(str(fleet(lab)), "-o", "/dev/full", *workers)
        assert_write_error(code, err, elapsed, "No space left on device")
        assert workers_used(err) == (1 if workers == ["--workers", "1"] else 2)
        assert out == b""

    @pytest.mark.parametrize("workers", WORKERS[:2], ids=WORKER_IDS[:2])
    def test_filesystem_fills_mid_sweep(
        self, lab: Lab, tmpfs: Callable[[str], Path], workers: list[str]
    ) -> None:
        """-o on a 64 KiB filesystem that fills after a few hundred records: the same exit 2 and error
        line; what was written before is whole records (but the last, cut by the full disk)."""
        target = tmpfs("64k") / "records.jsonl"
        code, _, err, elapsed = sweep(str(fleet(lab)), "-o", str(target), *workers)
        assert_write_error(code, err, elapsed, "No space left on device")
        written = target.read_bytes().split(b"\n")
        lines = records(b"\n".join(written[:-1]))  # the last piece may be a record the disk cut
        assert len(lines) > 100 and all(r["event"] == "probe" for r in lines)

    @pytest.mark.parametrize("workers", WORKERS[:2], ids=WORKER_IDS[:2])
    def test_no_room_for_the_sweep_line(
        self, lab: Lab, tmpfs: Callable[[str], Path], workers: list[str]
    ) -> None:
        """Every probe record fits but the final sweep line does not: exit 2 (not the fleet's 0)."""
        for index in range(300):  # one group each: a sweep line of ~10 KB
            lab.add(f"g{index:03d}", "http_ok", 1)
        inventory = lab.inventory()
        code, out, _, _ = sweep(str(inventory), "-o", "/dev/stdout", *workers)
        assert code == 0
        needed = sum(len(line) + 1 for line in out.splitlines()[:-1])
        assert len(out.splitlines()[-1]) > 2 * 4096  # the sweep line needs 2 more pages at least
        small = tmpfs("256k")
        leave_free(small, needed // 4096 + 2)
        target = small / "records.jsonl"
        code, _, err, _ = sweep(str(inventory), "-o", str(target), *workers)
        assert code == 2, err[-3000:]
        no_traceback(err)
        assert "cannot write results" in err and "No space left on device" in err
        lines = records(target.read_bytes().rsplit(b"\n", 1)[0])
        assert len(probes(lines)) == 300 and lines[-1]["event"] == "probe"


class TestOtherWriteErrors:
    @pytest.mark.parametrize("workers", WORKERS[:2], ids=WORKER_IDS[:2])
    def test_terminal_gone_is_eio(self, lab: Lab, workers: list[str]) -> None:
        """stdout on a terminal whose other side has closed (EIO on write): exit 2, one error line."""
        leader, follower = pty.openpty()
        os.close(leader)
        try:
            code, _, err, elapsed = sweep(str(fleet(lab)), *workers, stdout=follower)
        finally:
            os.close(follower)
        assert_write_error(code, err, elapsed, "Input/output error")

    @pytest.mark.parametrize("workers", WORKERS[:2], ids=WORKER_IDS[:2])
    def test_full_stderr(self, lab: Lab, workers: list[str]) -> None:
        """stderr on /dev/full: the summary and diagnostics are lost, so exit 2 although every probe
        is ok; the records and the sweep line (exit_code 0, the fleet's verdict) are all on stdout."""
        lab.add("web", "http_ok", 5)
        with open("/dev/full", "wb") as full:
            code, out, _, _ = sweep(str(lab.inventory()), *workers, stderr=full)
        assert code == 2
        lines = records(out)
        assert len(probes(lines)) == 5 and lines[-1]["event"] == "sweep" and lines[-1]["exit_code"] == 0


class TestNoOrphans:
    def test_workers_die_with_a_killed_parent(self, lab: Lab) -> None:
        """SIGKILL to prober while its workers wait on hung hosts (30 s timeout): the workers die too."""
        lab.add("hung", "hung", 20)
        inventory = str(lab.inventory(timeout="30s"))
        # No pipes: their EOF would wait for the workers too (they share stdout and stderr).
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        proc = popen_cli("sweep", inventory, "--workers", "2", start_new_session=True, **quiet)
        deadline = time.monotonic() + 30
        while len(survivors(proc.pid)) < 3:  # the parent and both workers are up
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while survivors(proc.pid):
            assert time.monotonic() < deadline, f"workers left running: {survivors(proc.pid)}"
            time.sleep(0.05)


class TestOtherCommands:
    def test_plan_to_a_full_disk(self, lab: Lab) -> None:
        """`prober plan > /dev/full`: one error line, exit 2, no traceback."""
        lab.add("web", "http_ok", 3)
        with open("/dev/full", "wb") as full:
            proc = popen_cli("plan", str(lab.inventory()), stdout=full)
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == 2
        no_traceback(err)
        assert err.decode().strip().splitlines() == ["prober: cannot write output: No space left on device"]

    def test_validate_with_a_full_stderr(self, lab: Lab) -> None:
        """`prober validate` whose report cannot be written (stderr on /dev/full): exit 2, not 0."""
        lab.add("web", "http_ok", 3)
        with open("/dev/full", "wb") as full:
            proc = popen_cli("validate", str(lab.inventory()), stderr=full)
            proc.communicate(timeout=60)
        assert proc.returncode == 2
