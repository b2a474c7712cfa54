"""Fixtures for the shard tests: the loopback lab of tests/cli."""

from tests.cli.conftest import lab  # noqa: F401 - the fixture, re-exported for this folder
