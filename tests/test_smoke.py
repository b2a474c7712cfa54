"""Smoke: the CLI starts, reports its version, and the demo fleet sweep runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import ROOT, run_cli

SCHEMA = json.loads((ROOT / "prober" / "schema" / "result.schema.json").read_text())


@pytest.mark.timeout(180)  # each demo run takes ~6-10 s idle; run_cli gives up at 120 s
class TestSmoke:
    def test_version(self) -> None:
        """`prober --version` prints the version and exits 0."""
        proc = run_cli("--version")
        assert proc.returncode == 0
        assert proc.stdout.startswith("prober ")

    def test_demo_sweeps_the_simulated_fleet(self, tmp_path: Path) -> None:
        """The demo probes 200 hosts (SSH hosts also get disk and load checks), one record per planned
        probe plus a sweep line, exits 2 (the fleet fails some hosts by design), and writes an HTML
        report of the sweep, saying where."""
        report = tmp_path / "demo.html"
        proc = run_cli("demo", "--report", str(report))
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        probes = [rec for rec in lines if rec["event"] == "probe"]
        assert len({rec["host"] for rec in probes}) == 200
        ssh_hosts = {rec["host"] for rec in probes if rec["type"] == "ssh"}
        assert len(probes) == lines[-1]["planned"] == 200 + 2 * len(ssh_hosts)
        checks = [rec for rec in probes if "check" in rec]
        assert {rec["check"]["name"] for rec in checks} == {"disk", "load"}
        assert any(rec["status"] == "ok" for rec in checks)
        assert lines[-1]["event"] == "sweep"
        assert lines[-1]["counts"]["fail"] > 0 and lines[-1]["counts"]["ok"] > 50
        assert {rec["type"] for rec in probes} == {"http", "tcp", "ssh"}
        assert proc.returncode == 2
        assert f"prober demo: HTML report: {report} (open it in a browser)" in proc.stderr
        page = report.read_text()
        assert page.startswith("<!DOCTYPE html>") and next(r["host"] for r in probes if r["error"]) in page

    def test_demo_refuses_an_unwritable_report_first(self, tmp_path: Path) -> None:
        """A report path in a missing directory: exit 3 before any fleet starts."""
        proc = run_cli("demo", "--report", str(tmp_path / "missing" / "r.html"))
        assert proc.returncode == 3 and proc.stdout == "" and "--report: directory" in proc.stderr

    def test_demo_output_matches_the_published_schema(self, tmp_path: Path) -> None:
        """Every line the demo writes validates against prober/schema/result.schema.json."""
        proc = run_cli("demo", "--hosts", "60", "--report", str(tmp_path / "demo.html"))
        lines = proc.stdout.splitlines()
        assert len(lines) == json.loads(lines[-1])["planned"] + 1 > 60
        for line in lines:
            jsonschema.validate(json.loads(line), SCHEMA)
        assert len({json.loads(line)["run_id"] for line in lines}) == 1
