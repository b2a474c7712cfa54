"""The textfile written by the Prometheus sink, read back through a real node_exporter on loopback."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from prober.model import Status
from prober.sinks.prom import PromMetrics
from tests.sinks.promtext import Series, record, series, value

BINARY = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
pytestmark = pytest.mark.skipif(
    BINARY is None, reason="node_exporter missing (Debian package prometheus-node-exporter)"
)
TRICKY = 'quote " back \\ newline \n unicode ✓ ünï 日本'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def node_exporter(directory: Path, log: Path) -> Iterator[str]:
    """node_exporter with only the textfile collector, on a free loopback port; yields its /metrics URL."""
    assert BINARY is not None
    for _ in range(5):  # a port taken between picking and binding: try another
        port = _free_port()
        with open(log, "wb") as errors:
            process = subprocess.Popen(
                [
                    BINARY,
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--collector.disable-defaults",
                    "--collector.textfile",
                    f"--collector.textfile.directory={directory}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            if _wait_ready(process, url):
                yield url
                return
        finally:
            process.terminate()
            process.wait(timeout=10)
    pytest.fail(f"node_exporter did not start: {log.read_text()[-2000:]}")


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            scrape(url)
            return True
        time.sleep(0.05)
    return False


def scrape(url: str) -> Series:
    with urllib.request.urlopen(url, timeout=10) as response:
        return series(response.read())


def fleet() -> PromMetrics:
    metrics = PromMetrics()
    metrics.update(record("ok01", status_code=200, labels={"dc": "eu-1"}))
    metrics.update(record("bad01", status=Status.FAIL, error="refused", labels={"dc": "eu-1"}))
    metrics.update(record("odd01", status_code=200, labels={"note": TRICKY, "team-name": "a"}))
    metrics.sweep(
        {
            "event": "sweep",
            "run_id": "20261127T072918Z-5bb35cb6",
            "planned": 3,
            "counts": {"ok": 2, "warn": 0, "fail": 1},
            "by_group": {},
            "errors": {"refused": 1},
            "duration_ms": 250.0,
            "exit_code": 2,
        }
    )
    return metrics


class TestNodeExporterTextfile:
    def test_values_read_back(self, tmp_path: Path) -> None:
        """node_exporter parses the file without error; success is 1 for the ok host and 0 for the failing
        one; label values with quotes, backslashes, newlines and unicode come back unchanged."""
        directory = tmp_path / "textfile"
        directory.mkdir()
        fleet().write_textfile(directory / "prober.prom")
        with node_exporter(directory, tmp_path / "node_exporter.log") as url:
            got = scrape(url)
        assert value(got, "node_textfile_scrape_error") == 0
        assert value(got, "probe_success", host="ok01", dc="eu-1") == 1
        assert value(got, "probe_success", host="bad01") == 0
        assert value(got, "prober_probe_error_info", host="bad01", kind="refused") == 1
        assert value(got, "probe_success", host="odd01", note=TRICKY, team_name="a") == 1
        assert value(got, "probe_http_status_code", host="ok01") == 200
        assert value(got, "prober_sweep_probes", status="fail") == 1
        assert value(got, "prober_sweeps_total") == 1

    def test_rewrites_are_seen_whole(self, tmp_path: Path) -> None:
        """Each atomic rewrite replaces what node_exporter serves: a recovered host reads 1, a retired
        probe disappears, no temporary file stays, and scrapes running during rewrites see whole files."""
        directory = tmp_path / "textfile"
        directory.mkdir()
        metrics = fleet()
        for index in range(200):  # a file of ~200 KB, so a torn write would be caught mid-way
            metrics.update(record(f"filler{index:03d}", labels={"note": "x" * 200}))
        target = directory / "prober.prom"
        metrics.write_textfile(target)
        with node_exporter(directory, tmp_path / "node_exporter.log") as url:
            assert value(scrape(url), "probe_success", host="bad01") == 0
            seen: list[int] = []
            stop = threading.Event()

            def scraper() -> None:  # counts lines only: parsing every scrape would slow the writer down
                while not stop.is_set():
                    with urllib.request.urlopen(url, timeout=10) as response:
                        text = response.read().decode()
                    whole = "\nnode_textfile_scrape_error 0\n" in text
                    seen.append(text.count("\nprobe_success{") if whole else -1)

            thread = threading.Thread(target=scraper)
            thread.start()
            try:
                for round_ in range(15):
                    metrics.update(record("bad01", latency=float(round_), labels={"dc": "eu-1"}))
                    metrics.write_textfile(target)
                    got = scrape(url)
                    assert value(got, "probe_duration_seconds", host="bad01") == pytest.approx(round_ / 1000)
            finally:
                stop.set()
                thread.join(timeout=30)
            assert seen and set(seen) == {203}, set(seen)
            assert value(got, "probe_success", host="bad01") == 1
            metrics.retain({("ok01", "health"), ("bad01", "health")})
            metrics.write_textfile(target)
            got = scrape(url)
        assert value(got, "probe_success", host="odd01") is None
        assert value(got, "probe_success", host="ok01") == 1
        assert sorted(os.listdir(directory)) == ["prober.prom"]
        assert (target.stat().st_mode & 0o777) == 0o644
