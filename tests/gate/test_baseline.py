"""`--baseline PREV.jsonl`: only failures new since the baseline count toward budgets; records say
new or still; a baseline that is not prober output is bad input before anything is probed."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.cli.conftest import Lab, probes, records
from tests.conftest import ROOT
from tests.gate.helpers import gate_of, sweep, write

SCHEMA = json.loads((ROOT / "prober" / "schema" / "result.schema.json").read_text())


def lab_with_a_recovering_and_a_breaking_host(lab: Lab) -> tuple[Path, Path]:
    """web: two healthy hosts, `old` down in both sweeps, `moved` healthy in the first sweep and down in
    the second (same name, its address moved to a dead one): the baseline and the new inventory."""
    lab.add("web", "http_ok", 2)
    up = list(lab.hosts["web"])
    dead = f"127.{lab.block}.9.1"
    first = {"web": [*up, ("old", f"127.{lab.block}.9.2"), ("moved", up[0][1])]}
    second = {"web": [*up, ("old", f"127.{lab.block}.9.2"), ("moved", dead)]}
    return write(lab, {"web": {}}, name="first.yaml", hosts=first), write(
        lab, {"web": {}}, name="second.yaml", hosts=second
    )


class TestGateOnChange:
    @pytest.mark.parametrize("workers", ["1", "2"])
    def test_only_new_failures_count(self, lab: Lab, tmp_path: Path, workers: str) -> None:
        """`old` fails in both sweeps (still), `moved` newly fails (new): with max_fail 1 the one new
        failing host is within budget (exit 0); the records say which is which, in one process and
        under --workers."""
        first, second = lab_with_a_recovering_and_a_breaking_host(lab)
        baseline = tmp_path / "prev.jsonl"
        assert sweep(str(first), "-o", str(baseline))[0].returncode == 2
        proc, lines = sweep(str(second), "--baseline", str(baseline), "--max-fail", "1", "--workers", workers)
        marks = {r["host"]: r.get("baseline") for r in probes(lines)}
        assert marks["old"] == "still" and marks["moved"] == "new"
        assert {marks[host] for host, _ in lab.hosts["web"]} == {None}  # ok records carry no mark
        web = gate_of(lines)["groups"]["web"]
        assert (web["failing_hosts"], web["counted"], web["passed"]) == (2, 1, True)
        assert gate_of(lines)["baseline"] == str(baseline)
        assert proc.returncode == 0
        assert "1 of 4 hosts newly failing (1 still failing)" in proc.stderr and "old (still)" in proc.stderr
        for line in lines:
            jsonschema.validate(line, SCHEMA)

    def test_a_still_failing_host_alone_passes_the_gate(self, lab: Lab, tmp_path: Path) -> None:
        """The same host down in the baseline and now, budget 0: without --baseline exit 2, with it 0."""
        first, _ = lab_with_a_recovering_and_a_breaking_host(lab)
        baseline = tmp_path / "prev.jsonl"
        sweep(str(first), "-o", str(baseline))
        assert sweep(str(first))[0].returncode == 2
        proc, lines = sweep(str(first), "--baseline", str(baseline))
        assert proc.returncode == 0 and gate_of(lines)["groups"]["web"]["counted"] == 0
        # The baseline is read whole before the output is opened: the same file can be both.
        proc, _ = sweep(str(first), "--baseline", str(baseline), "-o", str(baseline))
        assert proc.returncode == 0
        assert {r.get("baseline") for r in probes(records(baseline.read_text())) if r["error"]} == {"still"}

    def test_new_failures_over_budget_fail_the_gate(self, lab: Lab, tmp_path: Path) -> None:
        """A baseline where every host was ok: both failures are new, budget 0 → exit 2."""
        first, second = lab_with_a_recovering_and_a_breaking_host(lab)
        baseline = tmp_path / "prev.jsonl"
        sweep(str(first), "-o", str(baseline))
        text = baseline.read_text().replace('"status":"fail"', '"status":"ok"')
        ok_baseline = tmp_path / "all-ok.jsonl"
        ok_baseline.write_text("\n".join(
            json.dumps({**rec, "error": None}) if rec.get("status") == "ok" else json.dumps(rec)
            for rec in map(json.loads, text.splitlines())
        ) + "\n")  # fmt: skip
        proc, lines = sweep(str(second), "--baseline", str(ok_baseline))
        assert {r.get("baseline") for r in probes(lines) if r["status"] == "fail"} == {"new"}
        assert proc.returncode == 2


class TestBadBaseline:
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ('{"event":"plan","host":"h"}\n', "that is `prober plan` output"),
            ("hello\n", "not JSON"),
            ("", "the file is empty"),
            ('{"event":"probe","host":"h","probe":"p","group":"g","status":"fail","error":null}\n', "error"),
        ],
    )
    def test_not_prober_output_exits_3_before_probing(
        self, lab: Lab, tmp_path: Path, content: str, message: str
    ) -> None:
        """A baseline that is not prober output: exit 3 naming the file (and line), nothing probed."""
        lab.add("web", "http_ok", 1)
        bad = tmp_path / "bad.jsonl"
        bad.write_text(content)
        proc, _ = sweep(str(write(lab, {"web": {}})), "--baseline", str(bad))
        assert proc.returncode == 3 and proc.stdout == ""
        assert str(bad) in proc.stderr and message in proc.stderr
        assert "sweep starting" not in proc.stderr

    def test_missing_baseline_exits_3(self, lab: Lab, tmp_path: Path) -> None:
        """A baseline that does not exist: exit 3, 'cannot read', nothing probed."""
        lab.add("web", "http_ok", 1)
        proc, _ = sweep(str(write(lab, {"web": {}})), "--baseline", str(tmp_path / "nope.jsonl"))
        assert proc.returncode == 3 and proc.stdout == "" and "cannot read" in proc.stderr
