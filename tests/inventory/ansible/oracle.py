"""ansible-core as the test oracle: its CLIs and its InventoryManager, in child processes."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
BIN = Path(sys.executable).parent
HAVE_ANSIBLE = importlib.util.find_spec("ansible") is not None
SKIP_REASON = "ansible-core cannot be imported (install the test extra: pip install -e '.[test]')"


def ansible_env(home: Path) -> dict[str, str]:
    """Default configuration whatever the machine has (~/.ansible.cfg, ANSIBLE_* variables); every
    unparsable source an error, as prober treats it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    config = home / "ansible.cfg"
    config.write_text("")
    env.update(
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1",
        ANSIBLE_INVENTORY_UNPARSED_FAILED="1",
    )
    return env


class Oracle:
    """Runs ansible in a child process with a clean configuration; cwd is a scratch directory."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.env = ansible_env(home)

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / tool), *args], capture_output=True, text=True, env=self.env, cwd=self.home,
            stdin=subprocess.DEVNULL, timeout=300,
        )  # fmt: skip

    def inventory_list(self, *sources: str, export: bool = False) -> Any:
        """What `ansible-inventory -i SRC... --list [--export]` prints, parsed (profile left out)."""
        args = [a for s in sources for a in ("-i", s)] + ["--list"] + (["--export"] if export else [])
        done = self.run("ansible-inventory", *args)
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        data["_meta"].pop("profile", None)
        return data

    def graph(self, *sources: str) -> str:
        done = self.run("ansible-inventory", *[a for s in sources for a in ("-i", s)], "--graph")
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def list_hosts(self, source: str, pattern: str, limit: str | None = None) -> list[str]:
        """`ansible PATTERN -i SRC [--limit L] --list-hosts`; [] where it says nothing matched."""
        done = self.run(
            "ansible", pattern, "-i", source, "--list-hosts", *(["--limit", limit] if limit else [])
        )
        if done.returncode != 0:
            assert "no hosts" in done.stderr.lower() or "No hosts matched" in done.stderr, done.stderr
            return []
        lines = done.stdout.strip().splitlines()
        assert lines[0].strip().startswith("hosts ("), done.stdout
        return [line.strip() for line in lines[1:]]

    def batch(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Many inventories in one ansible process (oracle_batch.py)."""
        done = subprocess.run(
            [sys.executable, str(HERE / "oracle_batch.py")], input=json.dumps(jobs), capture_output=True,
            text=True, env=self.env, cwd=self.home, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)
