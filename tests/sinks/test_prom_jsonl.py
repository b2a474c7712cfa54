"""The Prometheus sink fed from JSONL: a real `prober sweep -o FILE`, appended sweeps, bad lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prober.errors import InventoryError
from prober.sinks.prom import load_jsonl
from tests.cli.conftest import Lab
from tests.conftest import run_cli
from tests.sinks.promtext import value


@pytest.fixture
def lab(loopback_block: int, tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(loopback_block, tmp_path)
    try:
        yield lab
    finally:
        lab.close()


class TestLoadJsonl:
    def test_real_sweep_output(self, lab: Lab, tmp_path: Path) -> None:
        """The records and sweep line of a real sweep (2 hosts up, 1 refused) read back as metrics."""
        up = lab.add("web", "http_ok", 2)
        down = lab.add("web", "refused", 1)
        output = tmp_path / "out.jsonl"
        done = run_cli("sweep", str(lab.inventory()), "-o", str(output), "-q")
        assert done.returncode == 2, done.stderr
        text = load_jsonl(str(output)).render()
        assert value(text, "probe_success", host=up[0], group="web", probe="web", type="http") == 1
        assert value(text, "probe_http_status_code", host=up[1]) == 200
        assert value(text, "probe_success", host=down[0]) == 0
        assert value(text, "prober_probe_error_info", host=down[0], kind="refused") == 1
        assert value(text, "prober_sweep_probes", status="ok") == 2
        assert value(text, "prober_sweep_planned_probes") == 3

    def test_appended_sweeps_latest_wins(self, lab: Lab, tmp_path: Path) -> None:
        """Two sweeps appended to one file (as `watch -o` will): each key shows its latest record."""
        (host,) = lab.add("web", "http_ok", 1)
        first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
        inventory = lab.inventory()
        assert run_cli("sweep", str(inventory), "-o", str(first), "-q").returncode == 0
        address = lab.hosts["web"][0][1]
        moved = inventory.read_text().replace(address, f"127.{lab.block}.9.9")  # nothing listens there
        inventory.write_text(moved)
        assert run_cli("sweep", str(inventory), "-o", str(second), "-q").returncode == 2
        both = tmp_path / "both.jsonl"
        both.write_bytes(first.read_bytes() + second.read_bytes())
        metrics = load_jsonl(str(both))
        assert len(metrics) == 1
        text = metrics.render()
        assert value(text, "probe_success", host=host) == 0
        assert value(text, "prober_sweeps_total") == 2

    @pytest.mark.parametrize(
        ("line", "why"),
        [
            ("not json", "not a prober record"),
            ("[1, 2]", "not a JSON object"),
            ('{"event": "other"}', "neither 'probe' nor 'sweep'"),
            ('{"event": "probe", "host": "h"}', "needs 'probe'"),
            ('{"event": "sweep", "planned": 1}', "sweep line with a bad or missing value"),
        ],
    )
    def test_bad_line_names_file_and_line(self, tmp_path: Path, line: str, why: str) -> None:
        """A line that is not a prober record is an InventoryError naming file:line and why."""
        path = tmp_path / "bad.jsonl"
        path.write_text("\n" + line + "\n")
        with pytest.raises(InventoryError) as caught:
            load_jsonl(str(path))
        (problem,) = caught.value.problems
        assert (problem.file, problem.line) == (str(path), 2) and why in problem.message

    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that cannot be read is an InventoryError, not a traceback."""
        with pytest.raises(InventoryError, match="cannot read"):
            load_jsonl(str(tmp_path / "nope.jsonl"))
