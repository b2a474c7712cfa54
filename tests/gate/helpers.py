"""Helpers for the gate's process-level tests: inventories with per-group keys, sweeps as processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.cli.conftest import Lab, no_traceback, records
from tests.conftest import run_cli

Hosts = dict[str, list[tuple[str, str]]]


def write(
    lab: Lab,
    groups: dict[str, dict[str, Any]],
    defaults: dict[str, Any] | None = None,
    name: str = "inventory.yaml",
    hosts: Hosts | None = None,
) -> Path:
    """An inventory of the lab's hosts: `groups` maps a lab group to its keys besides hosts
    (probes: default [web]; max_fail, labels, vars...); `hosts` replaces the lab's host lists."""
    # A generous timeout: healthy hosts answer in ms, and a loaded CI machine must not fail them.
    settings = {"timeout": "10s", "retries": 0, "concurrency": 64, **(defaults or {})}
    lines = ["defaults:", *(f"  {key}: {json.dumps(value)}" for key, value in settings.items())]
    lines += [
        "probes:",
        f'  web: {{type: http, url: "http://{{address}}:{lab.port}/", expect_status: [200]}}',
        f'  slow: {{type: http, url: "http://{{address}}:{lab.port}/", latency_warn: 50ms}}',
        f"  tcp: {{type: tcp, port: {lab.port}}}",
        "groups:",
    ]
    for group, keys in groups.items():
        lines.append(f"  {group}:")
        lines += [f"    {key}: {json.dumps(value)}" for key, value in {"probes": ["web"], **keys}.items()]
        lines.append("    hosts:")
        lines += [f"      {host}: {{address: {address}}}" for host, address in (hosts or lab.hosts)[group]]
    path = lab.tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


Swept = tuple[subprocess.CompletedProcess[str], list[Any]]


def sweep(*args: str, env: dict[str, str] | None = None) -> Swept:
    """`prober sweep ARGS` to completion: the process, and its stdout's records when it wrote JSON."""
    proc = run_cli("sweep", *args, timeout=90, env=env)
    no_traceback(proc.stderr)
    return proc, records(proc.stdout) if proc.stdout.startswith("{") else []


def gate_of(lines: list[Any]) -> dict[str, Any]:
    """The sweep line's gate (the last line)."""
    assert lines and lines[-1]["event"] == "sweep", lines[-1:]
    gate: dict[str, Any] = lines[-1]["gate"]
    return gate
