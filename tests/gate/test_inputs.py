"""`-` reads the inventory from stdin (errors say `<stdin>:LINE`); `-o FILE --append` appends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Lab, probes, records
from tests.conftest import ROOT, cli_env
from tests.gate.helpers import sweep, write


def with_stdin(text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prober", *args],
        input=text, capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=90,
    )  # fmt: skip


class TestStdin:
    def test_sweep_reads_the_inventory_from_stdin(self, lab: Lab) -> None:
        """`prober sweep -` with the inventory piped in: the same records as from the file."""
        lab.add("web", "http_ok", 2)
        text = write(lab, {"web": {}}).read_text()
        proc = with_stdin(text, "sweep", "-")
        assert proc.returncode == 0, proc.stderr
        assert sorted(r["host"] for r in probes(records(proc.stdout))) == [h for h, _ in lab.hosts["web"]]

    def test_errors_name_stdin_and_the_line(self, lab: Lab) -> None:
        """A bad key in a piped inventory: `<stdin>:LINE: key: message`, exit 3, for sweep, validate
        and plan alike."""
        lab.add("web", "http_ok", 1)
        text = write(lab, {"web": {"max_fail": "lots"}}).read_text()
        line = text.splitlines().index('    max_fail: "lots"') + 1
        for command in ("sweep", "validate", "plan"):
            proc = with_stdin(text, command, "-")
            assert proc.returncode == 3 and proc.stdout == ""
            assert f"<stdin>:{line}: groups.web.max_fail: expected a count" in proc.stderr
        proc = with_stdin("groups: [\n", "validate", "-")
        assert proc.returncode == 3 and proc.stderr.startswith("error: <stdin>:2: groups: YAML: ")


class TestAppend:
    def test_append_keeps_earlier_sweeps(self, lab: Lab, tmp_path: Path) -> None:
        """Two sweeps with -o FILE --append: both sweeps' records and sweep lines, in order; without
        --append the file holds only the last sweep."""
        lab.add("web", "http_ok", 2)
        inventory = str(write(lab, {"web": {}}))
        out = tmp_path / "results.jsonl"
        for _ in range(2):
            assert sweep(inventory, "-o", str(out), "--append")[0].returncode == 0
        lines = records(out.read_text())
        assert [r["event"] for r in lines] == ["probe", "probe", "sweep"] * 2
        assert lines[0]["run_id"] != lines[-1]["run_id"]
        sweep(inventory, "-o", str(out))
        assert [r["event"] for r in records(out.read_text())] == ["probe", "probe", "sweep"]
