"""Fixtures for inventories with `sources:`: a directory of files (sources and the inventory), planning."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Lab
from tests.inventory.conftest import Outcome


@pytest.fixture
def lab(loopback_block: int, tmp_path: Path) -> Iterator[Lab]:
    """Loopback servers in a background thread for the test's duration (as tests/cli's)."""
    lab = Lab(loopback_block, tmp_path)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def tree(tmp_path: Path) -> Callable[..., Path]:
    """`tree({"inv.yaml": "...", "hosts.ini": "..."}, executable=("inv.py",))`: dedented files under
    tmp_path (directories made as needed); returns tmp_path."""

    def write(files: dict[str, str], executable: tuple[str, ...] = ()) -> Path:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
            path.chmod(0o755 if name in executable else 0o644)
        return tmp_path

    return write


def plan_records(outcome: Outcome) -> list[dict[str, Any]]:
    assert outcome.code == 0, outcome.err
    return [json.loads(line) for line in outcome.out.splitlines() if line]


def by_host(records: list[dict[str, Any]], probe: str | None = None) -> dict[str, dict[str, Any]]:
    return {r["host"]: r for r in records if probe is None or r["probe"] == probe}


def errors(outcome: Outcome) -> list[str]:
    """The `error:` lines of a failed run (exit 3, nothing on stdout, no traceback)."""
    assert outcome.code == 3, (outcome.code, outcome.err)
    assert outcome.out == ""
    assert "Traceback" not in outcome.err
    return [line.removeprefix("error: ") for line in outcome.err.splitlines() if line.startswith("error: ")]
