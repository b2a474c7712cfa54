"""PROBER_NO_PATCHES=1 switches every library patch off; each patch module documents itself."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys

import pytest

import prober._patches as package
from prober._patches import SWITCH, enabled
from tests.conftest import ROOT, cli_env

SECTIONS = ("Private API:", "Tested with:", "Gain:", "Guard:", "Switch:", "Test:")
MODULES = sorted(info.name for info in pkgutil.iter_modules(package.__path__))

# Everything a sweep with HTTP and SSH probes builds, and whether each patch is in it.
FACTS = """
import asyncio, json, ssl
import asyncssh
from asyncssh import logging as ssh_logging
from prober._patches import aiohttpload, connector, interim, sshconnect, sshlog
from prober.probes import probe_for
from prober.probes.ssh import knownhosts
from prober.runtime.resources import Resources

probe_for("http"), probe_for("ssh")

async def facts():
    res = Resources()
    session = res.http_session()
    try:
        return {
            "aiohttp CA-free": aiohttpload.ca_free(),
            "asyncssh log wrapped": getattr(ssh_logging.SSHLogger, sshlog._MARK, False),
            "ssh connect fast": sshconnect.active(),
            "direct connector": type(session.connector) is connector.DirectConnector,
            "1xx guard": session.connector._factory.func is interim.InterimGuard,
            "no re-send attribute": session._retry_connection is False,
            "no re-send middleware": bool(session._middlewares),
            "known_hosts index": type(knownhosts.read(KH)) is knownhosts.PreparedKnownHosts,
        }
    finally:
        await res.aclose()

print(json.dumps(asyncio.run(facts())))
"""


def _facts(switch: str, tmp_path: object) -> dict[str, bool]:
    known = f"{tmp_path}/known_hosts"
    with open(known, "w") as handle:
        handle.write(f"127.0.0.1 ssh-ed25519 {'A' * 68}\n")
    script = FACTS.replace("KH", repr(known))
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=cli_env({SWITCH: switch}),
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_every_patch_on_by_default(tmp_path: object) -> None:
    """Without the switch each patch is in place, and the public no-re-send fallback is not needed."""
    facts = _facts("", tmp_path)
    assert facts.pop("no re-send middleware") is False
    assert all(facts.values()), facts


def test_every_patch_off_with_the_switch(tmp_path: object) -> None:
    """PROBER_NO_PATCHES=1: aiohttp and asyncssh as they come (no-re-send by a public middleware)."""
    facts = _facts("1", tmp_path)
    assert facts.pop("no re-send middleware") is True
    assert not any(facts.values()), facts


@pytest.mark.parametrize(("value", "on"), [("", True), ("0", True), ("1", False), ("yes", False)])
def test_switch_values(value: str, on: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SWITCH, value)
    assert enabled() is on


def test_unset_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SWITCH, raising=False)
    assert enabled()


@pytest.mark.parametrize("name", MODULES)
def test_module_documents_itself(name: str) -> None:
    """Each patch's docstring has every section, names the versions tested, and names a test file
    that exists and tests that module's guard."""
    doc = importlib.import_module(f"prober._patches.{name}").__doc__ or ""
    positions = [doc.find(section) for section in SECTIONS]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), (name, positions)
    assert re.search(r"Tested with: (aiohttp|asyncssh) \d+\.\d+\.\d+", doc), name
    tests = re.findall(r"tests/[\w/]+\.py", doc[doc.find("Test:") :])
    assert tests and all((ROOT / t).is_file() for t in tests), tests
    assert "def test_guard_" in (ROOT / tests[0]).read_text(), tests[0]
    assert "_patches import" in (ROOT / tests[0]).read_text() and name in (ROOT / tests[0]).read_text()


def test_modules_listed() -> None:
    """The package holds the patches the README lists (one module per patch)."""
    assert MODULES == [
        "aiohttpload", "asyncsshload", "connector", "hostmatch", "interim", "noretry", "sshconnect", "sshlog",
    ]
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in MODULES)
