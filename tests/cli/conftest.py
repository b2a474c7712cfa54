"""Fixtures for process-level tests: a loopback lab of servers in a background thread, inventories for it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.hostile import ServerThread, free_port
from tests.conftest import ROOT, cli_env


class Lab:
    """Hosts on 127.<block>.0.x, one shared port; each address gets a role's server (or none: refused)."""

    def __init__(self, block: int, tmp_path: Path) -> None:
        self.block = block
        self.tmp_path = tmp_path
        self.port = free_port(f"127.{block}.0.1")
        self.thread = ServerThread()
        self._next = 1
        self.hosts: dict[str, list[tuple[str, str]]] = {}
        self.probe_of: dict[str, str] = {}

    def add(self, group: str, role: str, count: int, *args: Any, probe: str = "web") -> list[str]:
        """Start `count` servers of `role` ('refused' starts none) probed by `probe`; return host names."""
        self.probe_of[group] = probe
        names = []
        for _ in range(count):
            index = self._next
            self._next += 1
            address = f"127.{self.block}.{index // 250}.{index % 250 + 1}"
            if role != "refused":
                self.thread.serve(role, address, self.port, *args)
            name = f"{role}{index:04d}"
            self.hosts.setdefault(group, []).append((name, address))
            names.append(name)
        return names

    def inventory(self, name: str = "inventory.yaml", **defaults: Any) -> Path:
        """Write an inventory of every group (probes web: HTTP 200, slow: latency_warn 50ms, tcp)."""
        settings = {"timeout": "2s", "retries": 0, "concurrency": 64, **defaults}
        lines = ["defaults:", *(f"  {key}: {json.dumps(value)}" for key, value in settings.items())]
        lines += [
            "probes:",
            f'  web: {{type: http, url: "http://{{address}}:{self.port}/", expect_status: [200]}}',
            f'  slow: {{type: http, url: "http://{{address}}:{self.port}/", latency_warn: 50ms}}',
            f"  tcp: {{type: tcp, port: {self.port}}}",
            "groups:",
        ]
        for group, members in self.hosts.items():
            lines += [f"  {group}:", f"    probes: [{self.probe_of[group]}]", "    hosts:"]
            lines += [f"      {host}: {{address: {address}}}" for host, address in members]
        path = self.tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return path

    def close(self) -> None:
        self.thread.close()


@pytest.fixture
def lab(loopback_block: int, tmp_path: Path) -> Iterator[Lab]:
    """A lab of loopback servers running in a background thread for the test's duration."""
    lab = Lab(loopback_block, tmp_path)
    try:
        yield lab
    finally:
        lab.close()


def popen_cli(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start `python -m prober ARGS` with stdout/stderr piped (binary)."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, "-m", "prober", *args],
        env=cli_env(kwargs.pop("env", None)),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


def records(stdout: str | bytes) -> list[dict[str, Any]]:
    """Every stdout line parsed as JSON (fails the test on a line that is not valid JSON)."""
    text = stdout.decode() if isinstance(stdout, bytes) else stdout
    return [json.loads(line) for line in text.splitlines()]


def probes(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rec for rec in lines if rec["event"] == "probe"]


def no_traceback(stderr: str | bytes) -> None:
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text, text[-3000:]
    assert "BrokenPipe" not in text, text[-3000:]


class FleetThread:
    """prober.sim's Fleet running on its own event loop in a background thread."""

    def __init__(self, size: int, workdir: Path, block: int) -> None:
        import asyncio
        import threading

        from prober.sim import Fleet

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.fleet = Fleet(size=size, workdir=workdir, block=block)
        asyncio.run_coroutine_threadsafe(self.fleet.start(), self.loop).result(60)

    def close(self) -> None:
        import asyncio
        import contextlib

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.fleet.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture
def sim_fleet(tmp_path: Path, loopback_block: int) -> Iterator[FleetThread]:
    """A 200-host simulated fleet (HTTP, TCP, SSH, refused, hung) served from a background thread."""
    fleet = FleetThread(200, tmp_path / "fleet", loopback_block)
    try:
        yield fleet
    finally:
        fleet.close()
