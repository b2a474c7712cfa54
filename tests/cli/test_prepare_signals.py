"""A signal while the sweep is being prepared (a long hashed known_hosts match) stops it at once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import asyncssh
import pytest

from prober.sim import knownfile
from tests.cli.conftest import no_traceback, popen_cli, records
from tests.conftest import ROOT


def _matchers() -> list[int]:
    """Hashed-matching worker processes started from this checkout that are still alive."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
            cwd = os.readlink(entry / "cwd")
        except (OSError, ValueError):
            continue
        if b"prober.probes.ssh.knownhash" in cmdline and cwd == str(ROOT):
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def slow_to_prepare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 SSH targets and 100,000 hashed known_hosts lines: ~4 s of HMACs before any probe runs."""
    root = tmp_path_factory.mktemp("prep")
    known = knownfile.write(root / "known_hosts", [], 100_000, hashed_names=True)
    key = root / "id"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(key))
    hosts = ", ".join(f"127.66.0.{i}" for i in range(1, 81))
    inventory = root / "inventory.yaml"
    probe = f'{{type: ssh, port: 2222, user: x, key: {key}, known_hosts: {known}, command: "true"}}'
    inventory.write_text(
        f"defaults: {{timeout: 1s, retries: 0}}\nprobes:\n  up: {probe}\n"
        f"groups:\n  g: {{probes: [up], hosts: [{hosts}]}}\n"
    )
    return inventory


@pytest.mark.parametrize("workers", ["1", "2"])
def test_signal_while_preparing(slow_to_prepare: Path, tmp_path: Path, workers: str) -> None:
    """SIGINT during preparation (in the engine's thread, or in the parent before it forks): exit 130
    within a second, a cancelled record for every probe, no traceback, no matching process left."""
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = popen_cli("sweep", str(slow_to_prepare), "--workers", workers, stderr=err)
        deadline = time.monotonic() + 20
        while b"sweep starting" not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.8)  # well inside the ~4 s of matching
        assert b"probes starting" not in log.read_bytes(), "preparation ended before the signal"
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        assert proc.stdout is not None
        out = proc.stdout.read()
        code = proc.wait(timeout=15)
    assert code == 130 and time.monotonic() - sent < 3
    lines = records(out)
    assert lines[-1]["counts"]["fail"] == 80 and lines[-1]["errors"] == {"cancelled": 80}
    assert all(r["attempts"] == 0 for r in lines[:-1])
    no_traceback(log.read_text())
    time.sleep(0.2)
    assert _matchers() == []
