"""The bench's scenarios: each starts its part of the fleet, runs prober and its peers, returns rows."""

from __future__ import annotations

import json
import math
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import inventories, measure, scale, sshfleet
from bench.fleet import addresses
from bench.knownhosts import knownhosts
from bench.sshscale import sshknown
from bench.table import Row
from bench.tasks import Bench, Task, peer_task, prober_task, skipped
from bench.watch import watch

HTTP_PORT, TCP_PORT, SSH_PORT, DEAD_PORTS = 18080, 18081, 18022, (18090, 18091)


@dataclass(frozen=True)
class Sizes:
    """Target counts; --scale multiplies the issue's sizes (each at least a handful)."""

    http: int
    tcp: int
    ssh: int
    memory: int
    failfast: int
    known_hosts: int  # lines of the knownhosts scenario's file
    validate: int  # hosts validated one per line vs as ranges
    explicit: int  # hosts of the explicit-list sweep (memory)
    bigplan: int  # probes of the big plan

    @classmethod
    def scaled(cls, scale: float) -> Sizes:
        def size(full: int, least: int) -> int:
            return max(least, math.ceil(full * scale))

        return cls(
            size(10_000, 20),
            size(10_000, 20),
            size(300, 4),
            size(100_000, 40),
            size(1_000, 20),
            size(50_000, 1_000),
            size(10_000, 100),
            size(100_000, 1_000),
            size(1_000_000, 10_000),
        )


def _lines_with(text: str) -> object:
    return lambda m: sum(text in line for line in m.stdout.splitlines())


def http(b: Bench) -> list[Row]:
    """HTTP 10k: prober (default workers, 1 and 2), the aiohttp floor, threads + requests."""
    n, c = b.sizes.http, str(b.concurrency)  # type: ignore[attr-defined]
    addrs = addresses(b.block, n)
    server = "nginx" if b.fleet.nginx(addrs, HTTP_PORT) else "python"
    if server == "python":
        b.fleet.python_servers("http", addrs, HTTP_PORT)
    urls = measure.write_lines(b.work / "http.urls", [f"http://{a}:{HTTP_PORT}/" for a in addrs])
    probe = {"health": f'{{type: http, url: "http://{{address}}:{HTTP_PORT}/"}}'}
    inv = inventories.prober_inventory(
        b.work / "http.yaml", probe, inventories.patterns(b.block, n), concurrency=b.concurrency
    )
    tasks = [
        prober_task("prober (default workers)", inv, note=f"server: {server}; concurrency {c}"),
        prober_task("prober --workers 1", inv, "--workers", "1"),
        prober_task("prober --workers 2", inv, "--workers", "2"),
        peer_task(
            "aiohttp+Semaphore loop",
            "aiohttp",
            "http_aiohttp.py",
            str(urls),
            "--concurrency",
            c,
            note=f"concurrency {c}, uvloop",
        ),
        peer_task(
            "ThreadPool+requests",
            "requests",
            "http_threads.py",
            str(urls),
            "--threads",
            str(b.threads),
            note=f"{b.threads} threads",
        ),
    ]
    # Two more rounds than the others: the workers ratio compares two noisy walls on a shared machine.
    rows = b.run(f"http {n}", tasks, n, extra_rounds=2)
    _workers_note(rows[1], rows[2], n)
    return rows


def _sweep_seconds(row: Row) -> float | None:
    sweep = row.extra.get("sweep")
    if isinstance(sweep, dict) and "duration_ms" in sweep:
        return float(sweep["duration_ms"]) / 1000
    return None


def _workers_note(one: Row, two: Row, n: int) -> None:
    """Probes/s of 2 workers vs 1: whole process, and inside the sweep (after the single-threaded
    start-up and planning, which are the same work in both and are measured by the startup row)."""
    if not (one.wall_s and two.wall_s):
        return
    speedup = one.wall_s / two.wall_s
    two.note = f"{n / two.wall_s:.0f} probes/s vs {n / one.wall_s:.0f} with 1 worker: {speedup:.2f}x"
    two.extra["speedup_vs_1"] = round(speedup, 3)
    inner_one, inner_two = _sweep_seconds(one), _sweep_seconds(two)
    if inner_one and inner_two:
        two.note += f"; in the sweep {n / inner_two:.0f} vs {n / inner_one:.0f}: {inner_one / inner_two:.2f}x"
        two.extra["sweep_speedup_vs_1"] = round(inner_one / inner_two, 3)


def tcp(b: Bench) -> list[Row]:
    """TCP 10k host:port pairs: prober (hosts as ranges, and as an explicit list), nmap -sT, a minimal
    asyncio.open_connection loop."""
    n, c = b.sizes.tcp, str(b.concurrency)  # type: ignore[attr-defined]
    addrs = addresses(b.block + 1, n)
    b.fleet.python_servers("tcp", addrs, TCP_PORT)
    hosts = measure.write_lines(b.work / "tcp.hosts", addrs)
    pairs = measure.write_lines(b.work / "tcp.pairs", [f"{a}:{TCP_PORT}" for a in addrs])
    inv = inventories.prober_inventory(
        b.work / "tcp.yaml",
        {"port": f"{{type: tcp, port: {TCP_PORT}}}"},
        inventories.patterns(b.block + 1, n),
        concurrency=b.concurrency,
    )
    # The same hosts one per line, as CMDB exports and scripts write them (and nmap's -iL reads).
    explicit = inventories.prober_inventory(
        b.work / "tcp-explicit.yaml",
        {"port": f"{{type: tcp, port: {TCP_PORT}}}"},
        addrs,
        concurrency=b.concurrency,
    )
    nmap = shutil.which("nmap")
    tasks = [
        prober_task("prober (default workers)", inv, note=f"concurrency {c}"),
        prober_task("prober --workers 1", inv, "--workers", "1"),
        prober_task("prober, explicit host list", explicit, note="one host per line; target <= 2x nmap"),
        Task(
            "nmap -sT -Pn -n",
            [nmap, "-sT", "-Pn", "-n", "-p", str(TCP_PORT), "-iL", str(hosts), "-oG", "-"],
            _lines_with(f"{TCP_PORT}/open/"),
        )  # type: ignore[arg-type]
        if nmap
        else skipped("nmap -sT", "nmap not installed (apt-get install nmap)"),
        peer_task(
            "asyncio.open_connection loop",
            "asyncio",
            "tcp_asyncio.py",
            str(pairs),
            "--concurrency",
            c,
            note=f"concurrency {c}, uvloop",
        ),
    ]
    return b.run(f"tcp {n}", tasks, n)


def ssh(b: Bench) -> list[Row]:
    """SSH 300 hosts running uptime: prober, parallel-ssh, ansible -m raw, OpenSSH via xargs -P."""
    n, c = b.sizes.ssh, str(b.ssh_concurrency)  # type: ignore[attr-defined]
    reason = sshfleet.available()
    if reason:
        return [Row(f"ssh {n}", "prober", skipped=reason)]
    addrs = addresses(b.block + 2, n)
    info = b.fleet.sshd(addrs, SSH_PORT)
    hosts = measure.write_lines(b.work / "ssh.hosts", addrs)
    spec = (
        f"{{type: ssh, port: {SSH_PORT}, user: {info['user']}, key: {json.dumps(info['key'])}, "
        f"known_hosts: {json.dumps(info['known_hosts'])}, agent: false, command: uptime, "
        'stdout_regex: "load average"}'
    )

    def inventory(name: str, count: int) -> Path:
        return inventories.prober_inventory(
            b.work / name,
            {"uptime": spec},
            inventories.patterns(b.block + 2, count),
            timeout="60s",
            concurrency=b.ssh_concurrency,
        )

    inv = inventory("ssh.yaml", n)
    few = max(1, n // 10)  # the same sweep on a tenth of the hosts: start-up vs per-probe CPU
    inv_few = inventory("ssh-few.yaml", few)
    ssh_cmd = (
        f"ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile={info['known_hosts']} "
        f"-o StrictHostKeyChecking=yes -o ControlMaster=no -i {info['key']} -p {SSH_PORT} -l {info['user']}"
    )
    tasks = [
        prober_task("prober", inv, note=f"concurrency {c}; host keys checked"),
        peer_task(
            "parallel-ssh",
            "pssh",
            "ssh_pssh.py",
            str(hosts),
            "--user",
            info["user"],
            "--key",
            info["key"],
            "--port",
            str(SSH_PORT),
            "--concurrency",
            c,
            "--timeout",
            "60",
            note=f"pool {c}; no host key check",
        ),
        _ansible(b, addrs, info),
        Task(
            "OpenSSH ssh via xargs -P",
            ["sh", "-c", f"xargs -P {c} -I{{}} {ssh_cmd} {{}} uptime < {hosts}"],
            _lines_with("load average"),
            f"-P {c}; host keys checked",
        ),  # type: ignore[arg-type]
    ]
    tasks.append(prober_task(f"prober, {few} of the hosts", inv_few, note="for the per-probe CPU"))
    rows = b.run(f"ssh {n}", tasks, n)
    rows[-1].total, rows[-1].ratio, rows[-1].cpu_ratio = few, None, None  # not a peer
    whole, part = rows[0].cpu_s, rows[-1].cpu_s
    if whole is not None:
        rows[0].note += f"; {whole / n * 1000:.1f} ms CPU/host"
        if part is not None and n > few:
            # Start-up (interpreter, imports, options, plan) is paid once; this is what each probe adds.
            marginal = (whole - part) / (n - few) * 1000
            rows[0].note += f", {marginal:.1f} ms per probe beyond start-up (vs the {few}-host run)"
            rows[0].extra["ssh_cpu_ms_per_probe_marginal"] = round(marginal, 3)
    return rows


def _ansible(b: Bench, addrs: list[str], info: dict[str, str]) -> Task:
    binary = shutil.which("ansible") or str(Path(sys.executable).parent / "ansible")
    if not Path(binary).exists():
        return skipped("ansible -m raw", "ansible-core not installed (pip install -e '.[bench]')")
    inv = inventories.ansible_inventory(b.work / "ansible.ini", addrs, info)
    home = b.work / "ansible"
    env = dict(
        b.env,
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_SSH_ARGS="-o ControlMaster=no",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CONFIG=str(home / "none.cfg"),
    )
    c = str(b.ssh_concurrency)
    cmd = [binary, "all", "-i", str(inv), "-m", "raw", "-a", "uptime", "-f", c]
    return Task("ansible -m raw", cmd, _lines_with("| CHANGED | rc=0"), f"-f {c}; host keys checked", env)  # type: ignore[arg-type]


def memory(b: Bench) -> list[Row]:
    """A 100k-probe plan (two refused TCP ports per host): prober's peak RSS, 2 workers and 1."""
    n = b.sizes.memory  # type: ignore[attr-defined]
    hosts = max(1, n // 2)
    probes = {f"p{port}": f"{{type: tcp, port: {port}}}" for port in DEAD_PORTS}
    inv = inventories.prober_inventory(
        b.work / "memory.yaml",
        probes,
        inventories.patterns(b.block + 5, hosts),
        timeout="500ms",
        concurrency=b.concurrency,
    )
    note = "every probe refused; target: tree <= 150 MB"
    tasks = [
        prober_task("prober (default workers)", inv, note=note),
        prober_task("prober --workers 1", inv, note=note),
    ]
    tasks[1].cmd += ["--workers", "1"]
    for task in tasks:
        task.tree = True
    rows = b.run(f"memory {hosts * 2}", tasks, hosts * 2, reference=None)
    for row in rows:
        scale.tree_note(row)
    return rows


def failfast(b: Bench) -> list[Row]:
    """1,000 hosts: 100 drop SYNs, 100 accept and never answer; timeout 2s, retries 0."""
    n = b.sizes.failfast  # type: ignore[attr-defined]
    name, bad, port = f"failfast {n}", max(1, n // 10), HTTP_PORT + 10
    if not b.is_root or shutil.which("nft") is None:
        return [Row(name, "prober", skipped="needs root and nft for the SYN-drop range")]
    live = addresses(b.block, n - 2 * bad)
    if not b.fleet.nginx(live, port):
        b.fleet.python_servers("http", live, port)
    b.fleet.python_servers("hold", addresses(b.block + 4, bad), port)
    b.fleet.drop_syns(f"127.{b.block + 3}.0.0/16")
    hosts = [
        *inventories.patterns(b.block, n - 2 * bad),
        *inventories.patterns(b.block + 3, bad),
        *inventories.patterns(b.block + 4, bad),
    ]
    inv = inventories.prober_inventory(
        b.work / "failfast.yaml",
        {"health": f'{{type: http, url: "http://{{address}}:{port}/"}}'},
        hosts,
        timeout="2s",
        retries=0,
        concurrency=b.concurrency,
    )
    tasks = [
        prober_task(f"prober --concurrency {c}", inv, "--concurrency", str(c), note="target <= 2.5 s")
        for c in (b.concurrency, n)
    ]
    rows = b.run(name, tasks, n, reference=None)
    for row in rows:
        sweep = row.extra.get("sweep")
        if isinstance(sweep, dict) and "duration_ms" in sweep:
            # Inside the sweep (after start-up and planning) vs the whole process's wall time.
            row.note += (
                f"; sweep itself {float(sweep['duration_ms']) / 1000:.2f} s; errors {sweep.get('errors')}"
            )
    return rows


def startup(b: Bench) -> list[Row]:
    """`prober --version` wall time, median of 5."""
    runs = [measure.run([sys.executable, "-m", "prober", "--version"], env=b.env) for _ in range(5)]
    mid = sorted(runs, key=lambda m: m.wall_s)[2]
    row = Row(
        "startup",
        "prober --version",
        round(mid.wall_s, 3),
        round(mid.cpu_s, 3),
        round(mid.maxrss_mb, 1),
        note="median of 5; target <= 0.3 s",
    )
    row.extra["walls"] = [round(r.wall_s, 3) for r in runs]
    row.extra["median"] = statistics.median(r.wall_s for r in runs)
    return [row]


SCENARIOS = {
    "startup": startup,
    "http": http,
    "tcp": tcp,
    "ssh": ssh,
    "knownhosts": knownhosts,
    "sshknown": sshknown,
    "failfast": failfast,
    "memory": memory,
    "watch": watch,
    "validate": scale.validate,
    "explicit": scale.explicit,
    "bigplan": scale.bigplan,
}
