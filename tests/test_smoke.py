"""Smoke: the CLI starts, reports its version, and the demo fleet sweep runs end to end."""

from __future__ import annotations

import json

from tests.conftest import run_cli


class TestSmoke:
    def test_version(self) -> None:
        """`prober --version` prints the version and exits 0."""
        proc = run_cli("--version")
        assert proc.returncode == 0
        assert proc.stdout.startswith("prober ")

    def test_demo_sweeps_the_simulated_fleet(self) -> None:
        """The demo probes 200 hosts, one record each plus a sweep line, and exits 2 (it has failures)."""
        proc = run_cli("demo")
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        probes = [rec for rec in lines if rec["event"] == "probe"]
        assert len(probes) == 200
        assert lines[-1]["event"] == "sweep"
        assert lines[-1]["counts"]["fail"] > 0 and lines[-1]["counts"]["ok"] > 100
        assert {rec["type"] for rec in probes} == {"http", "tcp", "ssh"}
        assert proc.returncode == 2
