"""Fixtures for inventory tests: run the CLI in-process and capture what it prints."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from prober.cli import main

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Outcome:
    """Exit code and captured output of one in-process CLI call."""

    code: int
    out: str
    err: str


def call_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    """Run `prober ARGS` through prober.cli.main in this process; argparse exits become codes too."""
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """`cli("validate", path)` → Outcome(code, out, err), in-process."""

    def run(*args: str | Path) -> Outcome:
        return call_cli(capsys, *(str(a) for a in args))

    return run


@pytest.fixture
def inventory_file(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented YAML to a file under tmp_path and return its path."""

    def write(text: str, name: str = "inv.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write
