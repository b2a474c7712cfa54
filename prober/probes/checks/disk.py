"""check: disk — % of blocks used (and of inodes) on the filesystem holding a path, as `df -P` reports."""

from __future__ import annotations

import re
import shlex

from prober.model import SSHSpec
from prober.probes.checks.base import Check, Output, Reading, Unreadable, require_success, threshold, worst

# Filesystem and mount point may contain spaces: anchor on the four numeric columns.
_ROW = re.compile(r"^(?P<fs>.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(?P<pct>\d+%|-)\s+(?P<mount>/.*)$")


def command(spec: SSHSpec) -> str:
    path = shlex.quote(spec.path)
    # df -i may be unsupported on exotic filesystems; the block figure must still come through.
    return f"LC_ALL=C df -P -k -- {path} && {{ LC_ALL=C df -P -i -- {path} || true; }}"


def _rows(text: str) -> list[re.Match[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("Filesystem") or not line.strip():
            continue
        if match := _ROW.match(line.rstrip()):
            rows.append(match)
    return rows


def _pct(match: re.Match[str]) -> int | None:
    pct = match.group("pct")
    return None if pct == "-" else int(pct.rstrip("%"))


def judge(spec: SSHSpec, out: Output) -> Reading:
    require_success(out, "df")
    rows = _rows(out.text())
    if not rows or _pct(rows[0]) is None:
        raise Unreadable(f"cannot parse df -P output for {spec.path}")
    used = _pct(rows[0])
    assert used is not None
    inodes = _pct(rows[1]) if len(rows) > 1 else None
    extra = {"path": spec.path, "mount": rows[0].group("mount"), "inodes": inodes}
    blocks = threshold("disk", used, "%", spec, f"{spec.path} used", **extra)
    if not spec.inodes:
        return blocks
    if inodes is None:
        raise Unreadable(f"df reports no inode figures for {spec.path}")
    by_inodes = threshold("disk", inodes, "%", spec, f"{spec.path} inodes used")
    # The record keeps the block figure as value; inodes only decide the status when worse.
    return worst(blocks, Reading(by_inodes.status, by_inodes.message, blocks.check))


CHECK = Check(command, judge)
