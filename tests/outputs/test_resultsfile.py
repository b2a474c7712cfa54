"""Reading results files back: every kind of wrong file is named with its line and key; big files stream."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import jsonschema
import pytest

from prober.errors import InputError
from prober.results import baseline
from prober.results import reader as resultsfile
from prober.results.reader import ResultsFile
from tests.conftest import ROOT
from tests.outputs.records import HOSTILE, mixed, probe, sweep_line, write_results

SCHEMA = json.loads((ROOT / "prober" / "schema" / "result.schema.json").read_text())


def problem(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        list(ResultsFile(str(path)))
    [found] = caught.value.problems
    return str(found)


class TestFixtures:
    def test_fixture_records_follow_the_published_schema(self) -> None:
        """The records these tests feed the readers are shaped as prober writes them."""
        records = [*mixed(60), *(probe(f"x{i}", status="fail", message=t) for i, t in enumerate(HOSTILE))]
        for record in [*records, sweep_line(records)]:
            jsonschema.validate(record, SCHEMA)


class TestReading:
    def test_records_sweep_line_and_run_ids(self, tmp_path: Path) -> None:
        """Probe records are yielded in order; the sweep line and the run ids are kept aside."""
        records = [probe("a"), probe("b", run_id="other"), probe("c", status="fail")]
        results = ResultsFile(str(write_results(tmp_path / "r.jsonl", records)))
        assert [r["host"] for r in results] == ["a", "b", "c"]
        assert results.sweep is not None and results.sweep["planned"] == 3
        assert list(results.run_ids) == [records[0]["run_id"], "other"] and results.probes == 3

    def test_blank_lines_and_a_file_without_sweep_line(self, tmp_path: Path) -> None:
        """Blank lines are skipped; a file cut before its sweep line (a killed sweep) still reads."""
        path = tmp_path / "r.jsonl"
        path.write_text(json.dumps(probe("a")) + "\n\n   \n" + json.dumps(probe("b")) + "\n")
        results = ResultsFile(str(path))
        assert len(list(results)) == 2 and results.sweep is None

    def test_only_a_sweep_line_is_valid(self, tmp_path: Path) -> None:
        """A sweep that planned nothing writes only its sweep line: that is prober output."""
        path = write_results(tmp_path / "r.jsonl", [])
        assert list(ResultsFile(str(path))) == []


class TestBadFiles:
    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            (b"", "no prober records (the file is empty)"),
            (b"\n\n", "no prober records (2 lines without one)"),
            (b'{"event":"probe"', ":1: not JSON"),
            (b"[1, 2]\n", ':1: event: not a prober record: expected a JSON object with an "event" key'),
            (b'{"host": "a"}\n', ":1: event: not a prober record"),
            (
                b'{"event": "plan", "host": "a"}\n',
                ':1: event: "plan" is not a result; expected probe or sweep',
            ),
            (b"\xff\xfe{}\n", ":1: not JSON"),
            (b'{"event":"sweep","duration_ms":"long"}\n', ":1: duration_ms: expected a number"),
        ],
    )
    def test_not_prober_output(self, tmp_path: Path, content: bytes, expected: str) -> None:
        """Empty files, non-JSON, JSON that is no record, `prober plan` output: named, with the line."""
        path = tmp_path / "bad.jsonl"
        path.write_bytes(content)
        found = problem(path)
        assert found.startswith(str(path)) and expected in found, found

    def test_plan_output_gets_a_hint(self, tmp_path: Path) -> None:
        path = tmp_path / "plan.jsonl"
        path.write_text('{"event": "plan", "host": "a"}\n')
        assert "that is `prober plan` output, not results" in problem(path)

    def test_cut_off_last_line_says_so(self, tmp_path: Path) -> None:
        """The third line is half a record without a newline: the message names line 3 and why."""
        path = tmp_path / "r.jsonl"
        path.write_text(json.dumps(probe("a")) + "\n" + json.dumps(probe("b")) + "\n" + '{"event":"pro')
        assert f"{path}:3: not JSON" in problem(path) and "cut off" in problem(path)

    @pytest.mark.parametrize(
        ("change", "key"),
        [
            ({"host": None}, "host"),
            ({"group": 7}, "group"),
            ({"status": "broken"}, "status"),
            ({"status": "fail", "error": None}, "error"),
            ({"error": {"message": "no kind"}}, "error"),
            ({"error": "refused"}, "error"),
            ({"error": {"kind": "timeout", "message": 5}}, "error.message"),
            ({"latency_ms": -1}, "latency_ms"),
            ({"latency_ms": True}, "latency_ms"),
            ({"latency_ms": "12"}, "latency_ms"),
            ({"warning": ["slow"]}, "warning"),
        ],
    )
    def test_wrong_record_names_line_and_key(
        self, tmp_path: Path, change: dict[str, object], key: str
    ) -> None:
        """A probe record with a missing or mistyped key: file:line: key: what was expected."""
        bad = {**probe("b"), **change}
        path = tmp_path / "r.jsonl"
        path.write_text(json.dumps(probe("a")) + "\n" + json.dumps(bad) + "\n")
        assert problem(path).startswith(f"{path}:2: {key}: "), problem(path)

    def test_missing_file_and_directory(self, tmp_path: Path) -> None:
        assert (
            problem(tmp_path / "absent.jsonl")
            == f"{tmp_path / 'absent.jsonl'}: cannot read: No such file or directory"
        )
        assert problem(tmp_path) == f"{tmp_path}: cannot read: Is a directory"

    def test_endless_line_is_refused_without_reading_it_whole(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A line past LINE_MAX (a binary file, a dump) stops the read at that line."""
        monkeypatch.setattr(resultsfile, "LINE_MAX", 1000)
        path = tmp_path / "big.jsonl"
        path.write_text(json.dumps(probe("a")) + "\n" + "x" * 5000 + "\n")
        assert f"{path}:2: line longer than" in problem(path)


class TestBaseline:
    def test_outcomes_by_host_and_probe(self, tmp_path: Path) -> None:
        """(host, probe) → group, status, kind, message; a repeated key keeps its last record."""
        records = [
            probe("a", status="fail", kind="refused", message="refused!"),
            probe("a", probe_name="tls", status="warn", warning="expires in 3 days"),
            probe("b"),
            probe("b", status="fail", kind="timeout", message="slow", run_id="second-run"),
        ]
        loaded = baseline.load(str(write_results(tmp_path / "r.jsonl", records)))
        assert loaded.outcomes == {
            ("a", "health"): baseline.Outcome("web", "fail", "refused", "refused!"),
            ("a", "tls"): baseline.Outcome("web", "warn", None, "expires in 3 days"),
            ("b", "health"): baseline.Outcome("web", "fail", "timeout", "slow"),
        }
        assert not loaded.is_new_failure("a", "health")
        assert loaded.is_new_failure("a", "tls") and loaded.is_new_failure("zzz", "health")
        assert loaded.run_ids == [records[0]["run_id"], "second-run"]

    def test_long_messages_are_bounded(self, tmp_path: Path) -> None:
        record = probe("a", status="fail", message="x" * 5000)
        loaded = baseline.load(str(write_results(tmp_path / "r.jsonl", [record])))
        assert len(loaded.outcomes["a", "health"].message or "") == baseline.MESSAGE_MAX

    def test_100k_probes_load_in_bounded_memory(self, tmp_path: Path) -> None:
        """100,000 distinct probes (~35 MB of JSON): under 250 bytes each (measured ~200), in seconds."""
        path = write_results(tmp_path / "big.jsonl", mixed(100_000, groups=300))
        peak, cpu, loaded = measure(path)
        print(f"file {path.stat().st_size / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB, cpu {cpu:.2f} s")
        assert len(loaded.outcomes) == 100_000
        assert peak < 100_000 * 250
        assert cpu < 15  # ~1.9 s here under tracemalloc; generous for a loaded 2-core machine

    def test_memory_follows_distinct_probes_not_file_size(self, tmp_path: Path) -> None:
        """The same 10,000 probes written once and five times (appended runs): the same peak, ±30%."""
        records = mixed(10_000)
        once = write_results(tmp_path / "once.jsonl", records)
        five = write_results(tmp_path / "five.jsonl", records * 5)
        peak_once, _, _ = measure(once)
        peak_five, _, loaded = measure(five)
        assert len(loaded.outcomes) == 10_000
        assert peak_five < peak_once * 1.3, (peak_once, peak_five)


def measure(path: Path) -> tuple[int, float, baseline.Baseline]:
    """Peak traced memory, CPU seconds and the result of loading `path`."""
    tracemalloc.start()
    started = time.process_time()
    loaded = baseline.load(str(path))
    cpu = time.process_time() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, cpu, loaded
