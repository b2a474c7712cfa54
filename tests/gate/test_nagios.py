"""`--nagios`: one status line with perfdata on stdout and Nagios exit codes (0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN); records only with -o."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

from prober.probes.ssh.checks.perfdata import parse
from prober.sinks.nagios import label
from tests.cli.conftest import Lab, no_traceback, popen_cli, probes, records
from tests.gate.helpers import sweep, write

# The monitoring-plugins guidelines' first line: "SERVICE STATUS: information text | perfdata".
STATUS = re.compile(r"^PROBER (OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]+) \| (\S+(?: \S+)*)\n$")


def status(stdout: str) -> tuple[str, str, dict[str, dict[str, object]]]:
    match = STATUS.match(stdout)
    assert match, repr(stdout)
    return match.group(1), match.group(2), parse(match.group(3))


class TestNagiosStates:
    def test_all_ok(self, lab: Lab) -> None:
        """Every probe ok: OK, exit 0, one line on stdout, perfdata with counts, min 0 and max planned."""
        lab.add("web", "http_ok", 3)
        proc, _ = sweep(str(write(lab, {"web": {}})), "--nagios")
        state, text, perf = status(proc.stdout)
        assert (state, text, proc.returncode) == ("OK", "all 3 probes ok", 0)
        assert perf["ok"] == {"value": 3, "uom": None, "warn": None, "crit": None, "min": 0, "max": 3}
        assert perf["fail"]["value"] == 0 and perf["duration"]["uom"] == "s"
        assert perf["web_failing_hosts"] == {"value": 0, "uom": None, "warn": None, "crit": 0, "min": 0,
                                              "max": 3}  # fmt: skip
        assert proc.stderr == ""  # --nagios is quiet: Icinga 2 shows stderr with the output

    def test_failures_within_budget_warn(self, lab: Lab) -> None:
        """One failing host of 3 under max_fail 1: WARNING (exit 1), saying it is within budget."""
        lab.add("web", "http_ok", 2)
        lab.add("web", "refused", 1)
        proc, _ = sweep(str(write(lab, {"web": {"max_fail": 1}})), "--nagios")
        state, text, perf = status(proc.stdout)
        assert (state, proc.returncode) == ("WARNING", 1)
        assert text == "1 of 3 probes failed; 1 failing hosts within budget"
        assert perf["web_failing_hosts"]["value"] == 1 and perf["web_failing_hosts"]["crit"] == 1

    def test_over_budget_is_critical(self, lab: Lab) -> None:
        """Two failing hosts against max_fail 1: CRITICAL (exit 2), naming the group and its budget."""
        lab.add("web", "http_ok", 1)
        lab.add("web", "refused", 2)
        proc, _ = sweep(str(write(lab, {"web": {"max_fail": 1}})), "--nagios")
        state, text, perf = status(proc.stdout)
        assert (state, proc.returncode) == ("CRITICAL", 2)
        assert text == "2 of 3 probes failed; over budget: web (2 of 3 hosts failing, max_fail 1)"
        assert perf["fail"]["value"] == 2

    def test_warning_only_is_warning(self, lab: Lab) -> None:
        """A latency warning alone: WARNING, exit 1."""
        lab.add("slow", "http_ok", 1, 0.2)
        proc, _ = sweep(str(write(lab, {"slow": {"probes": ["slow"]}})), "--nagios")
        assert status(proc.stdout)[:2] == ("WARNING", "1 of 1 probes warn") and proc.returncode == 1

    def test_records_go_only_to_the_output_file(self, lab: Lab, tmp_path: Path) -> None:
        """With -o FILE the records (and their sweep line, exit_code the Nagios state) go to FILE;
        stdout has the status line alone."""
        lab.add("web", "http_ok", 1)
        lab.add("web", "refused", 1)
        out = tmp_path / "records.jsonl"
        proc, _ = sweep(str(write(lab, {"web": {}})), "--nagios", "-o", str(out))
        assert proc.stdout.count("\n") == 1 and status(proc.stdout)[0] == "CRITICAL"
        lines = records(out.read_text())
        assert len(probes(lines)) == 2 and lines[-1]["exit_code"] == 2

    def test_bad_input_is_unknown(self, lab: Lab) -> None:
        """An inventory error under --nagios: UNKNOWN (exit 3) with the problem on the status line."""
        lab.add("web", "http_ok", 1)
        inventory = write(lab, {"web": {"max_fail": "lots"}})
        proc, _ = sweep(str(inventory), "--nagios")
        assert proc.returncode == 3
        assert proc.stdout.startswith("PROBER UNKNOWN - bad input: ") and "groups.web.max_fail" in proc.stdout
        assert proc.stdout.count("\n") == 1

    def test_interrupted_is_unknown(self, lab: Lab) -> None:
        """SIGTERM mid-sweep: UNKNOWN (exit 3), not 130, which Nagios does not read."""
        lab.add("hung", "hung", 4)
        proc = popen_cli("sweep", str(write(lab, {"hung": {}}, defaults={"timeout": "20s"})), "--nagios")
        time.sleep(2.0)  # planned and probing (the hung hosts hold the sweep for 20 s)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        no_traceback(err)
        assert proc.returncode == 3
        assert status(out.decode())[:2] == ("UNKNOWN", "the sweep was interrupted")


class TestPerfdataLabels:
    def test_labels_are_quoted_when_needed(self) -> None:
        """A label with a space, '=' or quote is single-quoted, quotes doubled (parsed back whole)."""
        assert label("web_failing_hosts") == "web_failing_hosts"
        item = label("it's a=b") + "=1;;2;0;3"
        assert parse(item) == {"it's a=b": {"value": 1, "uom": None, "warn": None, "crit": 2, "min": 0,
                                            "max": 3}}  # fmt: skip
