"""`prober watch` as a process: /metrics and /healthz after each sweep, -o appending, stopping, reloading."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli.hostile import free_port
from tests.sinks.promtext import series, value
from tests.watch.conftest import RecordingServers, gunzip, inventory

PROMTOOL = shutil.which("promtool")


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def by_sweep(lines: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Lines grouped by run_id in file order; fails if one sweep's lines are not contiguous."""
    groups: list[list[dict[str, Any]]] = []
    for line in lines:
        if not groups or groups[-1][0]["run_id"] != line["run_id"]:
            assert all(g[0]["run_id"] != line["run_id"] for g in groups), "a sweep's lines are split"
            groups.append([])
        groups[-1].append(line)
    return groups


@pytest.fixture
def fleet(servers: RecordingServers, loopback_block: int, tmp_path: Path) -> tuple[Path, list[str], str]:
    """Three healthy hosts and one refused one; (inventory, healthy, refused)."""
    port = free_port(f"127.{loopback_block}.0.1")
    ok = [f"127.{loopback_block}.0.{i}" for i in (1, 2, 3)]
    for address in ok:
        servers.serve(address, port)
    down = f"127.{loopback_block}.0.9"
    path = inventory(tmp_path / "inventory.yaml", port, {"web": [*ok, down]})
    return path, ok, down


class TestMetricsAndHealth:
    def test_latest_results_served(self, watch_process: Any, fleet: Any) -> None:
        """/metrics has every probe's latest result (1 for the healthy hosts, 0 for the refused one,
        its error kind) and the sweep and watch metrics; it passes promtool; /healthz is ok."""
        path, ok, down = fleet
        watch = watch_process(path, "--interval", "0.3s")
        watch.wait_sweeps(2)
        got = watch.metrics()
        assert [value(got, "probe_success", host=h) for h in ok] == [1.0, 1.0, 1.0]
        assert value(got, "probe_success", host=down) == 0.0
        assert value(got, "prober_probe_error_info", host=down, kind="refused") == 1.0
        assert value(got, "prober_sweep_probes", status="ok") == 3
        assert value(got, "prober_sweeps_total") >= 2
        assert value(got, "prober_watch_interval_seconds") == 0.3
        assert value(got, "prober_watch_planned_probes") == 4
        health = watch.get("/healthz")
        assert health.status == 200
        assert health.json()["status"] == "ok"
        assert health.json()["sweeps"] >= 2
        if PROMTOOL is not None:
            body = watch.get("/metrics").body
            check = subprocess.run(
                [PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=30
            )
            assert check.returncode == 0, check.stdout + check.stderr

    def test_gzip_when_asked(self, watch_process: Any, fleet: Any) -> None:
        """Asked for gzip (as Prometheus asks), /metrics is gzipped and decodes to the same series."""
        path, ok, _ = fleet
        watch = watch_process(path, "--interval", "30s")
        watch.wait_sweeps(1)
        plain = watch.get("/metrics")
        zipped = watch.get("/metrics", **{"Accept-Encoding": "gzip"})
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert plain.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert len(zipped.body) < len(plain.body)
        a, b = series(plain.body), series(gunzip(zipped.body))
        assert {k: v for k, v in a.items() if k[0].startswith("probe_")} == {
            k: v for k, v in b.items() if k[0].startswith("probe_")
        }
        assert value(b, "probe_success", host=ok[0]) == 1.0

    def test_starting_before_the_first_sweep(self, watch_process: Any, servers: RecordingServers,
                                             loopback_block: int, tmp_path: Path) -> None:  # fmt: skip
        """While the first sweep runs, /healthz answers 200 `starting` and /metrics has no probe yet."""
        port = free_port(f"127.{loopback_block}.0.1")
        servers.serve(f"127.{loopback_block}.0.1", port, delay=3.0)
        path = inventory(tmp_path / "slow.yaml", port, {"web": [f"127.{loopback_block}.0.1"]}, timeout="10s")
        watch = watch_process(path, "--interval", "30s")
        health = watch.get("/healthz")
        assert (health.status, health.json()["status"]) == (200, "starting")
        assert value(watch.metrics(), "probe_success") is None
        assert value(watch.metrics(), "prober_watch_sweep_running") == 1.0


class TestOutput:
    def test_each_sweep_appended(self, watch_process: Any, fleet: Any, tmp_path: Path) -> None:
        """-o appends: what the file held stays, then each sweep's records (one per planned probe),
        each followed by its sweep line."""
        path, _, _ = fleet
        out = tmp_path / "results.jsonl"
        out.write_text('{"event": "sweep", "run_id": "before"}\n')
        watch = watch_process(path, "--interval", "0.2s", "-o", str(out))
        watch.wait_sweeps(3)
        assert watch.stop()[0] == 0
        lines = jsonl(out)
        assert lines[0]["run_id"] == "before"
        sweeps = by_sweep(lines[1:])
        assert len(sweeps) >= 3
        for sweep in sweeps:
            assert [line["event"] for line in sweep] == ["probe"] * 4 + ["sweep"]
            assert sweep[-1]["counts"] == {"ok": 3, "warn": 0, "fail": 1}


class TestStop:
    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
    def test_stop_mid_sweep(self, watch_process: Any, servers: RecordingServers, loopback_block: int,
                            tmp_path: Path, signum: int) -> None:  # fmt: skip
        """A stop signal while probes hang (timeout 20 s): exit 0 within a second or so, the hung probes
        recorded as `cancelled`, the others as they ended, the sweep line last (stopped: cancelled)."""
        port = free_port(f"127.{loopback_block}.0.1")
        hung = [f"127.{loopback_block}.0.{i}" for i in (1, 2)]
        for address in hung:
            servers.serve(address, port, delay=None)
        quick = f"127.{loopback_block}.0.3"
        servers.serve(quick, port)
        path = inventory(tmp_path / "hung.yaml", port, {"web": [*hung, quick]}, timeout="20s")
        out = tmp_path / "results.jsonl"
        watch = watch_process(path, "--interval", "30s", "-o", str(out))
        watch.wait_for("the hung requests", lambda: len(servers.arrivals.times) >= 3)
        code, took = watch.stop(signum)
        assert code == 0, watch.stderr()[-2000:]
        assert took < 5, took  # far within the probes' 20 s timeout
        (sweep,) = by_sweep(jsonl(out))
        status = {line["host"]: (line["status"], (line["error"] or {}).get("kind")) for line in sweep[:-1]}
        assert status == {hung[0]: ("fail", "cancelled"), hung[1]: ("fail", "cancelled"), quick: ("ok", None)}
        assert sweep[-1]["stopped"] == "cancelled"
        assert "Traceback" not in watch.stderr()

    def test_stop_between_sweeps(self, watch_process: Any, fleet: Any) -> None:
        """Stopped while waiting for the next tick: exit 0 at once."""
        path, _, _ = fleet
        watch = watch_process(path, "--interval", "60s")
        watch.wait_sweeps(1)
        code, took = watch.stop()
        assert code == 0
        assert took < 5, took


class TestReload:
    def test_sighup_swaps_the_inventory(self, watch_process: Any, fleet: Any, tmp_path: Path) -> None:
        """SIGHUP with a changed file: the next sweeps use it; a host taken out leaves /metrics."""
        path, ok, down = fleet
        watch = watch_process(path, "--interval", "0.2s")
        watch.wait_sweeps(1)
        text = path.read_text()
        path.write_text(text.replace(f'      - "{down}"\n', ""))
        watch.send(signal.SIGHUP)
        watch.wait_for("the reload", lambda: watch.logs("inventory reloaded"))
        watch.wait_for(
            "the host to leave /metrics", lambda: value(watch.metrics(), "probe_success", host=down) is None
        )
        got = watch.metrics()
        assert value(got, "probe_success", host=ok[0]) == 1.0
        assert value(got, "prober_watch_planned_probes") == 3
        assert value(got, "prober_watch_reloads_total", result="success") == 1

    def test_bad_inventory_keeps_the_old_one(self, watch_process: Any, fleet: Any) -> None:
        """SIGHUP with a broken file: the error is logged with file:line, counted, /healthz still 200 but
        says so, and sweeps go on with the previous inventory."""
        path, ok, _ = fleet
        watch = watch_process(path, "--interval", "0.2s")
        watch.wait_sweeps(1)
        good = path.read_text()
        path.write_text(good.replace("type: http", "type: htp"))
        watch.send(signal.SIGHUP)
        (failed,) = watch.wait_for(
            "the failed reload",
            lambda: watch.logs("inventory reload failed; still using the previous inventory"),
        )
        assert failed["problems"][0].startswith(f"{path}:")
        assert "unknown probe type 'htp'" in failed["problems"][0]
        before = watch.sweeps()
        watch.wait_sweeps(before + 2)
        got = watch.metrics()
        assert value(got, "probe_success", host=ok[0]) == 1.0
        assert value(got, "prober_watch_reloads_total", result="failure") == 1
        assert value(got, "prober_watch_last_reload_successful") == 0
        health = watch.get("/healthz")
        assert health.status == 200
        assert health.json()["reload"]["ok"] is False
        assert "unknown probe type" in health.json()["reload"]["error"]
        path.write_text(good)  # fixed: the next reload clears the error
        watch.send(signal.SIGHUP)
        watch.wait_for("the good reload", lambda: watch.logs("inventory reloaded"))
        assert watch.get("/healthz").json()["reload"] == {"ok": True, "error": None}

    def test_refresh_reads_the_file_again(self, watch_process: Any, fleet: Any) -> None:
        """With --refresh, a change is picked up without a signal."""
        path, _, down = fleet
        watch = watch_process(path, "--interval", "0.2s", "--refresh", "0.5s")
        watch.wait_sweeps(1)
        path.write_text(path.read_text().replace(f'      - "{down}"\n', ""))
        watch.wait_for(
            "the host to leave /metrics", lambda: value(watch.metrics(), "probe_success", host=down) is None
        )
