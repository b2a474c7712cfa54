"""check: disk judged from fixed `df -P` output (inode-dominated, names with spaces), then over SSH."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from prober.model import Status
from prober.probes.ssh.checks import disk
from prober.probes.ssh.checks.base import Output, Unreadable
from prober.probes.ssh.spec import SSHSpec
from tests.ssh.conftest import run_jobs

BLOCKS_HEAD = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
INODES_HEAD = "Filesystem      Inodes  IUsed   IFree IUse% Mounted on\n"


def df_output(fs: str, mount: str, used: int, inodes: int | str | None) -> str:
    """What the check's command prints: `df -P -k` then `df -P -i` (None: df -i printed nothing)."""
    text = f"{BLOCKS_HEAD}{fs}  41152736 12345678  26693564  {used}% {mount}\n"
    if inodes is not None:
        pct = inodes if isinstance(inodes, str) else f"{inodes}%"
        text += f"{INODES_HEAD}{fs}  2621440 2550000  71440  {pct} {mount}\n"
    return text


def judged(text: str, exit_status: int = 0, **params: Any) -> Any:
    spec = SSHSpec(name="disk", check="disk", **{"path": "/srv", **params})
    return disk.judge(spec, Output(text.encode(), b"", exit_status))


class TestParse:
    @pytest.mark.parametrize(
        ("fs", "mount"),
        [
            ("/dev/sda1", "/"),
            ("//nas.example/Team Share", "/mnt/team"),  # CIFS share name with a space
            ("//srv/disk 2 of 3", "/mnt/d"),  # spaces and figures inside the name
            ("/dev/sdb1", "/media/user/Backup 2 2024"),  # mount point with spaces and figures
            ("sshfs#me@host:/x y", "/home/me/remote dir"),
            ("Filesystem-7", "/data"),  # a name that starts like the header
        ],
    )
    def test_names_with_spaces_keep_their_figures(self, fs: str, mount: str) -> None:
        """The figures and the mount point come out right whatever spaces the names hold."""
        use = disk.parse(df_output(fs, mount, 32, 98))
        assert (use.used, use.inodes, use.mount) == (32, 98, mount)

    def test_no_inode_table_and_no_inode_row(self) -> None:
        """`-` in IUse% (btrfs, vfat) is no figure; a missing df -i row is told apart from it."""
        dash = disk.parse(df_output("/dev/sdc", "/b", 5, "-"))
        missing = disk.parse(df_output("/dev/sdc", "/b", 5, None))
        assert (dash.inodes, dash.inode_row) == (None, True)
        assert (missing.inodes, missing.inode_row) == (None, False)

    @pytest.mark.parametrize(
        "text", ["", BLOCKS_HEAD, "df: /srv: No such file or directory\n", "x 1 2 3 4 /"]
    )
    def test_no_block_figure_is_unreadable(self, text: str) -> None:
        with pytest.raises(Unreadable):
            disk.parse(text)


class TestJudgeInodes:
    def test_inodes_decide_when_worse(self) -> None:
        """Blocks 32% but inodes 98%: with inodes true the check fails on inodes, value stays 32."""
        reading = judged(df_output("/dev/sda1", "/srv", 32, 98), inodes=True, warn=80, crit=95)
        assert reading.status is Status.FAIL
        assert "inodes used 98%" in (reading.message or "")
        assert (reading.check["value"], reading.check["inodes"]) == (32, 98)

    def test_inodes_warn_only(self) -> None:
        """Inodes between warn and crit (blocks below warn) give warn."""
        reading = judged(df_output("/dev/sda1", "/srv", 10, 85), inodes=True, warn=80, crit=95)
        assert reading.status is Status.WARN and "inodes used 85%" in (reading.message or "")

    def test_inodes_reported_but_not_judged_unless_asked(self) -> None:
        """Without inodes: true the same output is ok: the figure is in the record only."""
        reading = judged(df_output("/dev/sda1", "/srv", 32, 98), warn=80, crit=95)
        assert reading.status is Status.OK and reading.check["inodes"] == 98

    def test_blocks_still_decide_when_worse_than_inodes(self) -> None:
        reading = judged(df_output("/dev/sda1", "/srv", 96, 3), inodes=True, warn=80, crit=95)
        assert reading.status is Status.FAIL and "/srv used 96%" in (reading.message or "")

    def test_filesystem_without_inode_table(self) -> None:
        """IUse% `-` (btrfs): inodes cannot run out, the blocks decide: no false failure."""
        reading = judged(df_output("/dev/sdc", "/srv", 10, "-"), inodes=True, warn=80, crit=95)
        assert reading.status is Status.OK and reading.check["inodes"] is None

    def test_missing_inode_row_when_asked_is_unreadable(self) -> None:
        with pytest.raises(Unreadable, match="no inode figures"):
            judged(df_output("/dev/sdc", "/srv", 10, None), inodes=True)

    def test_df_failure_is_unreadable_with_its_reason(self) -> None:
        with pytest.raises(Unreadable, match="df exited 1"):
            judged("", exit_status=1)


class TestDiskOverSSH:
    async def test_fixed_df_output_through_a_sweep(self, sim_server, tmp_path: Path, monkeypatch) -> None:
        """A host whose df reports a CIFS share (spaces in both names) with inodes nearly exhausted:
        the sweep fails the inode-judged check and passes the plain one, with the same figures."""
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "df"
        blocks = f"{BLOCKS_HEAD}//nas/Team Share  976762584 97676258 879086326  10% /mnt/team share\n"
        inodes = f"{INODES_HEAD}//nas/Team Share  1000000 990000 10000  99% /mnt/team share\n"
        fake.write_text(
            f'#!/bin/sh\ncase "$2" in -i) printf %s "{inodes}";; *) printf %s "{blocks}";; esac\n'
        )
        fake.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
        server = await sim_server()
        params = {"check": "disk", "path": "/mnt/team share", "warn": 80, "crit": 95}
        sweep = await run_jobs(
            [
                (server.target(), server.spec(name="inodes", inodes=True, **params)),
                (server.target(), server.spec(name="blocks", **params)),
            ]
        )
        judged_inodes, plain = sweep.records
        assert judged_inodes["status"] == "fail" and judged_inodes["error"]["kind"] == "assertion"
        assert "inodes used 99%" in judged_inodes["error"]["message"]
        assert plain["status"] == "ok"
        for record in sweep.records:
            assert record["check"]["value"] == 10 and record["check"]["inodes"] == 99
            assert record["check"]["mount"] == "/mnt/team share"
