"""Rows of measurements → one aligned text table (and the ratio column's arithmetic)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """One tool on one scenario; `skipped` holds the reason when it could not run."""

    scenario: str
    tool: str
    wall_s: float | None = None
    cpu_s: float | None = None
    maxrss_mb: float | None = None
    ok: int | None = None
    total: int | None = None
    ratio: float | None = None  # prober's wall / this tool's wall, same run (< 1: prober faster)
    cpu_ratio: float | None = None  # the same for CPU time
    note: str = ""
    skipped: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def set_ratios(rows: list[Row], reference: Row) -> None:
    """Fill `ratio` = reference wall / row wall (and cpu_ratio) for the other measured rows."""
    if reference.wall_s is None:
        return
    for row in rows:
        if row.scenario == reference.scenario and row.wall_s and row is not reference:
            row.ratio = reference.wall_s / row.wall_s
            if row.cpu_s and reference.cpu_s is not None:
                row.cpu_ratio = reference.cpu_s / row.cpu_s


HEADERS = ("scenario", "tool", "wall s", "cpu s", "rss MB", "ok/total", "prober/peer", "cpu ratio", "note")


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def cells(row: Row) -> tuple[str, ...]:
    if row.skipped:
        return (row.scenario, row.tool, "-", "-", "-", "-", "-", "-", f"skipped: {row.skipped}")
    done = "-" if row.ok is None else f"{row.ok}/{row.total}"
    ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
    cpu_ratio = "" if row.cpu_ratio is None else f"{row.cpu_ratio:.2f}x"
    return (
        row.scenario,
        row.tool,
        _fmt(row.wall_s),
        _fmt(row.cpu_s),
        _fmt(row.maxrss_mb, 0),
        done,
        ratio,
        cpu_ratio,
        row.note,
    )


def render(rows: list[Row], header: str) -> str:
    """A plain aligned table; the last column (notes) is left ragged."""
    table = [HEADERS, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS) - 1)]
    out = [header]
    for index, line in enumerate(table):
        left = "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=False))
        )
        out.append(f"{left}  {line[-1]}".rstrip())
        if index == 0:
            out.append("-" * (sum(widths) + 2 * len(widths) + 4))
    return "\n".join(out)
