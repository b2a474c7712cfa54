"""Run one command as a child and measure it: wall time, user+sys CPU, peak RSS (os.wait4), and on
request the peak memory of its whole process tree (sampled from /proc)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measure:
    """What one run cost. CPU and RSS cover the child and every descendant it waited for."""

    wall_s: float
    cpu_s: float
    maxrss_mb: float
    returncode: int
    stdout: str
    stderr: str
    tree: TreePeak | None = None


@dataclass(frozen=True)
class TreePeak:
    """The most memory the process tree held at one instant, summed over its processes (MB).

    pss counts a page shared by n processes 1/n in each, so its sum is the tree's physical memory
    (a page the forked workers share with their parent counts once); rss counts it in every process
    that maps it, so for forked workers the rss sum overstates the tree. Sampled every SAMPLE_S: a
    peak shorter than that can be missed (wait4's maxrss, exact, bounds the largest process).
    """

    rss_mb: float
    pss_mb: float
    processes: int


SAMPLE_S = 0.02


def _descendants(root: int) -> list[int]:
    """root and every process below it (from each /proc/PID/stat's parent field)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _memory_kb(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of one process in kB, (0, 0) once it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, pss


class _TreeSampler(threading.Thread):
    """Samples the tree under `root` until stopped; keeps the largest sums seen."""

    def __init__(self, root: int) -> None:
        super().__init__(name="tree-sampler", daemon=True)
        self.root, self.done = root, threading.Event()
        self.rss = self.pss = self.processes = 0

    def run(self) -> None:
        while not self.done.wait(SAMPLE_S):
            pids = _descendants(self.root)
            sums = [_memory_kb(pid) for pid in pids]
            self.rss = max(self.rss, sum(r for r, _ in sums))
            self.pss = max(self.pss, sum(p for _, p in sums))
            self.processes = max(self.processes, sum(1 for r, _ in sums if r))

    def peak(self) -> TreePeak:
        self.done.set()
        self.join()
        return TreePeak(round(self.rss / 1024, 1), round(self.pss / 1024, 1), self.processes)


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 600.0,
    tree: bool = False,
    discard_stdout: bool = False,
) -> Measure:
    """Run cmd to completion (killed after `timeout`); stdout/stderr go through temp files (stdout to
    /dev/null with discard_stdout); tree=True also samples the process tree's memory."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        sink = subprocess.DEVNULL if discard_stdout else out
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=sink, stderr=err, env=env)
        sampler = _TreeSampler(proc.pid) if tree and os.path.exists("/proc/self/smaps_rollup") else None
        if sampler is not None:
            sampler.start()
        # A watchdog thread bounds the run; wait4 itself blocks until the child is reaped.
        watchdog = threading.Timer(timeout, _kill, (proc,))
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
            peak = sampler.peak() if sampler is not None else None
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measure(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            maxrss_mb=usage.ru_maxrss / 1024,
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            tree=peak,
        )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path
