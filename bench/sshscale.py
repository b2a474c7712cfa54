"""Bench scenario `sshknown`: SSH client CPU at fleet scale (issue 14 §2), against parallel-ssh.

300 OpenSSH hosts (the ssh scenario's sshd) run `uptime` with their lines spread through a
50,000-line plain known_hosts. Rows: prober with that file (target ≤ 4 ms of client CPU per host for
the whole process), prober on a tenth of the hosts with the same file (what each probe adds beyond
start-up), prober with a known_hosts of only the fleet's lines (what the big file costs), and
parallel-ssh checking host keys against the same file (bench/peers/ssh_pssh_known.py: libssh2
reads it once, each connection's key checked after the key exchange) and without checks. Then the
same with the file's names hashed (`|1|salt|hmac`): one HMAC per (line, host) for any client, so
those two rows compare with each other, not with the target.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import inventories, measure, sshfleet
from bench.fleet import addresses
from bench.table import Row
from bench.tasks import Bench, Task, peer_task, prober_task
from prober.sim import knownfile

SSH_PORT = 18022  # the ssh scenario's sshd, started once for both
TARGET_MS = 4.0


def sshknown(b: Bench) -> list[Row]:
    n, c = b.sizes.ssh, b.ssh_concurrency  # type: ignore[attr-defined]
    lines = b.sizes.known_hosts  # type: ignore[attr-defined]
    name = f"sshknown {n} ({lines:,} lines)"
    reason = sshfleet.available()
    if reason:
        return [Row(name, "prober", skipped=reason)]
    addrs = addresses(b.block + 2, n)
    info = b.fleet.sshd(addrs, SSH_PORT)
    host_public = Path(info["known_hosts"]).read_text().split("\n", 1)[0].split(None, 1)[1]
    real = [knownfile.line(a, SSH_PORT, host_public) for a in addrs]
    big = knownfile.write(b.work / "known_hosts-sshknown", real, lines)
    hashed_real = [knownfile.line(a, SSH_PORT, host_public, hashed_name=True) for a in addrs]
    hashed = knownfile.write(b.work / "known_hosts-sshknown-hashed", hashed_real, lines, hashed_names=True)
    hosts = measure.write_lines(b.work / "sshknown.hosts", addrs)
    few = max(1, n // 10)
    tasks = [
        prober_task("prober", _inventory(b, "sshknown.yaml", info, big, n), note=f"concurrency {c}"),
        prober_task(f"prober, {few} of the hosts", _inventory(b, "sshknown-few.yaml", info, big, few)),
        prober_task(
            f"prober, {n}-line known_hosts",
            _inventory(b, "sshknown-small.yaml", info, Path(info["known_hosts"]), n),
            note="the fleet's lines only",
        ),
        _pssh(b, "parallel-ssh, host keys checked", hosts, info, str(big), c),
        _pssh(b, "parallel-ssh, no host key check", hosts, info, None, c),
        prober_task("prober, hashed known_hosts", _inventory(b, "sshknown-hashed.yaml", info, hashed, n)),
        _pssh(b, "parallel-ssh, hashed, keys checked", hosts, info, str(hashed), c),
    ]
    rows = b.run(name, tasks, n)
    rows[1].total, rows[1].ratio, rows[1].cpu_ratio = few, None, None  # not a peer
    rows[2].ratio = rows[2].cpu_ratio = rows[5].ratio = rows[5].cpu_ratio = None
    if rows[5].cpu_s and rows[6].cpu_s:  # hashed lines: prober against the peer on the same file
        rows[6].ratio = (rows[5].wall_s or 0) / (rows[6].wall_s or 1)
        rows[6].cpu_ratio = rows[5].cpu_s / rows[6].cpu_s
    _per_host_notes(rows, n, few)
    return rows


def _inventory(b: Bench, name: str, info: dict[str, str], known: Path, count: int) -> Path:
    spec = (
        f"{{type: ssh, port: {SSH_PORT}, user: {info['user']}, key: {json.dumps(info['key'])}, "
        f"known_hosts: {json.dumps(str(known))}, agent: false, command: uptime, "
        'stdout_regex: "load average"}'
    )
    patterns = inventories.patterns(b.block + 2, count)
    return inventories.prober_inventory(
        b.work / name, {"uptime": spec}, patterns, timeout="60s", concurrency=b.ssh_concurrency
    )


def _pssh(b: Bench, tool: str, hosts: Path, info: dict[str, str], known: str | None, c: int) -> Task:
    args = [str(hosts), "--user", info["user"], "--key", info["key"], "--port", str(SSH_PORT)]
    args += ["--concurrency", str(c), "--timeout", "60"]
    if known is None:
        return peer_task(tool, "pssh", "ssh_pssh.py", *args, note=f"pool {c}")
    return peer_task(tool, "pssh", "ssh_pssh_known.py", *args, "--known-hosts", known, note=f"pool {c}")


def _per_host_notes(rows: list[Row], n: int, few: int) -> None:
    """Client CPU per host for every row; prober's target; what a probe adds beyond start-up."""
    for row in rows:
        if row.cpu_s is not None and row.total:
            per_host = row.cpu_s / row.total * 1000
            row.extra["cpu_ms_per_host"] = round(per_host, 3)
            row.note = f"{per_host:.1f} ms CPU/host" + (f"; {row.note}" if row.note else "")
    prober, part = rows[0], rows[1]
    if prober.cpu_s is not None:
        met = "met" if prober.cpu_s / n * 1000 <= TARGET_MS else "NOT met"
        prober.note += f"; target <= {TARGET_MS:g} ms: {met}"
        if part.cpu_s is not None and n > few:
            marginal = (prober.cpu_s - part.cpu_s) / (n - few) * 1000
            prober.note += f"; {marginal:.1f} ms per probe beyond start-up"
            prober.extra["cpu_ms_per_probe_marginal"] = round(marginal, 3)


__all__ = ["sshknown"]
