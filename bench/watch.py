"""Bench scenario `watch` (issue 13 §4): a monitoring loop over the HTTP fleet at a 15 s interval.

Rows (each measured over the same number of intervals, after one interval of warm-up):
- `prober watch --spread` and `prober watch`: sweeps of every host every interval, /metrics scraped once
  per interval as Prometheus would; mean CPU, missed ticks (target 0), the /metrics render (CPU, in the
  process) and scrape (wall, from here).
- the peer, blackbox_exporter (Debian package), scraped `/probe?target=URL&module=health` for every host
  every interval by a real Prometheus server with one target per host and blackbox's usual relabeling
  (it spreads the scrapes over the interval); and `prober watch` answering the same scrapes on its /probe.
CPU is user+sys of the exporter's process, read from /proc at the start and end of the measured
intervals; Prometheus' CPU (shown in the note) and the servers' are not counted. (A Python load script
could not keep up: at 667 requests/s on this machine it fell behind by seconds.)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bench import inventories
from bench.fleet import _die_with_parent, addresses, port_open
from bench.table import Row, set_ratios
from bench.tasks import Bench

HTTP_PORT = 18080  # the http scenario's fleet: reused when it is up
FULL = 10_000
INTERVAL_S = 15.0
MEASURED = 4
BLACKBOX = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")
PROMETHEUS = shutil.which("prometheus") or (
    "/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None
)


def watch(b: Bench) -> list[Row]:
    n = b.sizes.http  # type: ignore[attr-defined]
    interval = INTERVAL_S if n >= FULL else max(1.0, INTERVAL_S * n / FULL)  # smoke runs: short intervals
    addrs = addresses(b.block, n)
    server = _http_fleet(b, addrs)
    name = f"watch {n}"
    probe = {"health": f'{{type: http, url: "http://{{address}}:{HTTP_PORT}/"}}'}
    patterns = inventories.patterns(b.block, n)
    fleet_inv = inventories.prober_inventory(
        b.work / "watch.yaml", probe, patterns, timeout="5s", concurrency=b.concurrency
    )
    one_inv = inventories.prober_inventory(b.work / "watch-one.yaml", probe, [addrs[0]], timeout="5s")
    urls = [f"http://{a}:{HTTP_PORT}/" for a in addrs]
    common = f"interval {interval:g} s, {MEASURED} intervals"
    rows = [
        _sweeping(b, name, fleet_inv, n, interval, ["--spread"], f"{common}; server: {server}"),
        _sweeping(b, name, fleet_inv, n, interval, [], common),
        _scraped(b, name, "blackbox_exporter", _blackbox(b), urls, interval, common),
        _scraped(b, name, "prober watch /probe", _prober_cmd(one_inv, interval), addrs, interval, common),
    ]
    set_ratios(rows, rows[0])
    return rows


def _http_fleet(b: Bench, addrs: list[str]) -> str:
    if port_open(addrs[0], HTTP_PORT) and port_open(addrs[-1], HTTP_PORT):
        return "the http scenario's"
    if b.fleet.nginx(addrs, HTTP_PORT):
        return "nginx"
    b.fleet.python_servers("http", addrs, HTTP_PORT)
    return "python"


def _prober_cmd(inventory: Path, interval: float, *flags: str) -> list[str]:
    return [sys.executable, "-m", "prober", "watch", str(inventory), "--interval", f"{interval:g}s", *flags]


def _blackbox(b: Bench) -> list[str] | None:
    if BLACKBOX is None:
        return None
    config = b.work / "blackbox.yml"
    config.write_text("modules:\n  health: {prober: http, timeout: 5s}\n")
    return [BLACKBOX, f"--config.file={config}"]


# --- measuring a long-running process -------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """user + sys of the process and its reaped children, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float | None:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


@contextlib.contextmanager
def exporter(b: Bench, cmd: list[str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The exporter listening on a free loopback port; yields (process, base URL)."""
    port = _free_port()
    is_prober = cmd[1:3] == ["-m", "prober"]
    listen = ["--listen", f"127.0.0.1:{port}"] if is_prober else [f"--web.listen-address=127.0.0.1:{port}"]
    log = open(b.work / f"exporter-{port}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [*cmd, *listen],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env=b.env,
        preexec_fn=_die_with_parent,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        measure_ready(proc, base + ("/healthz" if is_prober else "/metrics"))
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()


def measure_ready(proc: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exporter exited {proc.returncode} before listening")
        with contextlib.suppress(OSError):
            fetch(url, 2)
            return
        time.sleep(0.1)
    raise RuntimeError(f"exporter not ready at {url}")


def fetch(url: str, timeout: float = 60) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read())


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gauges(text: bytes, *names: str) -> dict[str, float]:
    """The unlabelled (or first) sample of each name, or of `name{labels}` given whole."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        for name in names:
            after = line[len(name) : len(name) + 1]
            if name not in out and line.startswith(name.encode()) and after in b" {":
                out[name] = float(line.rsplit(b" ", 1)[1])
    return out


# --- the rows --------------------------------------------------------------------------------------
def _sweeping(b: Bench, name: str, inv: Path, n: int, interval: float, flags: list[str], note: str) -> Row:
    """prober watch sweeping the fleet; /metrics scraped once per interval."""
    tool = " ".join(["prober watch", *flags])
    with exporter(b, _prober_cmd(inv, interval, *flags)) as (proc, base):
        _wait_sweeps(base, 1, interval * 4 + 60)
        before = gauges(fetch(base + "/metrics"), "prober_watch_missed_ticks_total")
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        scrapes = []
        for k in range(MEASURED):
            time.sleep(max(0.0, t0 + (k + 1) * interval - time.monotonic()))
            started = time.perf_counter()
            text = fetch(base + "/metrics")
            scrapes.append(time.perf_counter() - started)
        cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
        rss = peak_rss_mb(proc.pid)
    got = gauges(
        text,
        "prober_watch_missed_ticks_total",
        "prober_watch_render_seconds",
        'prober_sweep_probes{status="ok"}',
        'prober_sweep_probes{status="warn"}',
        "prober_sweep_duration_seconds",
        "prober_sweep_loop_lag_max_seconds",
    )
    cpu, wall = cpu1 - cpu0, t1 - t0
    ok = int(
        got.get('prober_sweep_probes{status="ok"}', 0) + got.get('prober_sweep_probes{status="warn"}', 0)
    )
    row = Row(name, tool, round(wall, 2), round(cpu, 2), rss, ok, n)
    total_missed = got.get("prober_watch_missed_ticks_total", 0)
    missed = total_missed - before.get("prober_watch_missed_ticks_total", 0)
    render_ms = got.get("prober_watch_render_seconds", 0) * 1000
    lag_ms = got.get("prober_sweep_loop_lag_max_seconds", 0) * 1000
    row.note = (
        f"{note}; mean CPU {cpu / wall * 100:.1f}% of a core; "
        f"missed ticks {missed:g} ({total_missed:g} since start); "
        f"/metrics render {render_ms:.0f} ms CPU, scrape {max(scrapes) * 1000:.0f} ms "
        f"({len(text) / 1e6:.1f} MB); "
        f"sweep {got.get('prober_sweep_duration_seconds', 0):.1f} s, loop lag max {lag_ms:.0f} ms"
    )
    row.extra.update(
        mean_cpu=round(cpu / wall, 4), missed_ticks=missed, missed_ticks_since_start=total_missed,
        render_s=got.get("prober_watch_render_seconds"), scrape_s=round(max(scrapes), 4),
    )  # fmt: skip
    return row


def _wait_sweeps(base: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gauges(fetch(base + "/metrics"), "prober_sweeps_total").get("prober_sweeps_total", 0) >= count:
            return
        time.sleep(0.5)
    raise RuntimeError(f"prober watch did not finish {count} sweep(s) in {timeout:.0f} s")


def _scraped(
    b: Bench, name: str, tool: str, cmd: list[str] | None, targets: list[str], interval: float, note: str
) -> Row:
    """An exporter answering /probe for every target once per interval, scraped by a real Prometheus."""
    if cmd is None:
        return Row(name, tool, skipped="not installed (apt-get install prometheus-blackbox-exporter)")
    if PROMETHEUS is None:
        return Row(name, tool, skipped="prometheus not installed (apt-get install prometheus)")
    with exporter(b, cmd) as (proc, base), prometheus(b, base, targets, interval) as (server, api):
        time.sleep(interval + 2)  # warm-up: Prometheus reaches every target once
        cpu0, server0, t0 = cpu_seconds(proc.pid), cpu_seconds(server.pid), time.monotonic()
        time.sleep(MEASURED * interval)
        cpu1, server1, t1 = cpu_seconds(proc.pid), cpu_seconds(server.pid), time.monotonic()
        rss = peak_rss_mb(proc.pid)
        up = _query(api, 'count(up{job="exporter"} == 1)')
        success = _query(api, 'sum(probe_success{job="exporter"})')
        seconds = _query(api, 'avg(scrape_duration_seconds{job="exporter"})')
    cpu, wall = cpu1 - cpu0, t1 - t0
    row = Row(name, tool, round(wall, 2), round(cpu, 2), rss, int(success), len(targets))
    row.note = (
        f"{note}; scraped by Prometheus: {up:.0f} targets up, mean scrape {seconds * 1000:.0f} ms; "
        f"mean CPU {cpu / wall * 100:.1f}% of a core (Prometheus: {(server1 - server0) / wall * 100:.0f}%)"
    )
    row.extra.update(mean_cpu=round(cpu / wall, 4), up=up, scrape_s=seconds)
    return row


@contextlib.contextmanager
def prometheus(
    b: Bench, exporter_url: str, targets: list[str], interval: float
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Prometheus scraping exporter_url/probe for every target (blackbox's relabeling); (process, URL)."""
    assert PROMETHEUS is not None
    address = exporter_url.removeprefix("http://")
    job = {
        "job_name": "exporter",
        "metrics_path": "/probe",
        "params": {"module": ["health"]},
        "static_configs": [{"targets": targets}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": address},
        ],
    }
    timeout = f"{min(10.0, interval):g}s"  # Prometheus' default scrape timeout, at most the interval
    config = {
        "global": {"scrape_interval": f"{interval:g}s", "scrape_timeout": timeout},
        "scrape_configs": [job],
    }
    port = _free_port()
    path = b.work / f"prometheus-{port}.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    log = open(b.work / f"prometheus-{port}.log", "wb")  # noqa: SIM115 - closed below
    cmd = [
        PROMETHEUS,
        f"--config.file={path}",
        f"--storage.tsdb.path={b.work / f'prometheus-{port}'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_die_with_parent
    )
    api = f"http://127.0.0.1:{port}"
    try:
        measure_ready(proc, api + "/-/ready")
        yield proc, api
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def _query(api: str, promql: str) -> float:
    """The value of an instant query returning one number (0 when it returns nothing)."""
    reply = json.loads(fetch(f"{api}/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
    result = reply["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


__all__ = ["watch"]
