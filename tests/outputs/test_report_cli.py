"""`prober report` and `prober diff` on the output of real sweeps; bad input exits 3 before any work."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import xmlschema

from tests.conftest import run_cli
from tests.outputs.conftest import Swept
from tests.outputs.records import probe, write_results

XSD = Path(__file__).parent / "data" / "junit-10.xsd"
NO_GITHUB = {"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": ""}


def sweep_line(path: Path) -> dict[str, object]:
    return json.loads(path.read_text().splitlines()[-1])


class TestReportFromASweep:
    def test_every_output_at_once(self, swept: Swept, tmp_path: Path) -> None:
        """HTML, JUnit, annotations and step summary from one real sweep, agreeing with its sweep line."""
        html, junit, summary = tmp_path / "r.html", tmp_path / "j.xml", tmp_path / "summary.md"
        done = run_cli(
            "report", str(swept.new), "-o", str(html), "--junit", str(junit), "--baseline", str(swept.old),
            env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""  # annotations go to stderr: stdout is for results
        line = sweep_line(swept.new)
        counts = line["counts"]
        assert isinstance(counts, dict)
        # JUnit: valid, and its totals are the sweep's.
        xmlschema.XMLSchema(str(XSD)).validate(str(junit))
        root = ET.parse(junit).getroot()
        fails = int(root.attrib["failures"]) + int(root.attrib["errors"])
        assert (int(root.attrib["tests"]), fails) == (sum(counts.values()), counts["fail"])
        assert f'time="{line["duration_ms"] / 1000:.3f}"' in junit.read_text()  # type: ignore[operator]
        assert "&lt;script&gt;console.error" in junit.read_text()  # the hostile banner, escaped
        # Annotations: 11 failures > GitHub's 10 per step: 9, every kind among them, and a count.
        errors = [x for x in done.stderr.splitlines() if x.startswith("::error ")]
        warnings = [x for x in done.stderr.splitlines() if x.startswith("::warning ")]
        assert counts["fail"] == 11 and len(errors) == 10 and len(warnings) == counts["warn"] == 3
        assert errors[-1].endswith("::… and 2 more failing probes (see the step summary)")
        kinds = {e.split("%3A ")[1].split()[0] for e in errors[:-1]}
        assert kinds == {"refused", "timeout", "reset", "assertion"}
        assert {e.split("::")[1].split()[-1].split("/")[0] for e in errors[:-1]} < swept.failing_new
        # Step summary and page were written; the page names every failing host.
        assert f"{counts['fail']} fail" in summary.read_text()
        page = html.read_text()
        assert all(f"<td>{host}</td>" in page for host in swept.failing_new)
        assert "newly failing 2" in page

    def test_nothing_to_write_and_annotations_off(self, swept: Swept, tmp_path: Path) -> None:
        """Outside GitHub Actions and without -o or --junit there is nothing to do: exit 3."""
        done = run_cli("report", str(swept.new), env=NO_GITHUB)
        assert done.returncode == 3 and "nothing to write" in done.stderr
        done = run_cli("report", str(swept.new), "-o", str(tmp_path / "r.html"), env=NO_GITHUB)
        assert done.returncode == 0 and "::" not in done.stderr


class TestDiffOfTwoSweeps:
    def test_two_hosts_newly_failing(self, swept: Swept) -> None:
        """Two web hosts went down between the sweeps: exactly they are newly failing, exit 2."""
        done = run_cli("diff", str(swept.old), str(swept.new))
        assert done.returncode == 2, done.stderr
        lines = [json.loads(x) for x in done.stdout.splitlines()]
        assert {x["host"] for x in lines if x.get("change") == "newly_failing"} == swept.broken
        still = {x["host"] for x in lines if x.get("change") == "still_failing"}
        assert still == swept.failing_new - swept.broken
        assert lines[-1]["counts"]["recovered"] == 0
        back = run_cli("diff", str(swept.new), str(swept.old))
        assert back.returncode == 0  # the other way round they recovered
        recovered = [json.loads(x) for x in back.stdout.splitlines()]
        assert {x["host"] for x in recovered if x.get("change") == "recovered"} == swept.broken


class TestBadInput:
    def test_unusable_outputs_and_baselines_exit_3_before_reading(self, swept: Swept, tmp_path: Path) -> None:
        """A -o or --junit in a missing directory, an unreadable or non-prober baseline: exit 3 with the
        path named, no traceback, and no output file left behind."""
        not_json = tmp_path / "notjson.jsonl"
        not_json.write_text("hello\n")
        out = tmp_path / "r.html"
        cases = [
            (["-o", str(tmp_path / "no" / "r.html")], f"{tmp_path / 'no' / 'r.html'}: -o: directory"),
            (["-o", str(out), "--junit", str(tmp_path / "no" / "j.xml")], "j.xml: --junit: directory"),
            (["-o", str(tmp_path)], f"{tmp_path}: -o: is a directory"),
            (["-o", str(out), "--baseline", str(tmp_path / "absent.jsonl")], "absent.jsonl: cannot read"),
            (["-o", str(out), "--baseline", str(tmp_path)], f"{tmp_path}: cannot read: Is a directory"),
            (["-o", str(out), "--baseline", str(not_json)], "notjson.jsonl:1: not JSON"),
            (["-o", str(out), "--annotations", "gitlab"], "invalid choice: 'gitlab'"),
            (["-o", str(swept.new)], f"{swept.new}: -o: is the input {swept.new}; choose another file"),
            (
                ["-o", str(out), "--junit", str(swept.old), "--baseline", str(swept.old)],
                "--junit: is the input",
            ),
        ]
        for args, expected in cases:
            done = run_cli("report", str(swept.new), *args, env=NO_GITHUB)
            assert done.returncode == 3, (args, done.stderr)
            assert expected in done.stderr and "Traceback" not in done.stderr, done.stderr
            assert not out.exists()

    def test_bad_results_file_writes_nothing(self, tmp_path: Path) -> None:
        """Line 3 of the results is broken: exit 3 naming it; neither the page nor the JUnit file exists."""
        results = write_results(tmp_path / "r.jsonl", [probe("a"), probe("b", status="fail")], sweep=False)
        with results.open("a") as handle:
            handle.write('{"event": "probe", "host": "c"}\n')
        out, junit = tmp_path / "r.html", tmp_path / "j.xml"
        done = run_cli("report", str(results), "-o", str(out), "--junit", str(junit), env=NO_GITHUB)
        assert done.returncode == 3 and f"{results}:3: probe: expected a string" in done.stderr
        assert not out.exists() and not junit.exists() and os.listdir(tmp_path) == ["r.jsonl"]

    def test_step_summary_in_a_missing_directory(self, swept: Swept, tmp_path: Path) -> None:
        bad = tmp_path / "gone" / "summary.md"
        done = run_cli(
            "report", str(swept.new), env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(bad)}
        )
        assert done.returncode == 3 and "GITHUB_STEP_SUMMARY: directory" in done.stderr
        assert "::error" not in done.stderr  # checked before anything was printed
