"""Bench scenarios for inventories at 10k-1M (issue 14 §1): validate time, sweep memory, big plans.

Every address is a canonical IPv4 loopback address (127.B.y.z, bench.inventories.addresses_across)
on a port nothing listens on: each connect is refused at once by this machine's kernel, no name is
ever resolved and nothing leaves the machine.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from bench import measure
from bench.inventories import addresses_across, patterns_across, prober_inventory
from bench.table import Row
from bench.tasks import Bench, Task, prober_task

CLOSED_PORT = 18093  # nothing listens here: refused at once
VALIDATE_BLOCK, EXPLICIT_BLOCK, PLAN_BLOCK = 8, 10, 12  # offsets from the bench's random block
MEMORY_TARGET_MB, PLAN_TARGET_MB, VALIDATE_TARGET = 150, 300, 1.5


def _probes(count: int) -> dict[str, str]:
    return {f"p{i}": f"{{type: tcp, port: {CLOSED_PORT + i}}}" for i in range(count)}


def _command(tool: str, command: str, inventory: Path, **kwargs: object) -> Task:
    cmd = [sys.executable, "-m", "prober", command, str(inventory)]
    return Task(tool, cmd, lambda m: None, **kwargs)  # type: ignore[arg-type]


def _rounds(b: Bench) -> int:
    """Short commands (~0.2 s) need more interleaved rounds than sweeps to see through the noise."""
    return 1 if b.repeat <= 1 else max(7, 3 * b.repeat)


def validate(b: Bench) -> list[Row]:
    """`prober validate` of N hosts written one per line vs the same hosts as ranges, CPU time.

    A one-host inventory is the start-up baseline (interpreter, imports): what is left after it is
    what N hosts cost to load and plan. Median CPU of interleaved rounds.
    """
    n = b.sizes.validate  # type: ignore[attr-defined]
    block = b.block + VALIDATE_BLOCK
    probe = _probes(1)
    explicit = prober_inventory(b.work / "validate-explicit.yaml", probe, addresses_across(block, n))
    ranged = prober_inventory(b.work / "validate-ranges.yaml", probe, patterns_across(block, n))
    one = prober_inventory(b.work / "validate-one.yaml", probe, addresses_across(block, 1))
    tasks = [
        _command("prober validate, explicit list", "validate", explicit),
        _command("prober validate, ranges", "validate", ranged),
        _command("prober validate, 1 host", "validate", one),
    ]
    cpu: dict[str, list[float]] = {t.tool: [] for t in tasks}
    walls: dict[str, list[float]] = {t.tool: [] for t in tasks}
    peak: dict[str, float] = {t.tool: 0.0 for t in tasks}
    for _ in range(_rounds(b)):
        for task in tasks:
            m = measure.run(task.cmd, env=b.env)
            if m.returncode != 0:
                return [Row(f"validate {n}", task.tool, skipped=f"exit {m.returncode}: {m.stderr[-200:]}")]
            cpu[task.tool].append(m.cpu_s)
            walls[task.tool].append(m.wall_s)
            peak[task.tool] = max(peak[task.tool], m.maxrss_mb)
    rows = []
    for task in tasks:
        median = statistics.median(cpu[task.tool])
        row = Row(f"validate {n}", task.tool, round(statistics.median(walls[task.tool]), 3), round(median, 3))
        row.maxrss_mb, row.total = round(peak[task.tool], 1), n if task is not tasks[2] else 1
        row.extra["cpu_rounds"] = [round(c, 3) for c in cpu[task.tool]]
        rows.append(row)
    _validate_notes(rows, len(cpu[tasks[0].tool]))
    return rows


def _validate_notes(rows: list[Row], rounds: int) -> None:
    explicit, ranged, one = (r.cpu_s or 0.0 for r in rows)
    ratio = explicit / ranged if ranged else float("nan")
    rows[0].cpu_ratio = ratio
    rows[
        0
    ].note = (
        f"median of {rounds} interleaved rounds; cpu ratio = explicit / ranges; target <= {VALIDATE_TARGET}x"
    )
    beyond = (explicit - one) / (ranged - one) if ranged > one else None
    if beyond is not None:
        rows[0].note += f"; beyond start-up (minus the 1-host run) {beyond:.2f}x"
    rows[0].extra.update(cpu_ratio=round(ratio, 3), beyond_startup_ratio=beyond and round(beyond, 3))
    rows[2].note = "start-up baseline"


def explicit(b: Bench) -> list[Row]:
    """A sweep of N hosts listed one per line (a CMDB export), every connect refused: the peak memory
    of the whole process tree, default workers and one process."""
    n = b.sizes.explicit  # type: ignore[attr-defined]
    hosts = addresses_across(b.block + EXPLICIT_BLOCK, n)
    inv = prober_inventory(
        b.work / "explicit.yaml", _probes(1), hosts, timeout="500ms", concurrency=b.concurrency
    )
    note = f"every probe refused; target: tree <= {MEMORY_TARGET_MB} MB"
    tasks = [
        prober_task("prober (default workers)", inv, note=note),
        prober_task("prober --workers 1", inv, "--workers", "1", note=note),
    ]
    for task in tasks:
        task.tree = True
    rows = b.run(f"explicit {n}", tasks, n, reference=None)
    for row in rows:
        tree_note(row)
    return rows


def tree_note(row: Row) -> None:
    """Refused probes counted as the row's `ok` column, and the tree's peak memory in the note."""
    sweep = row.extra.get("sweep")
    if isinstance(sweep, dict) and "errors" in sweep:
        row.ok = int(sweep["errors"].get("refused", 0))  # type: ignore[union-attr]
    if "tree_pss_mb" in row.extra:
        row.note = (
            f"tree peak {row.extra['tree_pss_mb']:.0f} MB PSS ({row.extra['tree_rss_mb']:.0f} MB RSS summed, "
            f"{row.extra['processes']} process(es)); {row.note}"
        )


def bigplan(b: Bench) -> list[Row]:
    """`validate` and `plan` of a 10^6-probe inventory (plan lines to /dev/null): time and peak RSS;
    as ranges (10^6 hosts, one probe) and as an explicit list (250,000 hosts, four probes)."""
    n = b.sizes.bigplan  # type: ignore[attr-defined]
    block = b.block + PLAN_BLOCK
    ranged = prober_inventory(b.work / "bigplan-ranges.yaml", _probes(1), patterns_across(block, n))
    listed = prober_inventory(
        b.work / "bigplan-explicit.yaml", _probes(4), addresses_across(block, max(1, n // 4))
    )
    tasks = []
    for shape, inv in (("ranges", ranged), ("explicit x4", listed)):
        for command in ("validate", "plan"):
            note = f"{shape}; target <= {PLAN_TARGET_MB} MB"
            tasks.append(_command(f"prober {command}, {shape}", command, inv, note=note, discard_stdout=True))
    rows = b.run(f"bigplan {n}", tasks, n, reference=None)
    for row in rows:
        if row.wall_s:
            row.note += f"; {n / row.wall_s:,.0f} probes/s"
    return rows


__all__ = ["bigplan", "explicit", "tree_note", "validate"]
