"""`/probe?target=…&module=…`: one probe now, answered as blackbox_exporter answers; what a target may be."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.hostile import free_port
from tests.sinks.promtext import series, value
from tests.watch.conftest import RecordingServers, http_get

BLACKBOX = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")


@pytest.fixture
def lab(servers: RecordingServers, loopback_block: int, tmp_path: Path) -> dict[str, Any]:
    """An ok host in the inventory, an ok one outside it, a hung one, a refused one; modules web
    (HTTP on {address}), tcp ({port} from the target) and secret (sends an Authorization header)."""
    ok, outside, hung, down = (f"127.{loopback_block}.0.{i}" for i in (1, 2, 3, 9))
    port = free_port(ok)
    servers.serve(ok, port)
    servers.serve(outside, port)
    servers.serve(hung, port, delay=None)
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "defaults: {timeout: 5s, retries: 0}\n"
        "probes:\n"
        f'  web: {{type: http, url: "http://{{address}}:{port}/"}}\n'
        '  tcp: {type: tcp, port: "{port}"}\n'
        f'  secret: {{type: http, url: "http://{{address}}:{port}/",\n'
        '            headers: {Authorization: "Bearer t0k"}}\n'
        "groups:\n"
        f'  web: {{probes: [web, secret], hosts: ["{ok}"]}}\n'
    )
    return {"inventory": path, "ok": ok, "outside": outside, "hung": hung, "down": down, "port": port}


class TestProbe:
    def test_inventory_host(self, watch_process: Any, lab: dict[str, Any]) -> None:
        """An inventory host: blackbox's families without labels, success 1, its status code, and the
        module's timeout (5 s) as probe_timeout_seconds without a Prometheus header."""
        watch = watch_process(lab["inventory"], "--interval", "60s")
        reply = watch.get(f"/probe?target={lab['ok']}&module=web")
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        got = series(reply.body)
        assert got[("probe_success", frozenset())] == 1.0
        assert got[("probe_http_status_code", frozenset())] == 200.0
        assert got[("probe_timeout_seconds", frozenset())] == 5.0
        assert 0 < got[("probe_duration_seconds", frozenset())] < 5
        assert reply.body.index(b"probe_success") < reply.body.index(b"probe_duration_seconds")

    def test_other_targets(self, watch_process: Any, lab: dict[str, Any]) -> None:
        """A host outside the inventory is probed with the module's parameters; a refused one is 0 with
        its error kind; {port} comes from the target."""
        watch = watch_process(lab["inventory"], "--interval", "60s")
        assert value(watch.get(f"/probe?target={lab['outside']}&module=web").body, "probe_success") == 1.0
        down = watch.get(f"/probe?target={lab['down']}&module=web").body
        assert value(down, "probe_success") == 0.0
        assert value(down, "prober_probe_error_info", kind="refused") == 1.0
        tcp = watch.get(f"/probe?target={lab['ok']}:{lab['port']}&module=tcp").body
        assert value(tcp, "probe_success") == 1.0

    def test_scrape_timeout_header(self, watch_process: Any, lab: dict[str, Any]) -> None:
        """X-Prometheus-Scrape-Timeout-Seconds 1.5 against a host that never answers: the probe's
        timeout is 1 s (the header less 0.5 s, as blackbox), the answer comes in time, success 0."""
        watch = watch_process(lab["inventory"], "--interval", "60s")
        assert watch.get(f"/probe?target={lab['ok']}&module=web").status == 200  # imports, session: done
        started = time.monotonic()
        reply = watch.get(
            f"/probe?target={lab['hung']}&module=web", **{"X-Prometheus-Scrape-Timeout-Seconds": "1.5"}
        )
        took = time.monotonic() - started
        assert reply.status == 200
        assert value(reply.body, "probe_timeout_seconds") == 1.0
        assert value(reply.body, "probe_success") == 0.0
        assert value(reply.body, "prober_probe_error_info", kind="timeout") == 1.0
        assert 0.9 < took < 1.5 + 1.0, took
        bad = watch.get(
            f"/probe?target={lab['ok']}&module=web", **{"X-Prometheus-Scrape-Timeout-Seconds": "x"}
        )
        assert bad.status == 500
        assert b"Failed to parse timeout from Prometheus header" in bad.body

    @pytest.mark.parametrize(
        ("target", "why"),
        [
            ("", b"Target parameter is missing"),
            ("http://127.0.0.1/", b"not host[:port]"),
            ("127.0.0.1/admin", b"not host[:port]"),
            ("user@127.0.0.1", b"not host[:port]"),
            ("127.0.0.1:99999", b"port"),
            ("10.0.0.010", b"not a canonical IPv4 address"),
            ("127.1", b"not a canonical IPv4 address"),
            ("a b", b"not host[:port]"),
        ],
    )
    def test_bad_targets(self, watch_process: Any, lab: dict[str, Any], target: str, why: bytes) -> None:
        """A target that is not host[:port] by prober's host rules: 400 saying why, nothing contacted."""
        watch = watch_process(lab["inventory"], "--interval", "60s")
        reply = http_get(watch.base + "/probe?" + _query(target=target, module="web"))
        assert reply.status == 400
        assert why in reply.body
        got = watch.metrics()  # counted as refused, and no probe ran for it
        assert value(got, "prober_watch_probe_requests_total", code="400") == 1
        assert value(got, "prober_watch_probe_requests_total", code="200") is None

    def test_module_rules(self, watch_process: Any, lab: dict[str, Any], servers: RecordingServers) -> None:
        """Unknown module: 400 as blackbox says it; a port the module does not template: 400; a module
        needing {port} without one: 400; a module sending a secret, to a host outside the inventory:
        403 and no request reaches that host, while its inventory host is probed."""
        watch = watch_process(lab["inventory"], "--interval", "60s")
        unknown = watch.get(f"/probe?target={lab['ok']}&module=nope")
        assert (unknown.status, unknown.body.startswith(b"Unknown module 'nope'")) == (400, True)
        assert watch.get(f"/probe?target={lab['ok']}:80&module=web").status == 400
        no_port = watch.get(f"/probe?target={lab['ok']}&module=tcp")
        assert no_port.status == 400
        assert b"{port}" in no_port.body
        before = len(servers.arrivals.of(lab["outside"]))
        refused = watch.get(f"/probe?target={lab['outside']}&module=secret")
        assert refused.status == 403
        assert b"sends secrets" in refused.body
        assert len(servers.arrivals.of(lab["outside"])) == before
        assert value(watch.get(f"/probe?target={lab['ok']}&module=secret").body, "probe_success") == 1.0

    def test_inventory_targets_only(self, watch_process: Any, lab: dict[str, Any]) -> None:
        """--probe-targets inventory: a host outside the inventory is refused (403), its own are probed."""
        watch = watch_process(lab["inventory"], "--interval", "60s", "--probe-targets", "inventory")
        assert watch.get(f"/probe?target={lab['outside']}&module=web").status == 403
        assert watch.get(f"/probe?target={lab['ok']}&module=web").status == 200

    def test_debug(self, watch_process: Any, lab: dict[str, Any]) -> None:
        """debug=true (as blackbox): the result record, then the metrics, as text."""
        watch = watch_process(lab["inventory"], "--interval", "60s")
        reply = watch.get(f"/probe?target={lab['down']}&module=web&debug=true")
        assert reply.status == 200
        assert b'"kind": "refused"' in reply.body
        assert b"Metrics that would have been returned:\n# HELP probe_success" in reply.body


def _query(**params: str) -> str:
    import urllib.parse

    return urllib.parse.urlencode(params)


@contextlib.contextmanager
def blackbox(tmp_path: Path) -> Iterator[str]:
    """blackbox_exporter with http_2xx and tcp_connect modules on a free loopback port."""
    assert BLACKBOX is not None
    config = tmp_path / "blackbox.yml"
    config.write_text(
        "modules:\n  http_2xx: {prober: http, timeout: 5s}\n  tcp_connect: {prober: tcp, timeout: 5s}\n"
    )
    port = free_port()
    log = open(tmp_path / "blackbox.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [BLACKBOX, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            with contextlib.suppress(OSError):
                if http_get(base + "/metrics", timeout=2).status == 200:
                    break
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def help_and_type(body: bytes) -> dict[str, tuple[str, str]]:
    """family name → (HELP text, TYPE) of an exposition."""
    found: dict[str, list[str]] = {}
    for line in body.decode().splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            _, kind, name, text = [*line.split(" ", 3), ""][:4]
            found.setdefault(name, ["", ""])[0 if kind == "HELP" else 1] = text
    return {name: (h, t) for name, (h, t) in found.items()}


@pytest.mark.skipif(
    BLACKBOX is None, reason="blackbox_exporter missing (Debian prometheus-blackbox-exporter)"
)
class TestAgainstBlackbox:
    def test_same_families_same_values(self, watch_process: Any, lab: dict[str, Any], tmp_path: Path) -> None:
        """The same targets through the real blackbox_exporter and through prober: every family both
        write has the same HELP and TYPE, and probe_success and probe_http_status_code agree (HTTP ok,
        refused; TCP open)."""
        watch = watch_process(lab["inventory"], "--interval", "60s")
        port = lab["port"]
        pairs = [
            (f"target=http://{lab['ok']}:{port}/&module=http_2xx", f"target={lab['ok']}&module=web"),
            (f"target=http://{lab['down']}:{port}/&module=http_2xx", f"target={lab['down']}&module=web"),
            (f"target={lab['ok']}:{port}&module=tcp_connect", f"target={lab['ok']}:{port}&module=tcp"),
        ]
        with blackbox(tmp_path) as base:
            for theirs_query, ours_query in pairs:
                theirs = http_get(f"{base}/probe?{theirs_query}").body
                ours = watch.get(f"/probe?{ours_query}").body
                shared = help_and_type(theirs).keys() & help_and_type(ours).keys()
                assert {"probe_success", "probe_duration_seconds"} <= shared
                for name in shared:
                    assert help_and_type(theirs)[name] == help_and_type(ours)[name], name
                for name in ("probe_success", "probe_http_status_code"):
                    assert value(theirs, name) == value(ours, name), (name, theirs_query)
