"""`prober sweep --prom-file PATH`: the sweep's records as Prometheus text, written whole at the end."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import Lab, no_traceback, popen_cli, probes, records
from tests.conftest import run_cli
from tests.sinks.promtext import series, value

PROMTOOL = shutil.which("promtool")


def sweep_prom(inventory: Path, prom: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    proc = run_cli("sweep", str(inventory), "-q", "--prom-file", str(prom), *flags, timeout=90)
    no_traceback(proc.stderr)
    return proc


class TestPromFile:
    @pytest.mark.parametrize("workers", ["1", "2"])
    def test_values_match_the_records(self, lab: Lab, tmp_path: Path, workers: str) -> None:
        """Each (host, probe) of the JSONL appears with its outcome (ok hosts 1, refused ones 0, status
        code, error kind), and the sweep metrics count what the sweep line counts; one process or two."""
        ok = lab.add("web", "http_ok", 6)
        down = lab.add("down", "refused", 3)
        prom = tmp_path / "prober.prom"
        proc = sweep_prom(lab.inventory(), prom, "--workers", workers)
        assert proc.returncode == 2
        lines = records(proc.stdout)
        got = series(prom.read_bytes())
        for record in probes(lines):
            expected = 1.0 if record["status"] == "ok" else 0.0
            assert value(got, "probe_success", host=record["host"], probe=record["probe"]) == expected
        assert {value(got, "probe_http_status_code", host=h) for h in ok} == {200.0}
        assert {value(got, "prober_probe_error_info", host=h, kind="refused") for h in down} == {1.0}
        assert value(got, "prober_sweep_probes", status="ok") == lines[-1]["counts"]["ok"] == 6
        assert value(got, "prober_sweep_probes", status="fail") == 3
        assert value(got, "prober_sweep_planned_probes") == 9
        assert value(got, "prober_sweep_exit_code") == 2
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp left

    @pytest.mark.skipif(PROMTOOL is None, reason="promtool missing (Debian package prometheus)")
    def test_promtool_accepts_it(self, lab: Lab, tmp_path: Path) -> None:
        """The file passes `promtool check metrics` (format and lint)."""
        lab.add("web", "http_ok", 2)
        lab.add("down", "refused", 1)
        prom = tmp_path / "prober.prom"
        sweep_prom(lab.inventory(), prom)
        assert PROMTOOL is not None
        check = subprocess.run(
            [PROMTOOL, "check", "metrics"], input=prom.read_bytes(), capture_output=True, timeout=30
        )
        assert check.returncode == 0, check.stdout + check.stderr

    def test_unusable_path_is_bad_input(self, lab: Lab, tmp_path: Path) -> None:
        """A --prom-file in a missing directory, or naming a directory: exit 3 naming it, nothing probed."""
        lab.add("web", "http_ok", 1)
        for bad in (tmp_path / "missing" / "x.prom", tmp_path):
            proc = sweep_prom(lab.inventory(), bad)
            assert proc.returncode == 3
            assert proc.stdout == ""
            assert f"{bad}: --prom-file:" in proc.stderr

    def test_rewritten_each_sweep(self, lab: Lab, tmp_path: Path) -> None:
        """A second sweep replaces the file: a host taken out of the inventory is gone from it."""
        names = lab.add("web", "http_ok", 2)
        prom = tmp_path / "prober.prom"
        sweep_prom(lab.inventory(), prom)
        assert value(prom.read_bytes(), "probe_success", host=names[1]) == 1
        lab.hosts["web"] = lab.hosts["web"][:1]
        sweep_prom(lab.inventory(), prom)
        assert value(prom.read_bytes(), "probe_success", host=names[0]) == 1
        assert value(prom.read_bytes(), "probe_success", host=names[1]) is None

    def test_write_failure_is_exit_2(self, lab: Lab, tmp_path: Path) -> None:
        """The path turned into a directory during the sweep: the records and sweep line are out, one
        error line names the file, no traceback, exit 2 (not the fleet's 0)."""
        lab.add("slow", "http_ok", 1, 1.5)
        prom = tmp_path / "prober.prom"
        proc = popen_cli("sweep", str(lab.inventory()), "--prom-file", str(prom))  # not -q: "sweep starting"
        assert proc.stderr is not None
        started = proc.stderr.readline()  # "sweep starting": past the check of the path
        assert b"sweep starting" in started, started
        prom.mkdir()
        out, err = proc.communicate(timeout=60)
        no_traceback(err)
        assert proc.returncode == 2, err
        assert records(out)[-1]["exit_code"] == 0
        assert b"cannot write the Prometheus file" in err
