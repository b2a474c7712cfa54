"""Benchmark: five SSH checks vs one check on N hosts (one shared connection each), and client CPU per host.

Usage: python bench/ssh_checks.py [--hosts 200] [--concurrency 100] [--repeat 3] [--server openssh|asyncssh]

The SSH servers run in separate processes (Debian sshd as a throwaway user when root and installed,
the default then; else asyncssh servers on 127.<block>.x.y) so the client's CPU time
(time.process_time) is the client's alone. Scenarios run in interleaved rounds (A B C, A B C, ...):
a shared machine's load swings then hit every scenario alike; each figure is the median round.

"Same hosts in flight" runs the five checks at five times the concurrency: --concurrency counts
probes, so at equal concurrency five checks per host keep a fifth as many hosts in flight, and a
client with fewer connections to interleave wakes up more often per host (measured here: one check
per host costs ~1.5x the client CPU at concurrency 20 than at 100).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncssh  # noqa: E402

from prober.model import Job, Target  # noqa: E402
from prober.probes import probe_for  # noqa: E402
from prober.probes.ssh.spec import SSHSpec  # noqa: E402
from prober.runtime.engine import Engine  # noqa: E402
from prober.runtime.resources import Resources  # noqa: E402

SERVER_CODE = """
import asyncio, sys
import asyncssh
from prober.sim import sshd

async def main(workdir, addresses, port, behaviour):
    host_key = asyncssh.read_private_key(workdir + "/host_key")
    client_public = open(workdir + "/id_ed25519.pub").read()
    for address in addresses:
        await sshd.start_sshd(address, port, host_key, client_public, behaviour=behaviour or None)
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(sys.argv[1], sys.argv[3].split(","), int(sys.argv[2]), sys.argv[4]))
"""

FIVE = [
    {"check": "disk", "path": "/", "warn": 99, "crit": 100},
    {"check": "memory", "warn": 100, "crit": 100},
    {"check": "load", "per_cpu": True, "warn": 1e6, "crit": 1e6},
    {"check": "process", "process": "init", "min": 0},
    {"check": "disk", "path": "/tmp", "inodes": True, "warn": 99, "crit": 100},
]
# Five built-in checks (batched into one remote shell when queued together). A plain command or a
# nagios plugin would get a channel of its own: see --with-command.


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_asyncssh(
    workdir: Path, addresses: list[str], port: int, processes: int, behaviour: str
) -> list[subprocess.Popen[str]]:
    """Servers split over `processes` processes; returns once all listen."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    for part in range(processes):
        chunk = addresses[part::processes]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", SERVER_CODE, str(workdir), str(port), ",".join(chunk), behaviour],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return procs


def start_openssh(workdir: Path, addresses: list[str], port: int) -> list[subprocess.Popen[str]]:
    """Debian sshd processes, 16 listen addresses each (sshd's limit), as a throwaway user."""
    from tests.ssh.conftest import _ensure_user

    _ensure_user()
    os.chmod(workdir, 0o755)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(workdir / "sshd_key")], check=True
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    procs = []
    for start in range(0, len(addresses), 16):
        config = workdir / f"sshd_config_{start}"
        listen = "".join(f"ListenAddress {a}:{port}\n" for a in addresses[start : start + 16])
        config.write_text(
            f"{listen}HostKey {workdir / 'sshd_key'}\nPidFile none\nUsePAM no\nStrictModes no\n"
            f"AuthorizedKeysFile {workdir / 'id_ed25519.pub'}\nPasswordAuthentication no\n"
            "MaxStartups 1000:30:1000\nMaxSessions 50\nLogLevel ERROR\nUseDNS no\nAllowUsers prober-test\n"
        )
        procs.append(subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], text=True))
    time.sleep(1.0)
    return procs


async def sweep(pairs: list[tuple[Target, SSHSpec]], concurrency: int) -> tuple[float, float, int, int]:
    """(wall seconds, client CPU seconds, handshakes, failures) for one sweep."""
    jobs = tuple(Job(i, t, s) for i, (t, s) in enumerate(pairs))
    resources = Resources(concurrency=concurrency)
    results: list = []
    engine = Engine(jobs, results.append, concurrency=concurrency, probe_for=probe_for, resources=resources)
    cpu, wall = time.process_time(), time.perf_counter()
    await engine.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pool = resources._ssh_pool
    handshakes = pool.handshakes if pool else 0
    await resources.aclose()
    failures = [r for r in results if r.status.value == "fail"]
    if failures:
        print(f"  ! {len(failures)} failures, first: {failures[0].error}", file=sys.stderr)
    return wall, cpu, handshakes, len(failures)


SAME_HOSTS = "5 checks, same hosts in flight"


def scenarios(
    base: SSHSpec, targets: list[Target], with_command: bool
) -> dict[str, list[tuple[Target, SSHSpec]]]:
    checks = [*FIVE[:4], {"command": "uptime"}] if with_command else FIVE
    one = [(t, replace(base, name="mem", **FIVE[1])) for t in targets]
    five = [(t, replace(base, name=f"c{i}", **p)) for t in targets for i, p in enumerate(checks)]
    unshared = [(t, replace(s, per_host_concurrency=5)) for t, s in five]
    plain = [(t, replace(base, name="true", command="true")) for t in targets]
    return {
        "1 command (true)": plain,
        "1 check": one,
        "5 checks, shared": five,
        SAME_HOSTS: five,
        "5 checks, 5 conns": unshared,
    }


async def run(args: argparse.Namespace) -> None:
    import logging

    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="prober-bench-ssh-"))
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(workdir / "id_ed25519"))
    (workdir / "id_ed25519.pub").write_bytes(key.export_public_key())
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    host_key.write_private_key(str(workdir / "host_key"))
    block = random.randint(100, 250)
    addresses = [f"127.{block}.{i // 250}.{i % 250 + 1}" for i in range(args.hosts)]
    port = 2222
    if args.server == "openssh":
        procs = start_openssh(workdir, addresses, port)
        public = (workdir / "sshd_key.pub").read_text().split()[:2]
        user = "prober-test"
    else:
        behaviour = "cached" if args.remote == "cached" else ""
        procs = start_asyncssh(workdir, addresses, port, args.server_procs, behaviour)
        public = host_key.export_public_key().decode().split()[:2]
        user = "bench"
    (workdir / "known_hosts").write_text("".join(f"[{a}]:{port} {' '.join(public)}\n" for a in addresses))
    base = SSHSpec(
        name="x", command="true", port=port, user=user, key=str(workdir / "id_ed25519"),
        known_hosts=str(workdir / "known_hosts"), agent=False, timeout=30, retries=0,
    )  # fmt: skip
    targets = [Target(f"h{i}", a, "bench") for i, a in enumerate(addresses)]
    try:
        plan = scenarios(base, targets, args.with_command)
        runs: dict[str, list[tuple[float, float, float, int]]] = {label: [] for label in plan}
        for _ in range(args.repeat):
            for label, pairs in plan.items():
                concurrency = args.concurrency * (5 if label == SAME_HOSTS else 1)
                server_cpu = sum(cpu_seconds(p.pid) for p in procs)
                wall, cpu, handshakes, _ = await sweep(pairs, concurrency)
                server_cpu = sum(cpu_seconds(p.pid) for p in procs) - server_cpu
                runs[label].append((wall, cpu, server_cpu, handshakes))
        rows = [
            (
                label,
                len(plan[label]),
                runs[label][-1][3],
                args.concurrency * (5 if label == SAME_HOSTS else 1),
                *(statistics.median(r[i] for r in runs[label]) for i in range(3)),
            )
            for label in plan
        ]
        report(args, rows)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def report(args: argparse.Namespace, rows: list[tuple[str, int, int, int, float, float, float]]) -> None:
    remote = args.remote if args.server == "asyncssh" else "real"
    five = "4 checks + 1 command" if args.with_command else "5 built-in checks"
    print(f"\nSSH checks on {args.hosts} hosts: {args.server} server, remote commands {remote}, {five}")
    print(f"median of {args.repeat} interleaved rounds; server CPU = the server processes only")
    head = ("scenario", "probes", "handshakes", "conc", "wall s", "client CPU ms/host", "ms/probe", "srv s")
    widths = (-30, 6, 10, 5, 7, 18, 8, 8)
    print(" ".join(f"{h:<{-w}}" if w < 0 else f"{h:>{w}}" for h, w in zip(head, widths, strict=True)))
    for label, probes, handshakes, conc, wall, cpu, server in rows:
        per_host, per_probe = cpu * 1000 / args.hosts, cpu * 1000 / probes
        print(
            f"{label:<30} {probes:>6} {handshakes:>10} {conc:>5} {wall:>7.3f} {per_host:>18.2f} "
            f"{per_probe:>8.2f} {server:>8.2f}"
        )
    by = {r[0]: r for r in rows}
    one, five_checks, same = by["1 check"], by["5 checks, shared"], by[SAME_HOSTS]
    print(
        f"\nfive checks / one check, client CPU: {five_checks[5] / one[5]:.2f}x at concurrency "
        f"{args.concurrency}, {same[5] / one[5]:.2f}x with the same hosts in flight (target <= 1.3x)"
    )
    print(f"wall: {five_checks[4] / one[4]:.2f}x; {same[4] / one[4]:.2f}x with the same hosts in flight")
    unshared = by["5 checks, 5 conns"][4] / five_checks[4]
    print(f"five checks on five connections per host / shared connection: wall {unshared:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--server", choices=["auto", "asyncssh", "openssh"], default="auto")
    parser.add_argument("--server-procs", type=int, default=1, help="asyncssh server processes")
    parser.add_argument("--with-command", action="store_true", help="4 checks + `uptime` instead of 5 checks")
    parser.add_argument(
        "--remote",
        choices=["real", "cached"],
        default="cached",
        help="asyncssh server: run every command with sh (real), or once per distinct command and replay "
        "(cached: on a real fleet each host does its own work, not this machine's CPUs)",
    )
    args = parser.parse_args()
    openssh = os.geteuid() == 0 and Path("/usr/sbin/sshd").exists()
    if args.server == "auto":
        args.server = "openssh" if openssh else "asyncssh"
    if args.server == "openssh" and not openssh:
        sys.exit("--server openssh needs root and /usr/sbin/sshd")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
