"""`prober merge`: shard files that do not make one whole sweep are bad input (exit 3, naming the
file, nothing written); whole ones give one stream and one fleet-wide sweep line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import no_traceback, records
from tests.cli.hostile import free_port
from tests.conftest import run_cli

COUNT = 3


def _write_inventory(path: Path, block: int, port: int) -> Path:
    """30 hosts on 127.<block>.0.x where nothing listens (each probe refused at once), two groups."""
    path.write_text(
        "defaults: {timeout: 5s, retries: 0, concurrency: 64}\n"
        f"probes: {{up: {{type: tcp, port: {port}}}}}\n"
        "groups:\n"
        f'  a: {{probes: [up], max_fail: 100%, hosts: ["127.{block}.0.[1:20]"]}}\n'
        f'  b: {{probes: [up], max_fail: 5, hosts: ["127.{block}.1.[1:10]"]}}\n'
    )
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three shards of one inventory, shard 0/3 of another, 0/2 and an unsharded sweep."""
    import random

    work = tmp_path_factory.mktemp("merge")
    block = random.randint(100, 250)
    port = free_port(f"127.{block}.0.1")
    inventory = _write_inventory(work / "inv.yaml", block, port)
    other = _write_inventory(work / "other.yaml", block, port + 1)
    runs = {f"s{i}": (inventory, f"{i}/{COUNT}") for i in range(COUNT)}
    runs |= {"other0": (other, f"0/{COUNT}"), "half0": (inventory, "0/2"), "whole": (inventory, None)}
    files = {"inventory": inventory}
    for name, (path, shard) in runs.items():
        out = work / f"{name}.jsonl"
        proc = run_cli("sweep", str(path), "-q", "-o", str(out), *(["--shard", shard] if shard else []))
        assert proc.returncode in (0, 2), proc.stderr
        files[name] = out
    return files


def _merge(*paths: Path | str, out: Path | None = None) -> tuple[int, str]:
    args = [str(path) for path in paths] + (["-o", str(out)] if out else [])
    proc = run_cli("merge", *args)
    no_traceback(proc.stderr)
    return proc.returncode, proc.stderr


def _shards(made: dict[str, Path]) -> list[Path]:
    return [made[f"s{i}"] for i in range(COUNT)]


def _copy(made: dict[str, Path], tmp_path: Path, name: str, keep: int | None = None, cut: int = 0) -> Path:
    """A copy of a made file: its first `keep` lines (all by default), minus `cut` bytes at the end."""
    data = made[name].read_bytes()
    if keep is not None:
        data = b"".join(data.splitlines(keepends=True)[:keep])
    path = tmp_path / f"{name}-copy.jsonl"
    path.write_bytes(data[: len(data) - cut])
    return path


class TestRefused:
    def test_a_missing_shard(self, made: dict[str, Path], tmp_path: Path) -> None:
        """Shard 1/3 absent: named by its I/N, with the files given; -o is not even created."""
        out = tmp_path / "merged.jsonl"
        code, stderr = _merge(made["s0"], made["s2"], out=out)
        assert code == 3 and "shard 1/3: missing: no file given for it" in stderr, stderr
        assert str(made["s2"]) in stderr and not out.exists()

    def test_a_duplicated_shard(self, made: dict[str, Path], tmp_path: Path) -> None:
        """The same shard twice (a pod re-run, both files kept): the second file is named."""
        again = shutil.copy(made["s1"], tmp_path / "again.jsonl")
        code, stderr = _merge(*_shards(made), again)
        assert code == 3 and f"{again}: shard: 1/3 again: {made['s1']} is that shard too" in stderr, stderr
        code, stderr = _merge(*_shards(made), made["s2"])
        assert code == 3 and f"{made['s2']}: shard: 2/3 again: the file is given twice" in stderr, stderr

    def test_another_plan(self, made: dict[str, Path]) -> None:
        """Shard 0/3 of an inventory with another port: its fingerprint differs; the file is named."""
        code, stderr = _merge(made["other0"], made["s1"], made["s2"])
        assert code == 3 and "plan_fingerprint" in stderr and "another plan" in stderr, stderr
        assert str(made["other0"]) in stderr or str(made["s1"]) in stderr

    def test_other_shard_counts(self, made: dict[str, Path]) -> None:
        code, stderr = _merge(made["s0"], made["half0"])
        assert code == 3 and f"{made['half0']}: shard: 0/2, but" in stderr and "different counts" in stderr

    def test_cut_short_without_its_sweep_line(self, made: dict[str, Path], tmp_path: Path) -> None:
        """A pod killed after its last record but before the sweep line: the file is named."""
        lines = len(made["s1"].read_bytes().splitlines())
        cut = _copy(made, tmp_path, "s1", keep=lines - 1)
        code, stderr = _merge(made["s0"], cut, made["s2"])
        assert code == 3 and f"{cut}: no sweep line: the shard was cut short" in stderr, stderr

    def test_cut_inside_a_line(self, made: dict[str, Path], tmp_path: Path) -> None:
        cut = _copy(made, tmp_path, "s2", cut=40)
        code, stderr = _merge(made["s0"], made["s1"], cut)
        assert code == 3 and f"{cut}:" in stderr and "cut off" in stderr, stderr

    def test_a_record_missing(self, made: dict[str, Path], tmp_path: Path) -> None:
        """A probe record deleted (its sweep line kept): fewer records than the sweep planned."""
        lines = made["s0"].read_bytes().splitlines(keepends=True)
        path = tmp_path / "less.jsonl"
        path.write_bytes(b"".join(lines[1:]))
        code, stderr = _merge(path, made["s1"], made["s2"])
        assert code == 3 and f"{path}: planned: {len(lines) - 2} probe records, but the sweep" in stderr

    def test_two_sweeps_in_one_file(self, made: dict[str, Path], tmp_path: Path) -> None:
        """A file that holds shard 0 twice (`-o --append` of a re-run) is not one shard's output."""
        path = tmp_path / "appended.jsonl"
        path.write_bytes(made["s0"].read_bytes() * 2)
        code, stderr = _merge(path, made["s1"], made["s2"])
        second = len(made["s0"].read_bytes().splitlines()) + 1  # the first line of the second sweep
        assert code == 3 and f"{path}:{second}: event: a probe record after the sweep line" in stderr, stderr

    def test_lines_of_two_shards_in_one_file(self, made: dict[str, Path], tmp_path: Path) -> None:
        path = tmp_path / "mixed.jsonl"
        first_of_s1 = made["s1"].read_bytes().splitlines(keepends=True)[0]
        path.write_bytes(first_of_s1 + made["s0"].read_bytes())
        code, stderr = _merge(path, made["s1"], made["s2"])
        assert code == 3 and f"{path}:2: shard: 0/3" in stderr and "one file a shard" in stderr, stderr

    def test_not_a_shard(self, made: dict[str, Path]) -> None:
        """A sweep run without --shard cannot be placed in a set of shards."""
        code, stderr = _merge(made["whole"])
        assert code == 3, stderr
        assert f"{made['whole']}:1: shard: missing: not written by `prober sweep --shard`" in stderr

    def test_a_merged_file(self, made: dict[str, Path], tmp_path: Path) -> None:
        """merge's own output is not a shard: its sweep line says all/3."""
        merged = tmp_path / "merged.jsonl"
        assert _merge(*_shards(made), out=merged)[0] in (0, 2)
        code, stderr = _merge(merged)
        assert code == 3 and "all/3: already merged" in stderr, stderr

    def test_output_over_an_input(self, made: dict[str, Path], tmp_path: Path) -> None:
        """-o naming one of the shard files would destroy it: refused, the file intact."""
        copies = [shutil.copy(path, tmp_path / path.name) for path in _shards(made)]
        before = Path(copies[0]).read_bytes()
        code, stderr = _merge(*copies, out=Path(copies[0]))
        assert code == 3 and "is the input" in stderr and Path(copies[0]).read_bytes() == before


class TestMerged:
    def test_one_stream_one_sweep_line(self, made: dict[str, Path]) -> None:
        """Every shard's records once, in shard order, then one sweep line over the fleet: budgets
        applied to each group's hosts summed over the shards (a: 100% of 20 passes; b: 10 failing
        hosts against 5 allowed fails), exit 2 as the unsharded sweep."""
        proc = run_cli("merge", *map(str, _shards(made)))
        assert proc.returncode == 2, proc.stderr
        lines = records(proc.stdout)
        shard_order = [int(line["shard"].split("/")[0]) for line in lines[:-1]]
        assert shard_order == sorted(shard_order) and len(lines) == 31
        sweep, whole = lines[-1], records(made["whole"].read_text())[-1]
        assert sweep["gate"] == whole["gate"]
        assert sweep["counts"] == whole["counts"] == {"ok": 0, "warn": 0, "fail": 30}
        assert sweep["gate"]["groups"]["a"] | sweep["gate"]["groups"]["b"]  # both present
        assert (sweep["gate"]["groups"]["b"]["hosts"], sweep["gate"]["groups"]["b"]["allowed"]) == (10, 5)
        runs = [records(made[f"s{i}"].read_text())[-1]["run_id"] for i in range(COUNT)]
        assert sweep["shard_runs"] == runs and sweep["exit_code"] == 2
        assert "gate FAILED (exit 2)" in proc.stderr
        assert json.loads(proc.stdout.splitlines()[-1])["plan_fingerprint"] == lines[0]["plan_fingerprint"]

    def test_shards_without_hosts(self, tmp_path: Path, loopback_block: int) -> None:
        """One host over 3 shards: two shards plan nothing and write only their sweep line; the merge
        still needs all three and judges the one host."""
        port = free_port(f"127.{loopback_block}.0.1")
        inventory = tmp_path / "one.yaml"
        inventory.write_text(
            f"probes: {{up: {{type: tcp, port: {port}}}}}\n"
            f'groups: {{a: {{probes: [up], hosts: ["127.{loopback_block}.0.1"]}}}}\n'
        )
        files = []
        for index in range(COUNT):
            out = tmp_path / f"{index}.jsonl"
            proc = run_cli("sweep", str(inventory), "-q", "-o", str(out), "--shard", f"{index}/{COUNT}")
            assert proc.returncode == 0, proc.stderr
            files.append(out)
        sizes = sorted(len(path.read_text().splitlines()) for path in files)
        assert sizes == [1, 1, 2]
        assert _merge(*files[:2])[0] == 3
        proc = run_cli("merge", *map(str, files))
        sweep = records(proc.stdout)[-1]
        assert proc.returncode == 2 and sweep["planned"] == 1 and sweep["gate"]["groups"]["a"]["hosts"] == 1
