"""A Kubernetes Indexed Job, simulated: N `prober sweep --shard auto/N` processes, each with its
$JOB_COMPLETION_INDEX, against loopback servers, then `prober merge`: the same records and the same
verdict and exit code as one unsharded `prober sweep` of the same inventory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.cli.conftest import Lab, no_traceback, records
from tests.conftest import ROOT, cli_env, run_cli

SCHEMA = json.loads((ROOT / "prober" / "schema" / "result.schema.json").read_text())
# What differs between two runs of the same plan, or says which process wrote a line.
PER_RUN = {"ts", "latency_ms", "run_id", "shard", "plan_fingerprint"}
SWEEP_PER_RUN = PER_RUN | {"duration_ms", "loop_lag_max_ms", "shard_runs"}


def _fleet(lab: Lab, web_budget: str, db_budget: str) -> Path:
    """web: 14 healthy HTTP hosts and 3 refusing; db: 8 healthy TCP hosts, 2 refusing, 1 resetting.
    Each group's budget decides the verdict over all of its hosts, which no single shard sees."""
    lab.add("web", "http_ok", 14)
    lab.add("web", "refused", 3)
    lab.add("db", "http_ok", 8, probe="tcp")
    lab.add("db", "refused", 2, probe="tcp")
    path = lab.inventory(timeout="10s")  # healthy hosts answer in ms; a loaded machine must not fail them
    text = path.read_text()
    for group, probe, budget in (("web", "web", web_budget), ("db", "tcp", db_budget)):
        listed = f"  {group}:\n    probes: [{probe}]"
        text = text.replace(listed, f"  {group}:\n    max_fail: {json.dumps(budget)}\n    probes: [{probe}]")
    path.write_text(text)
    return path


def _indexed_job(inventory: Path, count: int, out: Path) -> list[Path]:
    """Start the N pods at once, as Kubernetes does; each writes its file; all must exit 0."""
    files = [out / f"shard-{index}.jsonl" for index in range(count)]
    pods = [
        subprocess.Popen(
            [sys.executable, "-m", "prober", "sweep", str(inventory), "--shard", f"auto/{count}", "-o", path],
            env=cli_env({"JOB_COMPLETION_INDEX": str(index)}),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for index, path in enumerate(files)
    ]
    for pod in pods:
        _, stderr = pod.communicate(timeout=90)
        no_traceback(stderr)
        assert pod.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return files


def _probe_records(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    probes = [line for line in lines if line["event"] == "probe"]
    found = [{k: v for k, v in line.items() if k not in PER_RUN} for line in probes]
    return sorted(found, key=lambda record: (record["host"], record["probe"]))


def _sweep(lines: list[dict[str, Any]]) -> dict[str, Any]:
    assert lines[-1]["event"] == "sweep" and sum(line["event"] == "sweep" for line in lines) == 1
    return {k: v for k, v in lines[-1].items() if k not in SWEEP_PER_RUN}


class TestIndexedJob:
    @pytest.mark.timeout(240)
    @pytest.mark.parametrize(
        ("web_budget", "db_budget", "code"),
        [("20%", "2", 0), ("20%", "1", 2), ("10%", "2", 2)],
        ids=["passes", "db-over-budget", "web-over-budget"],
    )
    def test_merge_equals_one_sweep(
        self, lab: Lab, tmp_path: Path, web_budget: str, db_budget: str, code: int
    ) -> None:
        """Three pods and a merge give what one sweep gives: the records (apart from per-run fields),
        the counts, the gate per group (hosts, failing hosts, budget, allowed) and the exit code. With
        web at 20% of 17 hosts (3 allowed, 3 failing) the fleet passes, though a shard holding 2 of
        web's failing hosts among 6 would fail its own 20% (1 allowed)."""
        inventory = _fleet(lab, web_budget, db_budget)
        single = run_cli("sweep", str(inventory), timeout=90)
        no_traceback(single.stderr)
        assert single.returncode == code, single.stderr[-2000:]
        files = _indexed_job(inventory, 3, tmp_path)
        merged_path = tmp_path / "merged.jsonl"
        merge = run_cli("merge", *map(str, files), "-o", str(merged_path))
        no_traceback(merge.stderr)
        assert merge.returncode == code, merge.stderr[-2000:]
        one, merged = records(single.stdout), records(merged_path.read_text())
        assert _probe_records(merged) == _probe_records(one)
        assert _sweep(merged) == _sweep(one)
        assert merged[-1]["shard"] == "all/3" and len(merged[-1]["shard_runs"]) == 3
        for line in merged:
            jsonschema.validate(line, SCHEMA)
        statuses = {r["host"]: r["status"] for r in merged if r["event"] == "probe"}
        assert sorted(statuses.values()).count("fail") == 5  # the fixture is what the test says it is

    @pytest.mark.timeout(240)
    def test_each_pod_holds_its_share(self, lab: Lab, tmp_path: Path) -> None:
        """Each pod probed only its own hosts, every host once, and all pods name one plan."""
        inventory = _fleet(lab, "20%", "2")
        files = _indexed_job(inventory, 4, tmp_path)
        hosts: list[str] = []
        fingerprints = set()
        for index, path in enumerate(files):
            lines = records(path.read_text())
            assert {line["shard"] for line in lines} == {f"{index}/4"}
            fingerprints |= {line["plan_fingerprint"] for line in lines}
            hosts += [line["host"] for line in lines if line["event"] == "probe"]
        assert len(hosts) == len(set(hosts)) == 27
        assert len(fingerprints) == 1
        assert os.path.getsize(files[0]) > 0
