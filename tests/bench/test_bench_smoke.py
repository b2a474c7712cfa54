"""The benchmark smoke run: tiny sizes, every scenario, a table with computed ratios (no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.fleet import addresses
from bench.inventories import patterns
from bench.table import Row, render, set_ratios
from prober.inventory.ranges import expand
from tests.conftest import ROOT, cli_env

# The module's first test pays for the shared bench run (~9 s idle; the run gives up at 240 s).
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    """One `bench/run.py --scale 0.01` run shared by the tests of this module."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--scale",
            "0.01",
            "--repeat",
            "1",
            "--no-install",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=cli_env(),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc, json.loads(out.read_text())


class TestSmokeRun:
    def test_prints_a_row_per_tool_under_one_header(self, smoke: tuple) -> None:
        """The table has its header, the core count, and a row for each scenario's prober run."""
        proc, results = smoke
        assert "usable cores" in proc.stdout and "prober/peer" in proc.stdout
        scenarios = {row["scenario"].split()[0] for row in results["rows"]}
        assert scenarios == {
            "startup", "http", "tcp", "ssh", "knownhosts", "sshknown", "failfast", "memory", "watch",
            "validate", "explicit", "bigplan",
        }  # fmt: skip
        for row in results["rows"]:
            assert row["tool"] in proc.stdout

    def test_measured_peers_have_a_ratio_and_skipped_rows_a_reason(self, smoke: tuple) -> None:
        """Every peer row that ran has prober/peer computed; a row that could not run says why."""
        _, results = smoke
        peers = [
            r for r in results["rows"] if not r["tool"].startswith("prober") and r["scenario"] != "startup"
        ]
        assert peers
        for row in peers:
            if row["skipped"]:
                assert len(row["skipped"]) > 5
            else:
                assert row["ratio"] is not None and row["ratio"] > 0, row
                assert row["wall_s"] > 0 and row["cpu_s"] is not None

    def test_prober_reached_every_live_host(self, smoke: tuple) -> None:
        """prober's HTTP and TCP sweeps of the fleet report every host ok (the fleet is up)."""
        _, results = smoke
        for row in results["rows"]:
            if row["tool"].startswith("prober") and row["scenario"].split()[0] in ("http", "tcp"):
                assert row["ok"] == row["total"], row


class TestFallbacks:
    def test_without_nginx_the_python_http_fleet_serves_every_host(self, tmp_path: Path) -> None:
        """With --http-server python (what CI gets without nginx) every tool still reaches every host."""
        out = tmp_path / "results.json"
        args = [
            "--scale",
            "0.01",
            "--repeat",
            "1",
            "--no-install",
            "--only",
            "http",
            "--http-server",
            "python",
        ]
        proc = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "run.py"), *args, "--json", str(out)],
            capture_output=True, text=True, timeout=120, env=cli_env(), cwd=ROOT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        rows = json.loads(out.read_text())["rows"]
        assert "server: python" in rows[0]["note"]
        for row in rows:
            assert row["skipped"] or row["ok"] == row["total"], row


class TestPieces:
    def test_range_patterns_cover_exactly_the_fleet_addresses(self) -> None:
        """The inventory patterns expand to the same addresses, in order, that the fleet listens on."""
        for count, start in [(1, 0), (249, 3), (250, 0), (777, 0), (300, 240)]:
            expanded = [h for p in patterns(42, count, start) for h in expand(p)]
            assert expanded == addresses(42, count, start)

    def test_ratio_is_prober_wall_over_peer_wall(self) -> None:
        """The ratio column divides prober's wall time by each peer's, and the table prints it."""
        rows = [
            Row("http 1", "prober", wall_s=2.0),
            Row("http 1", "peer", wall_s=4.0),
            Row("http 1", "x", skipped="no"),
        ]
        set_ratios(rows, rows[0])
        assert rows[1].ratio == 0.5 and rows[0].ratio is None and rows[2].ratio is None
        assert "0.50x" in render(rows, "header") and "skipped: no" in render(rows, "header")
