"""`prober plan INVENTORY`: the planned probes as JSON lines with their parameters, secrets redacted."""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prober.cli.args import LIMIT_HELP, add_shard, limit, typed

if TYPE_CHECKING:  # imported when the command runs: the parser is built for every command
    from prober.model import Job
    from prober.probes.registry import ProbeKind
    from prober.shard import Shard


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan = sub.add_parser("plan", help="print the planned probes as JSON lines; contact nothing")
    plan.add_argument("inventory")
    plan.add_argument(
        "--limit", type=typed(limit), help=LIMIT_HELP
    )
    add_shard(plan)


def command(args: argparse.Namespace) -> int:
    return plan(args.inventory, args.limit, args.shard)


def plan_record(job: Job, kind_of: Callable[[str], ProbeKind[Any]]) -> dict[str, Any]:
    """One planned probe with its resolved parameters (`kind_of`: registry.get); secrets redacted."""
    spec = job.spec
    params: dict[str, Any] = {
        f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name != "name"
    }
    shown = kind_of(spec.kind).shown
    if shown is not None:  # the kind's own view of its parameters: secrets redacted
        params.update(shown(spec))
    record = {
        "event": "plan",
        "index": job.index,
        "host": job.target.name,
        "address": job.target.address,
        "group": job.target.group,
        "probe": spec.name,
        "type": spec.kind,
        "params": params,
    }
    if job.target.labels:  # what every result record of this probe will carry
        record["labels"] = job.target.labels
    return record


def plan(path: str, limit: list[str] | None, shard: Shard | None = None) -> int:
    """Print the plan (with `shard`, that shard's part) as JSON lines, each whole (never cut like
    result lines); nothing is contacted.

    Two streamed passes: the first only checks (so bad input prints no line at all, and exits 3) and
    computes the plan's fingerprint, the second prints; the plan is never held whole. A sharded
    plan's lines carry the shard and the fingerprint a `sweep --shard` of the same file (and flags
    that leave the inventory's defaults alone) writes."""
    import orjson

    from prober.plan import iter_plan, load_checked, settings_for
    from prober.probes import registry
    from prober.shard import plan_fingerprint, stamp

    inventory = load_checked(path)
    settings = settings_for(inventory)
    fingerprint = plan_fingerprint(inventory, settings) if shard is not None else None
    collections.deque(iter_plan(inventory, settings, limit, fingerprint=fingerprint), maxlen=0)
    extra = stamp(shard, fingerprint) if shard is not None and fingerprint is not None else {}
    out = sys.stdout
    try:
        for job in iter_plan(inventory, settings, limit, shard):
            out.write(orjson.dumps({**plan_record(job, registry.get), **extra}).decode() + "\n")
        out.flush()
    except BrokenPipeError:
        # `prober plan | head`: the reader has gone; point stdout at /dev/null so exit stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    return 0
