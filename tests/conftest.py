"""Shared test helpers: run the CLI as a subprocess, write inventories, pick loopback blocks."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a `python -m prober` child that imports this checkout's package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("SSH_AUTH_SOCK", None)
    env.update(extra or {})
    return env


def run_cli(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m prober ARGS` to completion, capturing stdout and stderr as text."""
    return subprocess.run(
        [sys.executable, "-m", "prober", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(env),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def write_inventory(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write dedented YAML text to tmp_path/inventory.yaml and return its path."""

    def write(text: str, name: str = "inventory.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture
def loopback_block() -> int:
    """A random second octet so concurrent fleets on 127.<block>.y.z do not collide."""
    return random.randint(100, 250)
