"""The bench's scenarios: each starts its part of the fleet, runs prober and its peers, returns rows."""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import inventories, measure, sshfleet
from bench.fleet import Fleet, addresses
from bench.table import Row, set_ratios

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
HTTP_PORT, TCP_PORT, SSH_PORT, DEAD_PORTS = 18080, 18081, 18022, (18090, 18091)


@dataclass(frozen=True)
class Sizes:
    """Target counts; --scale multiplies the issue's sizes (each at least a handful)."""

    http: int
    tcp: int
    ssh: int
    memory: int
    failfast: int

    @classmethod
    def scaled(cls, scale: float) -> Sizes:
        def size(full: int, least: int) -> int:
            return max(least, math.ceil(full * scale))

        return cls(size(10_000, 20), size(10_000, 20), size(300, 4), size(100_000, 40), size(1_000, 20))


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(ROOT) + os.pathsep + out.get("PYTHONPATH", "")
    out.pop("SSH_AUTH_SOCK", None)  # no agent: every tool authenticates with the generated key only
    return out


class Bench:
    """Shared state of one bench run: sizes, the fleet, where inputs are written, how to measure."""

    def __init__(
        self,
        fleet: Fleet,
        sizes: Sizes,
        block: int,
        *,
        repeat: int = 1,
        concurrency: int = 256,
        ssh_concurrency: int = 64,
        threads: int = 64,
    ) -> None:
        self.fleet, self.sizes, self.block = fleet, sizes, block
        self.work = fleet.workdir
        self.repeat, self.concurrency, self.ssh_concurrency, self.threads = (
            repeat,
            concurrency,
            ssh_concurrency,
            threads,
        )
        self.env = env()
        self.is_root = os.geteuid() == 0

    def measure(self, cmd: list[str], env: dict[str, str] | None = None) -> measure.Measure:
        """Best of `repeat` runs by wall time (the least disturbed by the noisy neighbours)."""
        runs = [measure.run(cmd, env=env or self.env) for _ in range(self.repeat)]
        return min(runs, key=lambda m: m.wall_s)

    def row(
        self, scenario: str, tool: str, m: measure.Measure, ok: int | None, total: int, note: str = ""
    ) -> Row:
        if m.returncode not in (0, 1, 2):
            note = f"exit {m.returncode}: {' '.join(m.stderr.split())[-200:]}"
        return Row(
            scenario, tool, round(m.wall_s, 3), round(m.cpu_s, 3), round(m.maxrss_mb, 1), ok, total, note=note
        )

    def prober(self, inventory: Path, *args: str) -> tuple[measure.Measure, dict[str, object]]:
        out = inventory.with_suffix(".jsonl")
        out.unlink(missing_ok=True)  # a stale file from an earlier run must not count
        cmd = [sys.executable, "-m", "prober", "sweep", str(inventory), "-q", "-o", str(out), *args]
        m = self.measure(cmd)
        sweep: dict[str, object] = {}
        if m.returncode in (0, 1, 2) and out.exists() and out.stat().st_size:
            with out.open("rb") as handle:
                handle.seek(max(0, out.stat().st_size - 8192))
                last = handle.read().splitlines()[-1]
            sweep = json.loads(last)
        return m, sweep

    def peer(self, scenario: str, tool: str, needs: str, script: str, *args: str) -> Row:
        """Run a peer script; a skipped row when its library is not installed."""
        import importlib.util

        if importlib.util.find_spec(needs) is None:
            return Row(scenario, tool, skipped=f"{needs} not installed (pip install -e '.[bench]')")
        m = self.measure([sys.executable, str(PEERS / script), *args])
        return self.row(scenario, tool, m, _json_ok(m.stdout), 0)


def _json_ok(stdout: str) -> int | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return int(json.loads(line)["ok"])
    return None


def _totals(rows: list[Row], total: int) -> None:
    for row in rows:
        if not row.skipped:
            row.total = total


def _ok(sweep: dict[str, object]) -> int | None:
    counts = sweep.get("counts")
    return int(counts["ok"]) + int(counts["warn"]) if isinstance(counts, dict) else None


def http(b: Bench) -> list[Row]:
    """HTTP 10k: prober (default workers, and 1 and 2), the aiohttp floor, threads + requests."""
    n, name = b.sizes.http, f"http {b.sizes.http}"
    addrs = addresses(b.block, n)
    server = "nginx" if b.fleet.nginx(addrs, HTTP_PORT) else "python"
    if server == "python":
        b.fleet.python_servers("http", addrs, HTTP_PORT)
    urls = measure.write_lines(b.work / "http.urls", [f"http://{a}:{HTTP_PORT}/" for a in addrs])
    inv = inventories.prober_inventory(
        b.work / "http.yaml",
        {"health": f'{{type: http, url: "http://{{address}}:{HTTP_PORT}/"}}'},
        inventories.patterns(b.block, n),
        concurrency=b.concurrency,
    )
    rows = []
    m, sweep = b.prober(inv)
    main = b.row(
        name, "prober (default workers)", m, _ok(sweep), n, f"server: {server}, concurrency {b.concurrency}"
    )
    rows.append(main)
    per_worker = {}
    for workers in (1, 2):
        m, sweep = b.prober(inv, "--workers", str(workers))
        per_worker[workers] = b.row(name, f"prober --workers {workers}", m, _ok(sweep), n)
        rows.append(per_worker[workers])
    c = str(b.concurrency)
    rows.append(
        b.peer(name, "aiohttp+Semaphore loop", "aiohttp", "http_aiohttp.py", str(urls), "--concurrency", c)
    )
    rows[-1].note = rows[-1].note or f"concurrency {c}, uvloop"
    rows.append(
        b.peer(
            name, "ThreadPool+requests", "requests", "http_threads.py", str(urls), "--threads", str(b.threads)
        )
    )
    rows[-1].note = rows[-1].note or f"{b.threads} threads"
    _totals(rows, n)
    set_ratios(rows, main)
    one, two = per_worker[1], per_worker[2]
    if one.wall_s and two.wall_s:
        speedup = one.wall_s / two.wall_s
        two.note = f"{n / two.wall_s:.0f} probes/s vs {n / one.wall_s:.0f} with 1 worker: {speedup:.2f}x"
        two.extra["speedup_vs_1"] = round(speedup, 3)
    return rows


def tcp(b: Bench) -> list[Row]:
    """TCP 10k host:port pairs: prober, nmap -sT, a minimal asyncio.open_connection loop."""
    n, name = b.sizes.tcp, f"tcp {b.sizes.tcp}"
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
    m, sweep = b.prober(inv)
    main = b.row(name, "prober (default workers)", m, _ok(sweep), n, f"concurrency {b.concurrency}")
    rows = [main]
    nmap = shutil.which("nmap")
    if nmap is None:
        rows.append(Row(name, "nmap -sT", skipped="nmap not installed (apt-get install nmap)"))
    else:
        m = b.measure([nmap, "-sT", "-Pn", "-n", "-p", str(TCP_PORT), "-iL", str(hosts), "-oG", "-"])
        ok = sum(f"{TCP_PORT}/open/" in line for line in m.stdout.splitlines())
        rows.append(b.row(name, "nmap -sT -Pn -n", m, ok, n))
    rows.append(
        b.peer(
            name,
            "asyncio.open_connection loop",
            "asyncio",
            "tcp_asyncio.py",
            str(pairs),
            "--concurrency",
            str(b.concurrency),
        )
    )
    rows[-1].note = rows[-1].note or f"concurrency {b.concurrency}, uvloop"
    _totals(rows, n)
    set_ratios(rows, main)
    return rows


def ssh(b: Bench) -> list[Row]:
    """SSH 300 hosts running uptime: prober, parallel-ssh, ansible -m raw, OpenSSH via xargs -P."""
    n, name = b.sizes.ssh, f"ssh {b.sizes.ssh}"
    reason = sshfleet.available()
    if reason:
        return [Row(name, "prober", skipped=reason)]
    addrs = addresses(b.block + 2, n)
    info = b.fleet.sshd(addrs, SSH_PORT)
    hosts = measure.write_lines(b.work / "ssh.hosts", addrs)
    spec = (
        f"{{type: ssh, port: {SSH_PORT}, user: {info['user']}, key: {json.dumps(info['key'])}, "
        f"known_hosts: {json.dumps(info['known_hosts'])}, agent: false, command: uptime, "
        'stdout_regex: "load average"}'
    )
    inv = inventories.prober_inventory(
        b.work / "ssh.yaml",
        {"uptime": spec},
        inventories.patterns(b.block + 2, n),
        timeout="60s",
        concurrency=b.ssh_concurrency,
    )
    c = str(b.ssh_concurrency)
    m, sweep = b.prober(inv)
    main = b.row(name, "prober", m, _ok(sweep), n, f"concurrency {c}; {m.cpu_s / n * 1000:.1f} ms CPU/host")
    rows = [main]
    rows.append(
        b.peer(
            name,
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
        )
    )
    rows[-1].note = rows[-1].note or f"pool {c}; no host key check"
    rows.append(_ansible(b, name, addrs, info))
    ssh_cmd = (
        f"ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile={info['known_hosts']} "
        f"-o StrictHostKeyChecking=yes -o ControlMaster=no -i {info['key']} -p {SSH_PORT} -l {info['user']}"
    )
    m = b.measure(["sh", "-c", f"xargs -P {c} -I{{}} {ssh_cmd} {{}} uptime < {hosts}"])
    ok = sum("load average" in line for line in m.stdout.splitlines())
    rows.append(b.row(name, "OpenSSH ssh via xargs -P", m, ok, n, f"-P {c}"))
    _totals(rows, n)
    set_ratios(rows, main)
    return rows


def _ansible(b: Bench, name: str, addrs: list[str], info: dict[str, str]) -> Row:
    binary = shutil.which("ansible") or str(Path(sys.executable).parent / "ansible")
    if not os.path.exists(binary):
        return Row(name, "ansible -m raw", skipped="ansible-core not installed (pip install -e '.[bench]')")
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
    m = b.measure([binary, "all", "-i", str(inv), "-m", "raw", "-a", "uptime", "-f", c], env=env)
    ok = sum("| CHANGED | rc=0" in line for line in m.stdout.splitlines())
    return b.row(name, "ansible -m raw", m, ok, len(addrs), f"-f {c}; host key checking on")


def memory(b: Bench) -> list[Row]:
    """A 100k-probe plan (two refused TCP ports per host): prober's peak RSS."""
    n, name = b.sizes.memory, f"memory {b.sizes.memory}"
    hosts = max(1, n // 2)
    probes = {f"p{port}": f"{{type: tcp, port: {port}}}" for port in DEAD_PORTS}
    inv = inventories.prober_inventory(
        b.work / "memory.yaml",
        probes,
        inventories.patterns(b.block + 5, hosts),
        timeout="500ms",
        concurrency=b.concurrency,
    )
    m, sweep = b.prober(inv)
    planned = sweep.get("planned", "?")
    row = b.row(
        name,
        "prober (default workers)",
        m,
        _ok(sweep),
        hosts * 2,
        f"{planned} planned, all refused; peak RSS of the largest process (target <= 150 MB)",
    )
    row.ok = int(sweep.get("counts", {}).get("fail", 0)) if isinstance(sweep.get("counts"), dict) else None  # type: ignore[union-attr]
    row.note = "ok = refused records; " + row.note
    return [row]


def failfast(b: Bench) -> list[Row]:
    """1,000 hosts: 100 drop SYNs, 100 accept and never answer; timeout 2s, retries 0."""
    n, name = b.sizes.failfast, f"failfast {b.sizes.failfast}"
    bad = max(1, n // 10)
    if not b.is_root or shutil.which("nft") is None:
        return [Row(name, "prober", skipped="needs root and nft for the SYN-drop range")]
    live = addresses(b.block, n - 2 * bad)
    b.fleet.nginx(live, HTTP_PORT + 10) or b.fleet.python_servers("http", live, HTTP_PORT + 10)
    b.fleet.python_servers("hold", addresses(b.block + 4, bad), HTTP_PORT + 10)
    b.fleet.drop_syns(f"127.{b.block + 3}.0.0/16")
    hosts = [
        *inventories.patterns(b.block, n - 2 * bad),
        *inventories.patterns(b.block + 3, bad),
        *inventories.patterns(b.block + 4, bad),
    ]
    inv = inventories.prober_inventory(
        b.work / "failfast.yaml",
        {"health": f'{{type: http, url: "http://{{address}}:{HTTP_PORT + 10}/"}}'},
        hosts,
        timeout="2s",
        retries=0,
        concurrency=b.concurrency,
    )
    rows = []
    for concurrency in (b.concurrency, n):
        m, sweep = b.prober(inv, "--concurrency", str(concurrency))
        note = f"concurrency {concurrency}; target <= 2.5 s; errors {sweep.get('errors', {})}"
        rows.append(b.row(name, f"prober --concurrency {concurrency}", m, _ok(sweep), n, note))
    return rows


def startup(b: Bench) -> list[Row]:
    """`prober --version` wall time, median of 5."""
    runs = [measure.run([sys.executable, "-m", "prober", "--version"], env=b.env) for _ in range(5)]
    mid = sorted(runs, key=lambda m: m.wall_s)[2]
    row = b.row("startup", "prober --version", mid, None, 1, "median of 5; target <= 0.3 s")
    row.extra["walls"] = [round(r.wall_s, 3) for r in runs]
    row.extra["median"] = statistics.median(r.wall_s for r in runs)
    return [row]


SCENARIOS = {"startup": startup, "http": http, "tcp": tcp, "ssh": ssh, "failfast": failfast, "memory": memory}
