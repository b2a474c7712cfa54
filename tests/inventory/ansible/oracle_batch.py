"""Run ansible-core as the oracle for many inventories in one process (ansible starts in ~0.5 s).

Reads a JSON list of jobs on stdin, prints a JSON list of answers. A job is
{"sources": [...], "list": bool, "export": bool, "patterns": [[pattern, limit or null], ...]}; an answer
has "list"/"export" (what `ansible-inventory --list [--export]` prints, through its own code) and "hosts"
(`InventoryManager.list_hosts(pattern)` after `subset(limit)`, what `ansible PATTERN --list-hosts` lists),
or "error" where ansible refuses. Run with the interpreter that has ansible-core; never imported by tests."""

from __future__ import annotations

import json
import sys
from typing import Any

from ansible.cli.inventory import InventoryCLI
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultSecretsContext
from ansible.utils.context_objects import GlobalCLIArgs


def listing(sources: list[str], export: bool) -> Any:
    args = ["ansible-inventory", *(a for s in sources for a in ("-i", s)), "--list"]
    cli = InventoryCLI([*args, "--export"] if export else args)
    # The CLI keeps its options and vault secrets in process-wide singletons set once; reset them per run.
    GlobalCLIArgs._Singleton__instance = None  # type: ignore[attr-defined]
    VaultSecretsContext._current = None
    cli.parse()
    cli.loader, cli.inventory, cli.vm = cli._play_prereqs()
    data = json.loads(cli.dump(cli.json_inventory(cli._get_group("all"))))
    data["_meta"].pop("profile", None)
    return data


def hosts(sources: list[str], pattern: str, limit: str | None) -> Any:
    inventory = InventoryManager(DataLoader(), sources=sources)
    inventory.subset(limit)
    try:
        return [getattr(h, "name", h) for h in inventory.list_hosts(pattern)]
    except AnsibleError as exc:
        return {"error": str(exc)}


def answer(job: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        if job.get("list"):
            out["list"] = listing(job["sources"], False)
        if job.get("export"):
            out["export"] = listing(job["sources"], True)
        out["hosts"] = [hosts(job["sources"], p, limit) for p, limit in job.get("patterns", [])]
    except (AnsibleError, SystemExit) as exc:
        out["error"] = str(exc)
    return out


if __name__ == "__main__":
    json.dump([answer(job) for job in json.load(sys.stdin)], sys.stdout)
