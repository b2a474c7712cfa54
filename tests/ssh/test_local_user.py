"""A uid with no /etc/passwd entry and no $LOGNAME/$USER (a container run as an arbitrary uid):
SSH probes still run. asyncssh asks for the local login name on every connection and raises
ValueError without one, which recorded every SSH probe as `internal`."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.hostile import free_port
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv (another uid)"
)
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMS+728dKlFB3Si2mtkVsJlk4/Wnuta2p7s/L7/mxRBM"


def _uid_without_entry() -> int:
    for uid in range(65533, 60000, -1):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise AssertionError("no free uid")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the other uid can read (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="prober-uid-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_ssh_probes_run_as_a_uid_without_a_name(shared_dir: Path) -> None:
    """As a nameless uid with a bare environment, an SSH probe to a closed port is `refused` (it got
    as far as connecting), not `internal`."""
    port = free_port("127.0.0.1")
    known = shared_dir / "known_hosts"
    known.write_text(f"127.0.0.1 {KEY}\n")
    inventory = shared_dir / "inventory.yaml"
    inventory.write_text(
        "defaults: {timeout: 10s, retries: 0}\n"
        f'probes: {{up: {{type: ssh, user: deploy, port: {port}, command: "true", known_hosts: {known}, '
        "agent: false}}\n"
        'groups: {g: {hosts: ["127.0.0.1"], probes: [up]}}\n'
    )
    for path in (known, inventory):
        path.chmod(0o644)
    uid = _uid_without_entry()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(shared_dir), "PYTHONPATH": str(ROOT)}
    cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", sys.executable, "-m", "prober"]
    proc = subprocess.run(
        [*cmd, "sweep", str(inventory), "-q"], env=env, capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert records and records[0]["event"] == "probe", (proc.returncode, proc.stderr)
    assert records[0]["error"]["kind"] == "refused", records[0]["error"]
