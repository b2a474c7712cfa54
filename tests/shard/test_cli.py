"""`--shard I/N` and `auto/N` on sweep, plan and validate: bad values exit 3, every line is stamped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from prober.shard import owner
from tests.cli.conftest import no_traceback, records
from tests.cli.hostile import free_port
from tests.conftest import ROOT, run_cli

SCHEMA = json.loads((ROOT / "prober" / "schema" / "result.schema.json").read_text())
HOSTS = 40


def _inventory(tmp_path: Path, block: int, port: int, name: str = "inv.yaml", probe_port: int = 0) -> Path:
    """Two groups of hosts on 127.<block>.0.x where nothing listens: every probe is refused at once."""
    path = tmp_path / name
    path.write_text(
        "defaults: {timeout: 5s, retries: 0, concurrency: 64}\n"
        f"probes: {{up: {{type: tcp, port: {probe_port or port}}}}}\n"
        "groups:\n"
        f'  a: {{probes: [up], max_fail: 50%, hosts: ["127.{block}.0.[1:{HOSTS // 2}]"]}}\n'
        f'  b: {{probes: [up], hosts: ["127.{block}.1.[1:{HOSTS // 2}]"]}}\n'
    )
    return path


@pytest.fixture
def inventory(tmp_path: Path, loopback_block: int) -> Path:
    return _inventory(tmp_path, loopback_block, free_port(f"127.{loopback_block}.0.1"))


def _lines(stdout: str) -> list[dict[str, Any]]:
    return records(stdout)


class TestBadShards:
    @pytest.mark.parametrize("command", ["sweep", "plan", "validate"])
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("4/4", "shard index 4 is not below the shard count 4"),
            ("1/0", "between 1 and"),
            ("x/3", "expected I/N"),
            ("1/3/4", "expected I/N"),
            ("auto/3", "$JOB_COMPLETION_INDEX (set in each pod of a Kubernetes Indexed Job), which is not"),
        ],
    )
    def test_exit_3_saying_why(self, inventory: Path, command: str, value: str, message: str) -> None:
        """A bad --shard is bad input: exit 3, one message naming what is wrong, nothing on stdout."""
        proc = run_cli(command, str(inventory), "--shard", value)
        assert proc.returncode == 3, proc.stderr
        assert message in proc.stderr and "--shard" in proc.stderr
        assert proc.stdout == ""
        no_traceback(proc.stderr)

    def test_auto_with_a_bad_index(self, inventory: Path) -> None:
        """A completion index that is not a number, or too big for N, is named with its value."""
        for index, message in (("one", "got 'one'"), ("3", "shard index 3 is not below the shard count 3")):
            proc = run_cli("plan", str(inventory), "--shard", "auto/3", env={"JOB_COMPLETION_INDEX": index})
            assert proc.returncode == 3 and message in proc.stderr, proc.stderr

    def test_nagios_on_a_shard_is_refused(self, inventory: Path) -> None:
        """A Nagios check of a part of the fleet has no meaning: refused before anything is probed."""
        proc = run_cli("sweep", str(inventory), "--shard", "0/2", "--nagios")
        assert proc.returncode == 3 and "--nagios" in proc.stderr and "prober merge" in proc.stderr


class TestPlan:
    def test_shards_cover_the_plan_with_one_fingerprint(self, inventory: Path) -> None:
        """The shards' plans are disjoint and together the whole plan; every line carries its shard and
        the one fingerprint; auto/N with $JOB_COMPLETION_INDEX=I is I/N."""
        whole = _lines(run_cli("plan", str(inventory)).stdout)
        assert all("shard" not in line for line in whole)  # unsharded output is unchanged
        seen, fingerprints = [], set()
        for index in range(3):
            env = {"JOB_COMPLETION_INDEX": str(index)}
            proc = run_cli("plan", str(inventory), "--shard", "auto/3", env=env)
            assert proc.returncode == 0, proc.stderr
            lines = _lines(proc.stdout)
            assert {line["shard"] for line in lines} == {f"{index}/3"}
            assert all(owner(line["host"], 3) == index for line in lines)
            fingerprints |= {line["plan_fingerprint"] for line in lines}
            seen += [(line["host"], line["probe"]) for line in lines]
        assert sorted(seen) == sorted((line["host"], line["probe"]) for line in whole)
        assert len(fingerprints) == 1

    def test_fingerprint_follows_the_inventory(self, tmp_path: Path, loopback_block: int) -> None:
        """Another port in a probe, another budget or another host: another fingerprint."""
        port = free_port(f"127.{loopback_block}.0.1")
        base = _inventory(tmp_path, loopback_block, port)
        variants = [
            _inventory(tmp_path, loopback_block, port, "port.yaml", probe_port=port + 1),
            tmp_path / "budget.yaml",
            tmp_path / "host.yaml",
        ]
        variants[1].write_text(base.read_text().replace("max_fail: 50%", "max_fail: 40%"))
        variants[2].write_text(base.read_text().replace(f".1.[1:{HOSTS // 2}]", f".1.[1:{HOSTS // 2 + 1}]"))

        def fingerprint(path: Path) -> str:
            proc = run_cli("plan", str(path), "--shard", "1/2")
            return str(_lines(proc.stdout)[0]["plan_fingerprint"])

        digests = [fingerprint(path) for path in (base, *variants)]
        assert len(set(digests)) == 4, digests

    def test_validate_counts_the_shard_and_prints_the_fingerprint(self, inventory: Path) -> None:
        """validate checks the whole plan and says how much of it the shard holds, with the fingerprint."""
        planned = run_cli("plan", str(inventory), "--shard", "2/3")
        mine = _lines(planned.stdout)
        proc = run_cli("validate", str(inventory), "--shard", "2/3")
        assert proc.returncode == 0, proc.stderr
        fingerprint = mine[0]["plan_fingerprint"]
        counted = f"{len(mine)} planned probes in shard 2/3 (of {HOSTS})"
        assert f"{counted}; plan_fingerprint {fingerprint}" in proc.stderr


class TestSweep:
    def test_every_line_is_stamped_and_valid(self, inventory: Path) -> None:
        """Probe records and the sweep line carry the shard and the plan's fingerprint (the one `plan`
        prints), and validate against the published schema."""
        proc = run_cli("sweep", str(inventory), "--shard", "1/2")
        no_traceback(proc.stderr)
        lines = _lines(proc.stdout)
        planned = _lines(run_cli("plan", str(inventory), "--shard", "1/2").stdout)
        assert len(lines) == len(planned) + 1 and lines[-1]["event"] == "sweep"
        for line in lines:
            jsonschema.validate(line, SCHEMA)
            assert line["shard"] == "1/2"
            assert line["plan_fingerprint"] == planned[0]["plan_fingerprint"]
        assert sorted(r["host"] for r in lines[:-1]) == sorted(p["host"] for p in planned)

    def test_a_shard_of_several_exits_0_with_failing_hosts(self, inventory: Path) -> None:
        """Every host fails, so the gate fails; one shard of two cannot judge the fleet, so it exits 0
        (an Indexed Job would otherwise re-run the pod), says so, and keeps its own counts for merge.
        The same sweep as shard 0/1 is the whole fleet: exit 2, as without --shard."""
        proc = run_cli("sweep", str(inventory), "--shard", "0/2")
        assert proc.returncode == 0, proc.stderr
        sweep = _lines(proc.stdout)[-1]
        assert sweep["exit_code"] == 0 and sweep["gate"]["passed"] is False
        assert "shard 0/2: no verdict here" in proc.stderr
        whole = run_cli("sweep", str(inventory), "--shard", "0/1")
        assert whole.returncode == 2 and _lines(whole.stdout)[-1]["exit_code"] == 2


class TestTee:
    @pytest.mark.parametrize("workers", ["1", "2"])
    def test_the_file_gets_what_stdout_gets(self, inventory: Path, tmp_path: Path, workers: str) -> None:
        """--tee FILE: the same bytes as stdout, sweep line included (one process or two workers)."""
        copy = tmp_path / "copy.jsonl"
        proc = run_cli("sweep", str(inventory), "--shard", "0/2", "--tee", str(copy), "--workers", workers)
        assert proc.returncode == 0, proc.stderr
        assert copy.read_text() == proc.stdout and _lines(proc.stdout)[-1]["event"] == "sweep"
        assert {line["shard"] for line in _lines(proc.stdout)} == {"0/2"}  # records made in the workers too

    def test_a_full_disk_fails_the_outputs_not_the_probes(self, inventory: Path) -> None:
        """A copy that cannot be written (ENOSPC) is exit 2 naming the file; stdout still gets every line."""
        proc = run_cli("sweep", str(inventory), "--shard", "0/2", "--tee", "/dev/full")
        assert proc.returncode == 2, proc.stderr
        assert "/dev/full" in proc.stderr and "the copy is incomplete" in proc.stderr
        lines = _lines(proc.stdout)
        assert lines[-1]["event"] == "sweep" and len(lines) == lines[-1]["planned"] + 1

    def test_an_unwritable_place_is_bad_input(self, inventory: Path, tmp_path: Path) -> None:
        proc = run_cli("sweep", str(inventory), "--tee", str(tmp_path / "none" / "x.jsonl"))
        assert proc.returncode == 3 and "--tee: directory" in proc.stderr and proc.stdout == ""
