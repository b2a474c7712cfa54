"""`prober validate INVENTORY`: every problem as file:line: key: message (exit 3), or a one-line ok."""

from __future__ import annotations

import argparse
import sys

from prober.cli.args import add_shard
from prober.inventory import load_inventory
from prober.plan import iter_plan, settings_for
from prober.shard import Shard, plan_fingerprint


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = sub.add_parser("validate", help="check an inventory and report every problem")
    validate.add_argument("inventory")
    add_shard(validate)


def command(args: argparse.Namespace) -> int:
    return validate(args.inventory, args.shard)


def validate(path: str, shard: Shard | None = None) -> int:
    """Check an inventory end to end (including templating); report every problem or a one-line ok.
    With `shard`, the whole plan is checked and the line counts that shard's part of it, with the
    plan's fingerprint.

    The plan is streamed, never held: a 10^6-probe inventory validates in bounded memory."""
    inventory = load_inventory(path)
    settings = settings_for(inventory)
    fingerprint = plan_fingerprint(inventory, settings) if shard is not None else None
    hosts: set[str] = set()
    planned = 0
    for job in iter_plan(inventory, settings, shard=shard, fingerprint=fingerprint):
        planned += 1
        hosts.add(job.target.name)
    counts = f"{len(hosts)} hosts, {planned} planned probes"
    if shard is not None and fingerprint is not None:
        counts += f" in shard {shard} (of {fingerprint.jobs}); plan_fingerprint {fingerprint.hexdigest()}"
    print(
        f"{path}: ok: {len(inventory.groups)} groups, {len(inventory.probes)} probes, {counts}",
        file=sys.stderr,
    )
    return 0
