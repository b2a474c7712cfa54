"""The parser is built from every command's arguments, so a command module's top imports only what its
arguments need: `prober --version`, `--help` and bad usage never load the libraries of a sweep."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, cli_env

# Each costs 10-70 ms to import here (structlog ~70, aiohttp ~280, asyncssh ~370): `prober --version`
# took 0.14 s instead of 0.03 s when the command modules imported them at the top.
HEAVY = ("structlog", "orjson", "aiohttp", "asyncssh", "yaml", "prometheus_client", "dns", "fractions")
SCRIPT = """
import sys
from prober.cli import build_parser
try:
    build_parser().parse_args(sys.argv[1:])
except SystemExit:
    pass
print("loaded:" + ",".join(sorted(m for m in {heavy} if m in sys.modules)))
"""


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["sweep", "--help"], ["sweep"]])
def test_building_the_parser_loads_no_heavy_library(argv: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(heavy=HEAVY), *argv],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.splitlines()[-1] == "loaded:", out.stdout
