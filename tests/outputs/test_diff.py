"""`prober diff OLD NEW`: each kind of change, JSON lines or a table on a terminal, exit like the gate."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from prober.results import diff
from prober.results.baseline import Baseline, Outcome
from tests.conftest import ROOT, cli_env, run_cli
from tests.outputs.records import HOSTILE, probe, write_results

OK = Outcome("web", "ok", None, None)
WARN = Outcome("web", "warn", None, "slow")
FAIL = Outcome("web", "fail", "timeout", "no answer")
FAIL2 = Outcome("web", "fail", "refused", "refused")


class TestClassify:
    @pytest.mark.parametrize(
        ("before", "after", "expected"),
        [
            (OK, OK, None),
            (WARN, OK, None),
            (OK, WARN, None),
            (OK, FAIL, "newly_failing"),
            (WARN, FAIL, "newly_failing"),
            (None, FAIL, "newly_failing"),
            (FAIL, FAIL2, "still_failing"),
            (FAIL, OK, "recovered"),
            (FAIL, WARN, "recovered"),
            (None, OK, "added"),
            (None, WARN, "added"),
            (OK, None, "removed"),
            (FAIL, None, "removed"),
        ],
    )
    def test_every_transition(
        self, before: Outcome | None, after: Outcome | None, expected: str | None
    ) -> None:
        """A failure is new unless it failed before (absent counts as not failing)."""
        assert diff.classify(before, after) == expected


def results(tmp_path: Path, name: str, outcomes: dict[str, tuple[str, str | None]]) -> Path:
    """A results file with one `health` probe per host: {host: (status, kind)}."""
    records = [
        probe(host, status=status, kind=kind, message=f"{kind} on {host}" if kind else "", warning=None)
        for host, (status, kind) in outcomes.items()
    ]
    return write_results(tmp_path / name, records)


def change_of(line: str) -> str:
    """The change of a JSON line, or its event for the final `diff` line."""
    obj = json.loads(line)
    return str(obj.get("change", obj["event"]))


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    old = results(
        tmp_path,
        "old.jsonl",
        {
            "same": ("ok", None),
            "breaks": ("ok", None),
            "heals": ("fail", "refused"),
            "stays": ("fail", "timeout"),
            "gone": ("fail", "tls"),
        },
    )
    new = results(
        tmp_path,
        "new.jsonl",
        {
            "same": ("ok", None),
            "breaks": ("fail", "timeout"),
            "heals": ("ok", None),
            "stays": ("fail", "refused"),
            "fresh": ("ok", None),
            "fresh-broken": ("fail", "dns"),
        },
    )
    return old, new


class TestDiffCommand:
    def test_jsonl_lists_each_change_then_a_summary_and_exits_2(self, pair: tuple[Path, Path]) -> None:
        """Newly failing (incl. a new probe that fails), still failing, recovered, added, removed."""
        done = run_cli("diff", str(pair[0]), str(pair[1]))
        assert done.returncode == 2, done.stderr
        lines = [json.loads(line) for line in done.stdout.splitlines()]
        changes = [(line["change"], line["host"]) for line in lines[:-1]]
        assert changes == [
            ("newly_failing", "breaks"),
            ("newly_failing", "fresh-broken"),
            ("still_failing", "stays"),
            ("recovered", "heals"),
            ("added", "fresh"),
            ("removed", "gone"),
        ]
        breaks = lines[0]
        assert breaks["before"] == {"status": "ok", "kind": None, "message": None}
        assert breaks["after"] == {"status": "fail", "kind": "timeout", "message": "timeout on breaks"}
        assert lines[1]["before"] is None and lines[5]["after"] is None
        assert lines[-1]["event"] == "diff" and lines[-1]["exit_code"] == 2
        assert lines[-1]["counts"] == {
            "newly_failing": 2,
            "still_failing": 1,
            "recovered": 1,
            "added": 1,
            "removed": 1,
        }
        assert lines[-1]["old"]["probes"] == 5 and lines[-1]["new"]["probes"] == 6

    def test_nothing_newly_failing_exits_0(self, tmp_path: Path) -> None:
        """Still failing and recovered probes do not fail the gate; only new failures do."""
        old = results(tmp_path, "old.jsonl", {"a": ("fail", "timeout"), "b": ("fail", "refused")})
        new = results(tmp_path, "new.jsonl", {"a": ("fail", "timeout"), "b": ("ok", None)})
        done = run_cli("diff", str(old), str(new))
        assert done.returncode == 0, done.stderr
        assert [change_of(line) for line in done.stdout.splitlines()] == [
            "still_failing",
            "recovered",
            "diff",
        ]

    def test_same_file_twice_exits_0(self, pair: tuple[Path, Path]) -> None:
        """A file against itself: its three failures are still failing, nothing is new."""
        done = run_cli("diff", str(pair[1]), str(pair[1]))
        assert done.returncode == 0, done.stderr
        changes = [change_of(line) for line in done.stdout.splitlines()]
        assert changes == ["still_failing"] * 3 + ["diff"]

    def test_table_format(self, pair: tuple[Path, Path]) -> None:
        """--format table: a header, one row per change, a footer with counts and the exit code."""
        done = run_cli("diff", str(pair[0]), str(pair[1]), "--format", "table")
        rows = done.stdout.splitlines()
        assert rows[0].split() == ["CHANGE", "GROUP", "HOST", "PROBE", "BEFORE", "AFTER", "MESSAGE"]
        assert rows[1].split()[:7] == ["newly", "failing", "web", "breaks", "health", "ok", "timeout"]
        assert len(rows) == 1 + 6 + 1
        assert rows[-1] == (
            "prober diff: 2 newly failing, 1 still failing, 1 recovered, 1 added, 1 removed (exit 2)"
        )

    def test_table_on_a_terminal_jsonl_on_a_pipe(self, pair: tuple[Path, Path]) -> None:
        """Without --format: a table when stdout is a terminal (a real pty here), JSON lines otherwise."""
        leader, follower = pty.openpty()
        proc = subprocess.run(
            [sys.executable, "-m", "prober", "diff", str(pair[0]), str(pair[1])],
            stdout=follower,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=cli_env({"COLUMNS": "100"}),
            cwd=ROOT,
            timeout=60,
        )
        os.close(follower)
        out = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            out += chunk
        os.close(leader)
        text = out.decode()
        assert proc.returncode == 2
        assert text.startswith("CHANGE") and "prober diff: 2 newly failing" in text
        assert all(len(line) <= 100 for line in text.splitlines())
        piped = run_cli("diff", str(pair[0]), str(pair[1]))
        assert piped.stdout.startswith('{"event":"change"')

    def test_hostile_text_stays_on_its_row(self, tmp_path: Path) -> None:
        """Messages with line breaks and terminal escapes: one row per change, no control characters."""
        old = results(tmp_path, "old.jsonl", {f"h{i}": ("ok", None) for i in range(len(HOSTILE))})
        new = write_results(
            tmp_path / "new.jsonl",
            [probe(f"h{i}", status="fail", kind="assertion", message=text) for i, text in enumerate(HOSTILE)],
        )
        done = run_cli("diff", str(old), str(new), "--format", "table")
        rows = done.stdout.splitlines()
        assert len(rows) == 1 + len(HOSTILE) + 1
        assert not any(ch in done.stdout for ch in "\x00\x1b\x07\x7f\x9b\r")

    @pytest.mark.parametrize("fmt", ["jsonl", "table"])
    def test_no_workflow_command_reaches_a_ci_log(self, tmp_path: Path, fmt: str) -> None:
        """A message carrying '##[stop-commands]' (which the Actions runner obeys anywhere in a line)
        comes out inert, and JSON still decodes to the message as recorded."""
        old = results(tmp_path, "old.jsonl", {"a": ("ok", None)})
        text = "##[stop-commands]tok ##[error]fake"
        new = write_results(
            tmp_path / "new.jsonl", [probe("a", status="fail", kind="assertion", message=text)]
        )
        done = run_cli("diff", str(old), str(new), "--format", fmt)
        assert done.returncode == 2 and "##[" not in done.stdout
        if fmt == "jsonl":
            assert json.loads(done.stdout.splitlines()[0])["after"]["message"] == text
        else:
            assert text.replace("##[", "#\u200b#[") in done.stdout


class TestBadInput:
    def test_missing_and_non_prober_files_exit_3_naming_them(
        self, tmp_path: Path, pair: tuple[Path, Path]
    ) -> None:
        """A missing file, a non-JSON line, `prober plan` output: exit 3, the file (and line) named."""
        broken = tmp_path / "broken.jsonl"
        broken.write_text(pair[0].read_text() + "this is not json\n")
        plan = tmp_path / "plan.jsonl"
        plan.write_text('{"event":"plan","index":0,"host":"a"}\n')
        cases = {
            str(tmp_path / "absent.jsonl"): "absent.jsonl: cannot read: No such file or directory",
            str(broken): "broken.jsonl:7: not JSON",
            str(plan): "plan.jsonl:1: event:",
        }
        for bad, expected in cases.items():
            for args in ((bad, str(pair[1])), (str(pair[0]), bad)):
                done = run_cli("diff", *args)
                assert done.returncode == 3, done.stderr
                assert expected in done.stderr and "Traceback" not in done.stderr
                assert done.stdout == ""

    def test_unknown_format_exits_3(self, pair: tuple[Path, Path]) -> None:
        done = run_cli("diff", str(pair[0]), str(pair[1]), "--format", "xml")
        assert done.returncode == 3 and "invalid choice: 'xml'" in done.stderr


class TestCompare:
    def test_order_newly_failing_first_then_group_host_probe(self) -> None:
        old, new = Baseline(), Baseline()
        new.outcomes = {
            ("b", "p"): Outcome("g2", "fail", "timeout", ""),
            ("a", "p"): Outcome("g2", "fail", "timeout", ""),
            ("z", "p"): Outcome("g1", "fail", "timeout", ""),
            ("c", "p"): Outcome("g0", "ok", None, None),
        }
        assert [(c.change, c.host) for c in diff.compare(old, new)] == [
            ("newly_failing", "z"),
            ("newly_failing", "a"),
            ("newly_failing", "b"),
            ("added", "c"),
        ]
