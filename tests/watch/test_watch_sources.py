"""`prober watch` with `sources:`: SIGHUP and --refresh read the sources again; a source that fails keeps
the previous inventory (and says why, naming the source), and the sweeps go on."""

from __future__ import annotations

import http.server
import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.hostile import free_port
from tests.sinks.promtext import value
from tests.watch.conftest import RecordingServers

FAILED = "inventory reload failed; still using the previous inventory"


def sd_inventory(path: Path, port: int, source: str) -> Path:
    path.write_text(
        f"defaults: {{timeout: 2s, retries: 0}}\nsources:\n{source}"
        "probes:\n  web: {type: http, url: 'http://{address}:{port}/', expect_status: [200]}\n"
        "groups:\n  web: {probes: [web]}\n"
    )
    return path


def targets(addresses: list[str], port: int) -> str:
    return json.dumps(
        [{"targets": [f"{a}:{port}" for a in addresses], "labels": {"job": "web", "dc": "eu-1"}}]
    )


@pytest.fixture
def hosts(servers: RecordingServers, loopback_block: int) -> tuple[list[str], int]:
    """Three healthy HTTP servers on loopback; (addresses, port)."""
    port = free_port(f"127.{loopback_block}.0.1")
    addresses = [f"127.{loopback_block}.0.{i}" for i in (1, 2, 3)]
    for address in addresses:
        servers.serve(address, port)
    return addresses, port


class SDEndpoint:
    """An http_sd endpoint on 127.0.0.1 (the standard library's server, in a thread): answers `body`
    with `status`; both may change while it runs."""

    def __init__(self) -> None:
        self.status, self.body = 200, "[]"
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = endpoint.body.encode()
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sd"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[SDEndpoint]:
    running = SDEndpoint()
    try:
        yield running
    finally:
        running.close()


class TestReloadSources:
    def test_sighup_reads_file_sd_again(self, watch_process: Any, hosts: Any, tmp_path: Path) -> None:
        """SIGHUP after the file_sd file changed: the new target is probed, the one taken out leaves
        /metrics; then a broken file keeps that inventory, logged with the source and the file's line."""
        (first, second, third), port = hosts
        sd = tmp_path / "sd.json"
        sd.write_text(targets([first, second], port))
        path = sd_inventory(tmp_path / "inv.yaml", port, "  - {file_sd: sd.json, group_label: job}\n")
        watch = watch_process(path, "--interval", "0.2s")
        watch.wait_sweeps(1)
        assert value(watch.metrics(), "probe_success", host=second, dc="eu-1") == 1.0
        sd.write_text(targets([first, third], port))
        watch.send(signal.SIGHUP)
        watch.wait_for("the reload", lambda: watch.logs("inventory reloaded"))
        watch.wait_for("the new target's result", lambda: value(watch.metrics(), "probe_success", host=third))
        watch.wait_for(
            "the old target to leave", lambda: value(watch.metrics(), "probe_success", host=second) is None
        )
        sd.write_text('[{"targets": [')
        watch.send(signal.SIGHUP)
        (failed,) = watch.wait_for("the failed reload", lambda: watch.logs(FAILED))
        assert (
            failed["problems"][0]
            == f"{path}:3: sources[0].file_sd: cannot read {sd} (nothing is probed); why:"
        )
        assert failed["problems"][1].startswith(f"{sd}:1: JSON: ")
        before = watch.sweeps()
        watch.wait_sweeps(before + 2)
        got = watch.metrics()
        assert value(got, "probe_success", host=third) == 1.0
        assert value(got, "prober_watch_reloads_total", result="failure") == 1
        assert watch.get("/healthz").json()["reload"]["ok"] is False

    def test_refresh_reads_http_sd_again(
        self, watch_process: Any, hosts: Any, endpoint: SDEndpoint, tmp_path: Path
    ) -> None:
        """--refresh fetches the http_sd endpoint again: a new target is picked up without a signal; an
        HTTP 500 keeps the previous inventory, logged with the URL; recovery clears the error."""
        (first, second, _), port = hosts
        endpoint.body = targets([first], port)
        source = f"  - {{http_sd: '{endpoint.url}', group: web, retries: 0}}\n"
        path = sd_inventory(tmp_path / "inv.yaml", port, source)
        watch = watch_process(path, "--interval", "0.2s", "--refresh", "0.4s")
        watch.wait_sweeps(1)
        endpoint.body = targets([first, second], port)
        watch.wait_for("the new target", lambda: value(watch.metrics(), "probe_success", host=second) == 1.0)
        endpoint.status = 500
        (failed, *_) = watch.wait_for("a failed refresh", lambda: watch.logs(FAILED))
        assert failed["why"] == "refresh"
        assert failed["problems"][0].startswith(f"{path}:3: sources[0].http_sd: cannot read {endpoint.url}")
        assert failed["problems"][1] == f"{endpoint.url}: server answered HTTP 500 Internal Server Error"
        before = watch.sweeps()
        watch.wait_sweeps(before + 2)
        assert value(watch.metrics(), "probe_success", host=second) == 1.0  # still the previous inventory
        endpoint.status = 200
        watch.wait_for(
            "recovery", lambda: watch.get("/healthz").json()["reload"] == {"ok": True, "error": None}
        )
