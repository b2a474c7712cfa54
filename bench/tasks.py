"""Tools to measure as tasks, run interleaved: A B C, A B C, ... keeping each tool's fastest run.

Interleaving matters on a shared machine: load from neighbours comes and goes, and running one
tool's repeats back to back would charge a burst of it to that tool alone.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import measure
from bench.fleet import Fleet
from bench.table import Row, set_ratios

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"


def child_env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(ROOT) + os.pathsep + out.get("PYTHONPATH", "")
    out.pop("SSH_AUTH_SOCK", None)  # no agent: every tool authenticates with the generated key only
    return out


@dataclass
class Task:
    """One tool's command; `count(measure)` says how many targets it found healthy."""

    tool: str
    cmd: list[str]
    count: Callable[[measure.Measure], int | None]
    note: str = ""
    env: dict[str, str] | None = None
    skipped: str | None = None
    before: Callable[[], None] | None = None
    tree: bool = False  # also sample the memory of the whole process tree (workers included)
    discard_stdout: bool = False
    best: measure.Measure | None = None
    ok: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


def skipped(tool: str, reason: str) -> Task:
    return Task(tool, [], lambda m: None, skipped=reason)


def peer_task(tool: str, needs: str, script: str, *args: str, note: str = "") -> Task:
    """A peer script from bench/peers; skipped when its library is not installed."""
    if importlib.util.find_spec(needs) is None:
        return skipped(tool, f"{needs} not installed (pip install -e '.[bench]')")
    return Task(tool, [sys.executable, str(PEERS / script), *args], lambda m: json_ok(m.stdout), note)


def prober_task(tool: str, inventory: Path, *args: str, note: str = "") -> Task:
    """`prober sweep` writing JSONL to a file; ok = ok + warn from its sweep line."""
    out = inventory.parent / f"{inventory.stem}-{abs(hash((tool, args)))}.jsonl"
    cmd = [sys.executable, "-m", "prober", "sweep", str(inventory), "-q", "-o", str(out), *args]

    def count(m: measure.Measure) -> int | None:
        sweep = last_record(out) if m.returncode in (0, 1, 2) else {}
        task.extra["sweep"] = sweep
        counts = sweep.get("counts")
        return int(counts["ok"]) + int(counts["warn"]) if isinstance(counts, dict) else None

    task = Task(tool, cmd, count, note, before=lambda: out.unlink(missing_ok=True))
    return task


def last_record(path: Path) -> dict[str, object]:
    if not path.exists() or not path.stat().st_size:
        return {}
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 8192))
        return dict(json.loads(handle.read().splitlines()[-1]))


def json_ok(stdout: str) -> int | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return int(json.loads(line)["ok"])
    return None


class Bench:
    """Shared state of one bench run: sizes, the fleet, the work directory, how to measure."""

    def __init__(
        self,
        fleet: Fleet,
        sizes: object,
        block: int,
        *,
        repeat: int = 1,
        concurrency: int = 256,
        ssh_concurrency: int = 64,
        threads: int = 64,
    ) -> None:
        self.fleet, self.sizes, self.block, self.work = fleet, sizes, block, fleet.workdir
        self.repeat, self.concurrency = repeat, concurrency
        self.ssh_concurrency, self.threads = ssh_concurrency, threads
        self.env = child_env()
        self.is_root = os.geteuid() == 0

    def run(
        self, scenario: str, tasks: list[Task], total: int, reference: int | None = 0, extra_rounds: int = 0
    ) -> list[Row]:
        """Run the tasks interleaved `repeat` (+ extra_rounds when repeating) times; rows with ratios
        against tasks[reference]."""
        live = [t for t in tasks if not t.skipped]
        rounds = self.repeat + extra_rounds if self.repeat > 1 else max(1, self.repeat)
        for _ in range(rounds):
            for task in live:
                if task.before:
                    task.before()
                m = measure.run(
                    task.cmd, env=task.env or self.env, tree=task.tree, discard_stdout=task.discard_stdout
                )
                if task.best is None or m.wall_s < task.best.wall_s:
                    task.best, task.ok = m, task.count(m)
        rows = [self.row(scenario, task, total) for task in tasks]
        if reference is not None and rows and not tasks[reference].skipped:
            set_ratios(rows, rows[reference])
        return rows

    def row(self, scenario: str, task: Task, total: int) -> Row:
        if task.skipped or task.best is None:
            return Row(scenario, task.tool, skipped=task.skipped or "did not run")
        m = task.best
        note = task.note
        if m.returncode not in (0, 1, 2):
            note = f"exit {m.returncode}: {' '.join(m.stderr.split())[-200:]}"
        extra = dict(task.extra)
        if m.tree is not None:
            extra.update(tree_pss_mb=m.tree.pss_mb, tree_rss_mb=m.tree.rss_mb, processes=m.tree.processes)
        return Row(
            scenario,
            task.tool,
            round(m.wall_s, 3),
            round(m.cpu_s, 3),
            round(m.maxrss_mb, 1),
            task.ok,
            total,
            note=note,
            extra=extra,
        )
