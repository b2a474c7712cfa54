"""A real Prometheus server scrapes `prober watch`: /metrics directly, and /probe with the relabeling a
blackbox_exporter setup uses (__param_target, instance, __address__ → the exporter); the test reads
probe_success back through Prometheus' HTTP API."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.hostile import free_port
from tests.watch.conftest import RecordingServers, http_get, inventory

PROMETHEUS = shutil.which("prometheus") or (
    "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
)
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus missing (Debian package prometheus)")


def config(prober: str, targets: list[str]) -> str:
    """Two jobs: prober's own /metrics, and blackbox-style /probe scrapes, relabeled as in
    blackbox_exporter's README."""
    return json.dumps(
        {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": "prober", "static_configs": [{"targets": [prober]}]},
                {
                    "job_name": "blackbox",
                    "metrics_path": "/probe",
                    "params": {"module": ["web"]},
                    "static_configs": [{"targets": targets}],
                    "relabel_configs": [
                        {"source_labels": ["__address__"], "target_label": "__param_target"},
                        {"source_labels": ["__param_target"], "target_label": "instance"},
                        {"target_label": "__address__", "replacement": prober},
                    ],
                },
            ],
        }
    )  # JSON is YAML


@contextlib.contextmanager
def prometheus(tmp_path: Path, prober: str, targets: list[str]) -> Iterator[str]:
    """Prometheus on a free loopback port with its storage in tmp_path; yields its base URL."""
    assert PROMETHEUS is not None
    path = tmp_path / "prometheus.yml"
    path.write_text(config(prober, targets))
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={path}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if http_get(base + "/-/ready", timeout=2).status == 200:
                    break
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def query(base: str, promql: str) -> dict[str, float]:
    """instance-or-host → value of an instant query's vector."""
    reply = http_get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    assert reply.status == 200, reply.body
    out = {}
    for item in reply.json()["data"]["result"]:
        labels = item["metric"]
        out[labels.get("host") or labels.get("instance", "")] = float(item["value"][1])
    return out


def wait_query(base: str, promql: str, keys: set[str]) -> dict[str, float]:
    deadline = time.monotonic() + 60
    got: dict[str, float] = {}
    while time.monotonic() < deadline:
        got = query(base, promql)
        if keys <= got.keys():
            return got
        time.sleep(0.25)
    raise AssertionError(f"{promql}: {got}")


class TestPrometheus:
    def test_scraped_by_prometheus(self, watch_process: Any, servers: RecordingServers, loopback_block: int,
                                   tmp_path: Path) -> None:  # fmt: skip
        """Prometheus scrapes /metrics (probe_success 1 for the ok host, 0 for the refused one, sweeps
        counted) and, through blackbox-style relabeling, /probe per target (the same values, with the
        target as `instance`); every scrape is up."""
        ok, down = f"127.{loopback_block}.0.1", f"127.{loopback_block}.0.9"
        port = free_port(ok)
        servers.serve(ok, port)
        path = inventory(tmp_path / "inventory.yaml", port, {"web": [ok, down]})
        watch = watch_process(path, "--interval", "1s")
        prober = f"127.0.0.1:{watch.port}"
        with prometheus(tmp_path, prober, [ok, down]) as base:
            direct = wait_query(base, 'probe_success{job="prober"}', {ok, down})
            assert direct == {ok: 1.0, down: 0.0}
            relabeled = wait_query(base, 'probe_success{job="blackbox"}', {ok, down})
            assert relabeled == {ok: 1.0, down: 0.0}
            assert query(base, 'probe_http_status_code{job="blackbox"}') == {ok: 200.0, down: 0.0}
            up = wait_query(base, "up", {prober, ok, down})
            assert set(up.values()) == {1.0}, up
            assert query(base, 'prober_sweeps_total{job="prober"}')[prober] >= 1
