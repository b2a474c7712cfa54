"""check: disk — % of blocks used (and of inodes) on the filesystem holding a path, as `df -P` reports."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from prober.probes.ssh.checks.base import (
    Check,
    Output,
    Reading,
    Unreadable,
    require_success,
    threshold,
    worst,
)
from prober.probes.ssh.spec import SSHSpec

# Filesystem and mount point may contain spaces (a CIFS share, /media/My Disk): anchor on the four
# figures. The header lines ("Filesystem 1024-blocks ...", "... IUse% ...") never match.
_ROW = re.compile(r"^(?P<fs>.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(?P<pct>\d+%|-)\s+(?P<mount>/.*)$")


@dataclass(frozen=True, slots=True)
class DiskUse:
    """What `df -P -k` then `df -P -i` said about one path: % used, % of inodes used (None when the
    filesystem has no fixed inode table, e.g. btrfs, or df -i failed: then `inode_row` is False),
    and where it is mounted."""

    used: int
    inodes: int | None
    mount: str
    inode_row: bool = True


def command(spec: SSHSpec) -> str:
    path = shlex.quote(spec.path)
    # df -i may be unsupported on exotic filesystems; the block figure must still come through.
    return f"LC_ALL=C df -P -k -- {path} && {{ LC_ALL=C df -P -i -- {path} || true; }}"


def parse(text: str) -> DiskUse:
    """The output of the check's command → its figures; Unreadable when there is no block figure."""
    rows = [m for line in text.splitlines() if (m := _ROW.match(line.rstrip()))]
    used = _pct(rows[0]) if rows else None
    if used is None:
        raise Unreadable("cannot parse df -P output")
    inodes = _pct(rows[1]) if len(rows) > 1 else None
    return DiskUse(used, inodes, rows[0].group("mount"), len(rows) > 1)


def _pct(match: re.Match[str]) -> int | None:
    pct = match.group("pct")
    return None if pct == "-" else int(pct.rstrip("%"))


def judge(spec: SSHSpec, out: Output) -> Reading:
    require_success(out, "df")
    try:
        use = parse(out.text())
    except Unreadable as exc:
        raise Unreadable(f"{exc} for {spec.path}") from None
    extra = {"path": spec.path, "mount": use.mount, "inodes": use.inodes}
    blocks = threshold("disk", use.used, "%", spec, f"{spec.path} used", **extra)
    if not spec.inodes:
        return blocks
    if not use.inode_row:
        raise Unreadable(f"df -i gave no inode figures for {spec.path}")
    if use.inodes is None:
        # No inode table (btrfs, vfat: df -i says "-"): inodes cannot run out there; blocks decide.
        return blocks
    by_inodes = threshold("disk", use.inodes, "%", spec, f"{spec.path} inodes used")
    # The record keeps the block figure as value; inodes only decide the status when worse.
    return worst(blocks, Reading(by_inodes.status, by_inodes.message, blocks.check))


CHECK = Check(command, judge)
