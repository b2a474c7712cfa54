"""CI outputs of `prober sweep`, fed live by the fan-out in one process and under --workers: JUnit
(valid against Jenkins' XSD), GitHub annotations on stderr, the step summary; bad paths refused first."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from tests.cli.conftest import Lab, probes
from tests.gate.helpers import sweep, write
from tests.outputs.test_github import runner_parse

XSD = Path(__file__).resolve().parent.parent / "outputs" / "data" / "junit-10.xsd"


@pytest.fixture
def fleet(lab: Lab) -> Path:
    """web: 3 healthy hosts, 2 refused; slow: 1 host over its latency_warn."""
    lab.add("web", "http_ok", 3)
    lab.add("web", "refused", 2)
    lab.add("slow", "http_ok", 1, 0.2)
    return write(lab, {"web": {}, "slow": {"probes": ["slow"]}})


class TestJUnit:
    @pytest.mark.parametrize("workers", ["1", "2"])
    def test_one_testcase_per_probe_valid_against_the_xsd(
        self, fleet: Path, tmp_path: Path, workers: str
    ) -> None:
        """--junit: a testsuite per group, a testcase per (host, probe), refused hosts as failures of
        type refused, valid against the XSD Jenkins checks; the same in one process and --workers 2."""
        junit = tmp_path / "junit.xml"
        proc, lines = sweep(str(fleet), "--junit", str(junit), "--workers", workers)
        assert proc.returncode == 2 and len(probes(lines)) == 6
        xmlschema.XMLSchema(str(XSD)).validate(str(junit))
        root = ET.parse(junit).getroot()
        suites = {suite.attrib["name"]: suite for suite in root.iter("testsuite")}
        assert sorted(suites) == ["slow", "web"]
        assert (suites["web"].attrib["tests"], suites["web"].attrib["failures"]) == ("5", "2")
        failures = [case.find("failure") for case in suites["web"].iter("testcase")]
        assert sorted(f.attrib["type"] for f in failures if f is not None) == ["refused", "refused"]
        assert suites["slow"].attrib["failures"] == "0"  # a warning passes, saying why
        assert "latency" in (next(suites["slow"].iter("system-out")).text or "")
        assert float(root.attrib["time"]) == pytest.approx(lines[-1]["duration_ms"] / 1000, abs=0.001)


class TestGitHub:
    @pytest.mark.parametrize(
        ("flags", "env", "expected"),
        [
            (["--annotations", "github"], {}, True),
            ([], {"GITHUB_ACTIONS": "true"}, True),
            (["--annotations", "none"], {"GITHUB_ACTIONS": "true"}, False),
            ([], {}, False),
        ],
    )
    def test_annotations_on_stderr(
        self, fleet: Path, flags: list[str], env: dict[str, str], expected: bool
    ) -> None:
        """One ::error per failure and one ::warning per warning on stderr (auto in GitHub Actions),
        parsed back by a transcription of the runner's parser; stdout keeps only records."""
        proc, lines = sweep(str(fleet), *flags, env={"GITHUB_ACTIONS": "", **env})
        commands = [runner_parse(line) for line in proc.stderr.splitlines() if line.startswith("::")]
        if not expected:
            assert commands == []
            return
        assert [c[0] for c in commands if c is not None].count("error") == 2
        assert [c[0] for c in commands if c is not None].count("warning") == 1
        assert all(line.startswith("{") for line in proc.stdout.splitlines())
        assert len(probes(lines)) == 6

    @pytest.mark.parametrize("workers", ["1", "2"])
    def test_step_summary_is_appended(self, fleet: Path, tmp_path: Path, workers: str) -> None:
        """$GITHUB_STEP_SUMMARY gets a Markdown table appended (what was there stays)."""
        summary = tmp_path / "summary.md"
        summary.write_text("earlier step\n")
        env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": ""}
        proc, _ = sweep(str(fleet), "--workers", workers, env=env)
        text = summary.read_text()
        assert proc.returncode == 2
        assert text.startswith("earlier step\n### prober: 3 ok, 1 warn, 2 fail")
        assert "| web | 3 | 0 | 2 |" in text and "#### Failures (2)" in text


class TestBadOutputsFirst:
    @pytest.mark.parametrize(
        ("flags", "env", "message"),
        [
            (["--junit", "{tmp}/missing/junit.xml"], {}, "--junit: directory {tmp}/missing does not exist"),
            (["--junit", "{tmp}"], {}, "--junit: is a directory"),
            ([], {"GITHUB_STEP_SUMMARY": "{tmp}/missing/s.md"}, "GITHUB_STEP_SUMMARY: directory"),
            (["--format", "yaml"], {}, "argument --format: invalid choice: 'yaml'"),
            (["--annotations", "gitlab"], {}, "argument --annotations: invalid choice"),
            (["--append"], {}, "--append: appends to -o FILE"),
            (["--baseline", "{tmp}/none.jsonl"], {}, "none.jsonl: cannot read"),
        ],
    )
    def test_exit_3_before_probing(
        self, fleet: Path, tmp_path: Path, flags: list[str], env: dict[str, str], message: str
    ) -> None:
        """Each bad output option or path: exit 3 with a message naming it, nothing probed or written."""
        flags = [flag.replace("{tmp}", str(tmp_path)) for flag in flags]
        env = {key: value.replace("{tmp}", str(tmp_path)) for key, value in env.items()}
        proc, _ = sweep(str(fleet), *flags, env=env)
        assert proc.returncode == 3 and proc.stdout == ""
        assert message.replace("{tmp}", str(tmp_path)) in proc.stderr
        assert "sweep starting" not in proc.stderr
