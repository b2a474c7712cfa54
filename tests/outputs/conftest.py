"""Results files written by real sweeps of loopback servers, shared by the report, diff and browser tests."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import Lab
from tests.cli.hostile import ROLES, Handler
from tests.conftest import run_cli

BANNER = b'<script>console.error("banner")</script>\x1b[31m|x|\r\n'


def hostile_banner() -> Handler:
    """A TCP server whose greeting is markup, a terminal escape and table pipes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER)
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.transport.abort()

    return handle


ROLES.setdefault("hostile_banner", hostile_banner)


@dataclass
class Swept:
    """Two sweeps of the same fleet: `old` before and `new` after two web hosts went down."""

    old: Path
    new: Path
    failing_new: set[str]  # hosts with a failing probe in `new`
    broken: set[str]  # web hosts that were fine in `old` and fail in `new`


@pytest.fixture(scope="session")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Swept]:
    """A fleet of ok, slow (warn), refused, hung (timeout), reset and hostile-banner hosts, swept twice."""
    tmp = tmp_path_factory.mktemp("swept")
    lab = Lab(random.randint(100, 250), tmp)
    try:
        web = lab.add("web", "http_ok", 8)
        lab.add("slow", "http_ok", 3, 0.15, probe="slow")
        lab.add("broken", "refused", 3)
        lab.add("hung", "hung", 2)
        lab.add("reset", "reset", 2)
        lab.add("banner", "hostile_banner", 2, probe="banner")
        inventory = lab.inventory(timeout="700ms")
        banner = f'  banner: {{type: tcp, port: {lab.port}, expect: "^SSH-"}}\n'
        text = inventory.read_text().replace("  tcp: {type: tcp", banner + "  tcp: {type: tcp")
        inventory.write_text(text)
        old = tmp / "old.jsonl"
        done = run_cli("sweep", str(inventory), "-o", str(old))
        assert done.returncode == 2, done.stderr
        # Two web hosts go down: their addresses now have no server (refused).
        broken = set(web[:2])
        for index, (name, address) in enumerate(lab.hosts["web"][:2]):
            text = text.replace(
                f"{name}: {{address: {address}}}", f"{name}: {{address: 127.{lab.block}.9.{index + 1}}}"
            )
        inventory.write_text(text)
        new = tmp / "new.jsonl"
        done = run_cli("sweep", str(inventory), "-o", str(new))
        assert done.returncode == 2, done.stderr
        records = [json.loads(line) for line in new.read_text().splitlines()]
        failing = {r["host"] for r in records if r["event"] == "probe" and r["status"] == "fail"}
        assert broken <= failing and len(failing) == 2 + 3 + 2 + 2 + 2, failing
        yield Swept(old, new, failing, broken)
    finally:
        lab.close()
