"""JUnit XML: valid against Jenkins' JUnit schema whatever the remote text, counts that add up, atomic."""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from prober.errors import InputError
from prober.sinks import atomic
from prober.sinks.junit import JUnitSink
from prober.sinks.safetext import one_line
from tests.outputs.records import HOSTILE, mixed, probe, sweep_line

XSD = Path(__file__).parent / "data" / "junit-10.xsd"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def write(path: Path, records: list[dict[str, Any]], sweep: dict[str, Any] | None = None) -> ET.Element:
    sink = JUnitSink(str(path))
    for record in records:
        sink.record(record)
    sink.close(sweep)
    return ET.parse(path).getroot()


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in root.iter("testcase")}


class TestSchema:
    def test_valid_with_every_status_and_hostile_text(
        self, schema: xmlschema.XMLSchema, tmp_path: Path
    ) -> None:
        """ok, warn, each failure kind, probes that never ran, and hostile text in every field."""
        records = mixed(200)
        records += [probe(f"x{i}", status="fail", kind="assertion", message=t) for i, t in enumerate(HOSTILE)]
        records += [probe(f"w{i}", status="warn", warning=t) for i, t in enumerate(HOSTILE)]
        records += [probe(t, probe_name=t, group=t, status="fail", message=t) for t in HOSTILE]
        records += [probe("never", status="fail", kind="deadline", latency=None)]
        path = tmp_path / "junit.xml"
        write(path, records, sweep_line(records))
        schema.validate(str(path))

    def test_lone_surrogates_and_controls_become_replacement_characters(
        self, schema: xmlschema.XMLSchema, tmp_path: Path
    ) -> None:
        """Characters XML 1.0 cannot carry (NUL, ESC, a lone surrogate, U+FFFE) are replaced, not dropped."""
        text = "a\x00b\x1bc\ud800d\ufffee"
        root = write(tmp_path / "j.xml", [probe("h", status="fail", message=text)])
        schema.validate(str(tmp_path / "j.xml"))
        assert root.find(".//failure").attrib["message"] == "a\ufffdb\ufffdc\ufffdd\ufffde"  # type: ignore[union-attr]

    def test_the_schema_does_reject_bad_documents(self, schema: xmlschema.XMLSchema, tmp_path: Path) -> None:
        """The check can fail: a testsuite without its counts is refused by the same schema."""
        bad = tmp_path / "bad.xml"
        bad.write_text('<testsuites><testsuite name="g"><testcase name="x"/></testsuite></testsuites>')
        assert not schema.is_valid(str(bad))


class TestContent:
    def test_hostile_text_round_trips(self, tmp_path: Path) -> None:
        """Parsed back, each message is the record's message on one line; markup stays text."""
        records = [
            probe(f"h{i}", status="fail", kind="http_status", message=t) for i, t in enumerate(HOSTILE)
        ]
        found = cases(write(tmp_path / "j.xml", records))
        for i, text in enumerate(HOSTILE):
            failure = found[f"h{i}/health"].find("failure")
            assert failure is not None
            assert failure.attrib == {"type": "http_status", "message": one_line(text, 1000)}
            assert "host h" in (failure.text or "")
        assert found["h0/health"].find("failure").text.count("<script>") == 1  # type: ignore[union-attr]

    def test_one_suite_per_group_with_counts(self, tmp_path: Path) -> None:
        """tests, failures (target at fault), errors (deadline, cancelled, internal), skipped 0, time."""
        records = [
            probe("a", group="web", latency=100.0),
            probe(
                "b",
                group="web",
                status="warn",
                warning="latency 900 ms over latency_warn 500 ms",
                latency=900.0,
            ),
            probe("c", group="web", status="fail", kind="refused", message="refused", latency=3.0),
            probe("d", group="db", status="fail", kind="deadline", message="sweep deadline", latency=None),
            probe("e", group="db", status="fail", kind="cancelled", message="SIGINT", latency=None),
            probe("f", group="db", status="fail", kind="internal", message="bug", latency=1.0),
            probe("g", group="db", status="fail", kind="timeout", message="no answer", latency=2000.0),
        ]
        root = write(tmp_path / "j.xml", records, sweep_line(records, duration_ms=2345.0))
        suites = {s.attrib["name"]: s.attrib for s in root.iter("testsuite")}
        assert suites["web"] | {"timestamp": ""} == {
            "name": "web",
            "tests": "3",
            "failures": "1",
            "errors": "0",
            "skipped": "0",
            "time": "1.003",
            "timestamp": "",
        }
        assert (suites["db"]["tests"], suites["db"]["failures"], suites["db"]["errors"]) == ("4", "1", "3")
        assert suites["db"]["time"] == "2.001"
        assert root.attrib == {
            "name": "prober",
            "tests": "7",
            "failures": "2",
            "errors": "3",
            "time": "2.345",
        }
        found = cases(root)
        assert found["a/health"].attrib == {"classname": "web", "name": "a/health", "time": "0.100"}
        assert list(found["a/health"]) == []
        out = found["b/health"].find("system-out")
        assert out is not None and out.text == "warn: latency 900 ms over latency_warn 500 ms"
        assert found["b/health"].find("failure") is None
        assert [child.tag for child in found["d/health"]] == ["error"] and "time" not in found[
            "d/health"
        ].attrib
        assert found["e/health"].find("error").attrib["type"] == "cancelled"  # type: ignore[union-attr]
        assert found["g/health"].find("failure").attrib["type"] == "timeout"  # type: ignore[union-attr]

    def test_properties_timestamp_and_order(self, tmp_path: Path) -> None:
        """run_id as a property, the earliest record's time (UTC, Ant format), suites and cases sorted."""
        records = [
            probe("z", group="b", ts="2026-11-27T07:29:19.000Z"),
            probe("y", group="b", ts="2026-11-27T07:29:18.500Z"),
            probe("x", group="a"),
        ]
        root = write(tmp_path / "j.xml", records)
        suites = list(root.iter("testsuite"))
        assert [s.attrib["name"] for s in suites] == ["a", "b"]
        assert suites[1].attrib["timestamp"] == "2026-11-27T07:29:18"
        assert [c.attrib["name"] for c in suites[1].iter("testcase")] == ["y/health", "z/health"]
        prop = suites[0].find("properties/property")
        assert prop is not None and prop.attrib == {"name": "run_id", "value": records[0]["run_id"]}

    def test_root_time_without_sweep_line_is_the_sum(self, tmp_path: Path) -> None:
        root = write(tmp_path / "j.xml", [probe("a", latency=1500.0), probe("b", latency=500.0)])
        assert root.attrib["time"] == "2.000"


class TestAtomicWrite:
    def test_failed_write_keeps_the_old_file_and_leaves_no_temp(self, tmp_path: Path) -> None:
        """An error half-way through (here: a chunk that raises) leaves the previous file as it was."""
        path = tmp_path / "junit.xml"
        path.write_text("previous")

        def chunks() -> Any:
            yield "<half"
            raise OSError(28, "No space left on device")

        with pytest.raises(OSError):
            atomic.write_atomic(str(path), chunks())
        assert path.read_text() == "previous" and os.listdir(tmp_path) == ["junit.xml"]

    def test_mode_follows_the_umask(self, tmp_path: Path) -> None:
        """The file is readable like any other output (mkstemp would make it 0600)."""
        old = os.umask(0o022)
        try:
            atomic.write_atomic(str(tmp_path / "j.xml"), ["<x/>"])
        finally:
            os.umask(old)
        assert (tmp_path / "j.xml").stat().st_mode & 0o777 == 0o644

    def test_missing_directory_is_bad_input(self, tmp_path: Path) -> None:
        with pytest.raises(InputError) as caught:
            atomic.check_output(str(tmp_path / "nope" / "j.xml"), "--junit")
        assert (
            str(caught.value)
            == f"{tmp_path / 'nope' / 'j.xml'}: --junit: directory {tmp_path / 'nope'} does not exist"
        )
        with pytest.raises(InputError, match="is a directory"):
            atomic.check_output(str(tmp_path), "--junit")


class TestScale:
    def test_100k_records(self, tmp_path: Path) -> None:
        """100,000 records (1 in 7 failing): written in seconds, ~110 bytes per passing testcase."""
        records = mixed(100_000, groups=100)
        started = time.process_time()
        root = write(tmp_path / "j.xml", records, sweep_line(records))
        cpu = time.process_time() - started  # includes ElementTree parsing the file back
        size = (tmp_path / "j.xml").stat().st_size
        print(f"junit 100k: {size / 1e6:.1f} MB, cpu {cpu:.2f} s (with parsing back)")
        assert root.attrib["tests"] == "100000"
        assert sum(
            int(s.attrib["failures"]) + int(s.attrib["errors"]) for s in root.iter("testsuite")
        ) == len([r for r in records if r["error"]])
        assert cpu < 30
