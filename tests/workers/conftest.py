"""Fixtures for the --workers tests: a loopback fleet run in child processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.fleet import Fleet


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    """A bench Fleet whose servers, rules and users are torn down after the test."""
    workdir = tmp_path / "fleet"
    workdir.mkdir()
    with Fleet(workdir) as running:
        yield running
