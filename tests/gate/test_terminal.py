"""The terminal, on real ptys: a table instead of JSON on a terminal stdout, a live progress line on a
terminal stderr (never on a pipe, never inside another line), -q, and the collapsed failing hosts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import Lab
from tests.gate.helpers import write
from tests.gate.terminal import CLEAR, run, visible_lines

PROGRESS = re.compile(
    r"prober: ([\d,]+)/([\d,]+) probes · ok (\d+) · warn (\d+) · fail (\d+) · [\d,]+/s · ETA"
)


@pytest.fixture
def fleet(lab: Lab) -> Path:
    """web: 3 healthy hosts and 2 refused; slow: one host over its latency_warn; hung: 4 black holes
    (timeout 1.5 s), so the sweep lasts long enough for the progress line to move."""
    lab.add("web", "http_ok", 3)
    lab.add("web", "refused", 2)
    lab.add("slow", "http_ok", 1, 0.2)
    lab.add("hung", "hung", 4)
    groups = {"web": {}, "slow": {"probes": ["slow"]}, "hung": {"max_fail": 4}}
    return write(lab, groups, defaults={"timeout": "1500ms"})


class TestTable:
    def test_terminal_stdout_gets_a_table_of_what_is_not_ok(self, fleet: Path, lab: Lab) -> None:
        """stdout on a terminal: grouped rows by group and error kind (with host, probe, latency,
        message) and a count line; no JSON."""
        ran = run("sweep", str(fleet), stdout_tty=True)
        assert ran.code == 2
        assert "{" not in ran.out
        lines = ran.out.splitlines()
        assert "hung · timeout · 4 probe(s)" in lines and "web · refused · 2 probe(s)" in lines
        assert "slow · warn · 1 probe(s)" in lines
        for host, _ in lab.hosts["web"][3:]:
            assert any(line.startswith(f"  {host} ") and "refused" in line.lower() for line in lines)
        assert lines[-1] == "10 probes: 3 ok, 1 warn, 6 fail"
        assert all(len(line) <= 100 for line in lines)

    def test_format_jsonl_on_a_terminal(self, fleet: Path) -> None:
        """--format jsonl: JSON lines even on a terminal (and no progress line among them)."""
        ran = run("sweep", str(fleet), "--format", "jsonl", same_tty=True)
        records = [json.loads(line) for line in ran.out.splitlines() if line.startswith("{")]
        assert len([r for r in records if r["event"] == "probe"]) == 10
        assert CLEAR not in ran.out

    def test_all_ok_says_so(self, lab: Lab) -> None:
        lab.add("web", "http_ok", 2)
        ran = run("sweep", str(write(lab, {"web": {}})), stdout_tty=True)
        assert (ran.code, ran.out) == (0, "all 2 probes ok\n")


class TestProgress:
    @pytest.mark.parametrize("workers", ["1", "2"])
    def test_live_on_a_terminal_never_inside_another_line(self, fleet: Path, workers: str) -> None:
        """stderr on a terminal: the progress line is redrawn in place (its counts grow to the end),
        and no diagnostic or summary line ever shows progress text: each clears it first. Under
        --workers the workers' own diagnostics clear it too."""
        ran = run("sweep", str(fleet), "--workers", workers, stderr_tty=True)
        drawn = [tuple(int(g.replace(",", "")) for g in m.groups()) for m in PROGRESS.finditer(ran.err)]
        assert len(drawn) >= 3, ran.err
        assert all(planned == 10 for _, planned, *_ in drawn)
        assert [d[0] for d in drawn] == sorted(d[0] for d in drawn)  # done only grows
        assert not any(PROGRESS.search(line) for line in visible_lines(ran.err)), ran.err
        assert any("probes starting" in line for line in visible_lines(ran.err))
        assert "prober: 10 probes in" in ran.err
        assert [json.loads(line)["event"] for line in ran.out.splitlines()][-1] == "sweep"

    def test_interactive_shell_table_and_progress_on_one_terminal(self, fleet: Path) -> None:
        """Both streams on one terminal: progress while probing, then the table and the summary,
        none of their lines showing progress text."""
        ran = run("sweep", str(fleet), same_tty=True)
        assert PROGRESS.search(ran.out)
        visible = visible_lines(ran.out)
        assert not any(PROGRESS.search(line) for line in visible)
        assert "web · refused · 2 probe(s)" in visible
        assert any(line.startswith("prober: 10 probes") for line in visible)

    def test_never_on_a_pipe(self, fleet: Path) -> None:
        """stderr on a pipe: no progress line, no terminal control sequence at all."""
        ran = run("sweep", str(fleet), stdout_tty=True)
        assert "\x1b" not in ran.err and "\r" not in ran.err
        assert "prober: 10 probes in" in ran.err


class TestQuiet:
    def test_quiet_prints_nothing_but_errors(self, fleet: Path, tmp_path: Path) -> None:
        """-q on a terminal and on a pipe: nothing on stderr (no 'sweep starting', no progress, no
        summary); records still on stdout; an error (disk full) is still said."""
        ran = run("sweep", str(fleet), "-q", stderr_tty=True)
        assert ran.err == "" and ran.code == 2
        assert len(ran.out.splitlines()) == 11
        ran = run("sweep", str(fleet), "-q")
        assert ran.err == ""
        ran = run("sweep", str(fleet), "-q", "-o", "/dev/full")
        assert ran.code == 2 and "cannot write results" in ran.err and "sweep starting" not in ran.err


class TestFailingHostsSummary:
    def test_every_host_named_until_a_screenful_then_counted(self, lab: Lab) -> None:
        """300 refused hosts on a 24-row terminal: the summary names hosts until its screenful, then
        counts the rest exactly and says where the full list is; with 5 hosts it names all 5."""
        addresses = [f"127.{lab.block}.{10 + i // 200}.{1 + i % 200}" for i in range(300)]
        lab.hosts["down"] = [(f"down{i:03d}", address) for i, address in enumerate(addresses)]
        inventory = write(lab, {"down": {}})
        ran = run("sweep", str(inventory), stderr_tty=True, rows=24, cols=80)
        summary = ran.err.split(CLEAR)[-1]
        hosts = summary.split("gate FAILED")[1]  # the gate's part (the kinds above quote examples)
        named = sum(f"down{i:03d}" in hosts for i in range(300))
        more = re.search(r"… and (\d+) more failing hosts: every record is in the JSON lines on stdo", hosts)
        assert more and named + int(more.group(1)) == 300 and named >= 8
        assert len(summary.splitlines()) <= 30
        lab.hosts["few"] = lab.hosts["down"][:5]
        ran = run("sweep", str(write(lab, {"few": {}}, name="few.yaml")), stderr_tty=True)
        assert all(f"down{i:03d}" in ran.err for i in range(5)) and "more failing hosts" not in ran.err
