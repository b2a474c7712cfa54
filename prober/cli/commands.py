"""The non-sweep commands: validate, plan and demo."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from prober import redact
from prober.inventory import load_inventory
from prober.model import HTTPSpec, Job
from prober.plan import iter_plan, settings_for
from prober.runtime.sweep import SweepFlags, execute, finish, load, run_loop
from prober.sinks.jsonl import dumps


def validate(path: str) -> int:
    """Check an inventory end to end (including templating); report every problem or a one-line ok.

    The plan is streamed, never held: a 10^6-probe inventory validates in bounded memory."""
    inventory = load_inventory(path)
    hosts: set[str] = set()
    planned = 0
    for job in iter_plan(inventory, settings_for(inventory)):
        planned += 1
        hosts.add(job.target.name)
    print(
        f"{path}: ok: {len(inventory.groups)} groups, {len(inventory.probes)} probes, "
        f"{len(hosts)} hosts, {planned} planned probes",
        file=sys.stderr,
    )
    return 0


def plan_record(job: Job) -> dict[str, Any]:
    """One planned probe with its resolved parameters; secrets redacted."""
    spec = job.spec
    params: dict[str, Any] = {
        f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name != "name"
    }
    if isinstance(spec, HTTPSpec):
        params["url"] = redact.url(spec.url, spec.safe_query)
        params["headers"] = redact.headers(spec.headers, spec.safe_headers)
        params["headers_env"] = dict(spec.headers_env)  # variable names, never their values
        params["expect_status"] = [f"{lo}-{hi}" if lo != hi else lo for lo, hi in spec.expect_status]
    return {
        "event": "plan",
        "index": job.index,
        "host": job.target.name,
        "address": job.target.address,
        "group": job.target.group,
        "probe": spec.name,
        "type": spec.kind,
        "params": params,
    }


def plan(path: str, limit: list[str] | None) -> int:
    """Print the plan as JSON lines, each whole (never cut like result lines); nothing is contacted.

    Two streamed passes: the first only checks (so bad input prints no line at all, and exits 3), the
    second prints; the plan is never held whole."""
    inventory = load_inventory(path)
    settings = settings_for(inventory)
    collections.deque(iter_plan(inventory, settings, limit), maxlen=0)
    out = sys.stdout
    try:
        for job in iter_plan(inventory, settings, limit):
            out.write(orjson.dumps(plan_record(job)).decode() + "\n")
        out.flush()
    except BrokenPipeError:
        # `prober plan | head`: the reader has gone; point stdout at /dev/null so exit stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    return 0


def demo(*, hosts: int = 200, keep: bool = False) -> int:
    """Start a simulated fleet on loopback, sweep it, print the results and the summary."""
    workdir = Path(tempfile.mkdtemp(prefix="prober-demo-"))
    return run_loop(_demo(workdir, hosts, keep))


async def _demo(workdir: Path, hosts: int, keep: bool) -> int:
    from prober.record import new_run_id
    from prober.sim import Fleet

    async with Fleet(size=hosts, workdir=workdir) as fleet:
        path = fleet.write_inventory(checks=True)
        print(
            f"prober demo: {hosts} simulated hosts on 127.{fleet.block}.0.0/16; inventory: {path}",
            file=sys.stderr,
        )
        _, settings, jobs = load(str(path), SweepFlags())
        run_id = new_run_id()
        summary, stop_reason, duration, _ = await execute(
            jobs, settings, out_fd=sys.stdout.fileno(), run_id=run_id
        )
    code = finish(
        summary,
        settings,
        stop_reason=stop_reason,
        duration=duration,
        out_fd=sys.stdout.fileno(),
        run_id=run_id,
    )
    if not keep:
        _remove(workdir)
    return code


def _remove(workdir: Path) -> None:
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)


__all__ = ["demo", "plan", "validate"]
_ = (asyncio, dumps)
