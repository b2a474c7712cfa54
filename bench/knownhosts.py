"""Bench scenario `knownhosts`: a mixed HTTP + SSH sweep with a fleet-sized known_hosts (issue 9).

The SSH hosts' lines are spread through 50,000 lines (plain, then hashed as `HashKnownHosts yes`
writes them); a first run with a known_hosts of only the fleet's lines is the baseline. Before
preparation moved off the probes' clocks, decoding that file on the event loop (0.7-2.5 s here)
turned every probe in flight into a false `timeout`. The rows show the sweep line's worst event-loop
lag while probes ran (the baseline's is what the workload itself costs), the timeouts (target 0),
and how long preparation took.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench import inventories, sshfleet
from bench.fleet import addresses
from bench.table import Row
from bench.tasks import Bench, prober_task
from prober.sim import knownfile

HTTP_PORT = 18110
SSH_PORT = 18022  # the ssh scenario's sshd, started once for both
_PREPARED = re.compile(r'"prepared_ms":\s*([0-9.]+)')


def knownhosts(b: Bench) -> list[Row]:
    n = b.sizes.ssh  # type: ignore[attr-defined]
    lines = b.sizes.known_hosts  # type: ignore[attr-defined]
    name = f"knownhosts {n}+{n} ({lines:,} lines)"
    reason = sshfleet.available()
    if reason:
        return [Row(name, "prober", skipped=reason)]
    ssh_addrs = addresses(b.block + 2, n)  # the same sshd as the ssh scenario
    info = b.fleet.sshd(ssh_addrs, SSH_PORT)
    b.fleet.python_servers("http", addresses(b.block + 7, n), HTTP_PORT)
    host_public = Path(info["known_hosts"]).read_text().split("\n", 1)[0].split(None, 1)[1]
    tasks = []
    for kind in ("baseline", "plain", "hashed"):
        hashed = kind == "hashed"
        real = [knownfile.line(a, SSH_PORT, host_public, hashed_name=hashed) for a in ssh_addrs]
        size = len(real) if kind == "baseline" else lines  # baseline: only the fleet's own lines
        known = knownfile.write(b.work / f"known_hosts-{kind}", real, size, hashed_names=hashed)
        probes = {
            "web": f'{{type: http, url: "http://{{address}}:{HTTP_PORT}/"}}',
            "up": (
                f"{{type: ssh, port: {SSH_PORT}, user: {info['user']}, key: {json.dumps(info['key'])}, "
                f'known_hosts: {json.dumps(str(known))}, agent: false, command: "true"}}'
            ),
        }
        inv = _inventory(b, b.work / f"knownhosts-{kind}.yaml", probes, n)
        tool = f"prober, {n}-line known_hosts" if kind == "baseline" else f"prober, {kind} known_hosts"
        tasks.append(prober_task(tool, inv, note="timeout 2s; target: 0 timeouts"))
    rows = b.run(name, tasks, 2 * n, reference=None)
    for row, task in zip(rows, tasks, strict=True):
        sweep = row.extra.get("sweep")
        if isinstance(sweep, dict) and "errors" in sweep:
            prepared = _PREPARED.findall(task.best.stderr if task.best else "")
            timeouts = sweep["errors"].get("timeout", 0)  # type: ignore[union-attr]
            row.note = (
                f"loop lag max {sweep.get('loop_lag_max_ms')} ms; {timeouts} timeouts; "
                f"prepared in {', '.join(prepared) or '?'} ms (per process); {row.note}"
            )
            row.extra.update(loop_lag_max_ms=sweep.get("loop_lag_max_ms"), timeouts=timeouts)
    return rows


def _inventory(b: Bench, path: Path, probes: dict[str, str], n: int) -> Path:
    """Two groups: `web` runs the HTTP probe on the HTTP addresses, `app` the SSH probe on sshd's."""
    lines = ["defaults:", "  timeout: 2s", "  retries: 0", f"  concurrency: {b.ssh_concurrency}", "probes:"]
    lines += [f"  {name}: {spec}" for name, spec in probes.items()]
    lines.append("groups:")
    for group, probe, block in (("web", "web", b.block + 7), ("app", "up", b.block + 2)):
        lines += [f"  {group}:", f"    probes: [{probe}]", "    hosts:"]
        lines += [f"      - {json.dumps(h)}" for h in inventories.patterns(block, n)]
    path.write_text("\n".join(lines) + "\n")
    return path


__all__ = ["knownhosts"]
