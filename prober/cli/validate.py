"""`prober validate INVENTORY`: every problem as file:line: key: message (exit 3), or a one-line ok."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from prober.cli.args import LIMIT_HELP, add_shard, limit, typed

if TYPE_CHECKING:  # imported when the command runs: the parser is built for every command
    from prober.shard import Shard


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = sub.add_parser("validate", help="check an inventory and report every problem")
    validate.add_argument("inventory")
    validate.add_argument("--limit", type=typed(limit), help=LIMIT_HELP)
    add_shard(validate)


def command(args: argparse.Namespace) -> int:
    return validate(args.inventory, args.limit, args.shard)


def validate(path: str, limit: list[str] | None = None, shard: Shard | None = None) -> int:
    """Check an inventory end to end (including templating); report every problem or a one-line ok.
    With `shard`, the whole plan is checked and the line counts that shard's part of it, with the
    plan's fingerprint.

    The plan is streamed, never held: a 10^6-probe inventory validates in bounded memory."""
    from prober.plan import iter_plan, load_checked, settings_for
    from prober.shard import plan_fingerprint

    inventory = load_checked(path)
    settings = settings_for(inventory)
    fingerprint = plan_fingerprint(inventory, settings) if shard is not None else None
    hosts: set[str] = set()
    planned = 0
    for job in iter_plan(inventory, settings, limit, shard=shard, fingerprint=fingerprint):
        planned += 1
        hosts.add(job.target.name)
    counts = f"{len(hosts)} hosts, {planned} planned probes"
    if shard is not None and fingerprint is not None:
        counts += f" in shard {shard} (of {fingerprint.jobs}); plan_fingerprint {fingerprint.hexdigest()}"
    sourced = f"; the sources know {len(inventory.source_groups)} groups" if inventory.source_groups else ""
    print(
        f"{path}: ok: {len(inventory.groups)} groups, {len(inventory.probes)} probes, {counts}{sourced}",
        file=sys.stderr,
    )
    return 0
