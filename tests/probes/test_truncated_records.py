"""Records cut to fit 4096 bytes keep every key, their verdict and the published schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prober.model import ErrorInfo, Job, Result, Status, Target
from prober.probes.http.spec import HTTPSpec
from prober.probes.ssh.spec import SSHSpec
from prober.probes.tcp import TCPSpec
from prober.record import to_record
from prober.sinks.jsonl import dumps
from tests.conftest import ROOT

PIPE_BUF = 4096  # the documented limit, not the constant under test
SCHEMA = json.loads((ROOT / "prober" / "schema" / "result.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
# Any unicode a decoded remote text may hold (invalid UTF-8 is replaced, so no lone surrogates),
# control characters included: they grow sixfold as JSON escapes.
SHORT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
TEXT = st.one_of(SHORT, st.tuples(SHORT, st.integers(1, 300)).map(lambda t: t[0] * t[1]))  # up to 12,000
NAME = st.from_regex(r"[a-z][a-z0-9.-]{0,60}", fullmatch=True)
PERF_VALUE = st.fixed_dictionaries(
    {
        "value": st.floats(allow_nan=False, allow_infinity=False),
        "uom": SHORT,
        "warn": st.none(),
        "crit": st.none(),
    }
)


@st.composite
def results(draw: st.DrawFn) -> Result:
    """A result of any kind and status whose text fields may be huge (remote text, messages, labels)."""
    kind = draw(st.sampled_from(["http", "tcp", "ssh"]))
    target = Target(draw(NAME), draw(NAME), draw(NAME))
    details: dict[str, Any]
    if kind == "http":
        spec: Any = HTTPSpec(
            name=draw(NAME), url="http://h.invalid/" + draw(SHORT.map(lambda s: s.encode().hex()))
        )
        details = {"status_code": draw(st.none() | st.integers(100, 599)), "body": draw(TEXT)}
        details |= draw(st.fixed_dictionaries({}, optional={"redirects": st.integers(0, 50), "url": TEXT}))
    elif kind == "tcp":
        spec = TCPSpec(name=draw(NAME), port=draw(st.integers(1, 65535)))
        details = {"banner": draw(TEXT)}
    else:
        spec = SSHSpec(name=draw(NAME), command="x", insecure_ignore_host_key=draw(st.booleans()))
        details = {"exit_status": draw(st.none() | st.integers(-1, 255)), "stdout": draw(TEXT)}
        if draw(st.booleans()):
            perfdata = draw(st.dictionaries(TEXT.map(lambda t: t[:300]), PERF_VALUE, max_size=200))
            check = {
                "name": "nagios",
                "value": draw(st.none() | st.floats(0, 1e6) | TEXT),
                "unit": draw(SHORT),
            }
            details["check"] = check | {"warn": None, "crit": None, "perfdata": perfdata, "text": draw(TEXT)}
    status = draw(st.sampled_from(list(Status)))
    error = (
        ErrorInfo(draw(st.sampled_from(["protocol", "assertion", "timeout"])), draw(TEXT))
        if status is Status.FAIL
        else None
    )
    warning = draw(TEXT.filter(bool)) if status is Status.WARN else draw(st.none() | TEXT)
    latency = draw(st.none() | st.floats(0, 1e6))
    attempts = 0 if latency is None else draw(st.integers(1, 10))
    return Result(Job(0, target, spec), status, latency, attempts, 1.8e9, error, warning, details)


def keys_of(value: Any, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every key path of a record, down through its objects (perfdata's own entries left out)."""
    if not isinstance(value, dict) or path[-1:] == ("perfdata",):
        return set()
    out = set()
    for key, item in value.items():
        out |= {(*path, key)} | keys_of(item, (*path, key))
    return out


class TestTruncatedRecords:
    @settings(
        max_examples=250,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(results())
    def test_every_line_fits_validates_and_keeps_its_keys(self, result: Result) -> None:
        """Any record, however long its texts (and however many perfdata entries), is one line of at most
        4096 bytes that validates against the published schema, with every key of the uncut record,
        the same status, error kind, warning presence and numbers; "truncated" says it was cut."""
        record = to_record(result, "20261127T072918Z-5bb35cb6")
        line = dumps(record)
        assert len(line) <= PIPE_BUF and line.endswith(b"\n") and line.count(b"\n") == 1
        cut = json.loads(line)
        VALIDATOR.validate(cut)
        assert keys_of(cut) - {("truncated",)} == keys_of(record)
        assert cut.get("truncated") is (True if len(orjson.dumps(record)) + 1 > PIPE_BUF else None)
        for key in ("event", "ts", "run_id", "type", "status", "latency_ms", "attempts"):
            assert cut[key] == record[key], key
        assert (cut["error"] or {}).get("kind") == (record["error"] or {}).get("kind")
        assert (cut["warning"] is None) == (record["warning"] is None)
        kind = record["type"]
        for key, value in record[kind].items():
            if not isinstance(value, str | dict | list):
                assert cut[kind][key] == value, key

    def test_longest_text_is_cut_first(self) -> None:
        """A 20 KB stdout is cut; a 200-character error message next to it survives whole."""
        result = Result(
            Job(0, Target("h", "127.0.0.1", "g"), SSHSpec(name="s", command="x")),
            Status.FAIL, 5.0, 1, 1.8e9, ErrorInfo("assertion", "m" * 200), None,
            {"exit_status": 1, "stdout": "o" * 20_000},
        )  # fmt: skip
        cut = json.loads(dumps(to_record(result, "run")))
        assert cut["error"]["message"] == "m" * 200
        assert cut["ssh"]["stdout"].startswith("o" * 3000) and cut["ssh"]["stdout"].endswith("…")
        assert cut["truncated"] is True
