"""dns records at their worst: 10 answers of 200 characters of any unicode (control characters grow
sixfold as JSON escapes), long error messages: one line of at most 4096 bytes, schema-valid."""

from __future__ import annotations

import json

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prober.model import ErrorInfo, Job, Result, Status, Target
from prober.probes.dns import DNSSpec
from prober.record import to_record
from prober.sinks.jsonl import dumps
from tests.conftest import ROOT

VALIDATOR = jsonschema.Draft202012Validator(
    json.loads((ROOT / "prober" / "schema" / "result.schema.json").read_text())
)
ANSWER = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@st.composite
def dns_results(draw: st.DrawFn) -> Result:
    spec = DNSSpec(name="lookup", server=draw(st.none() | st.just("127.0.0.1:53")), query_name="a.example")
    replied = draw(st.booleans())
    details = {}
    if replied:
        answers = draw(st.lists(ANSWER, max_size=10))
        details = {
            "rcode": draw(st.sampled_from(["NOERROR", "NXDOMAIN", "SERVFAIL"])),
            "answers": answers,
            "answer_rrs": len(answers) + draw(st.integers(0, 60000)),
            "authority_rrs": draw(st.integers(0, 100)),
            "additional_rrs": draw(st.integers(0, 100)),
            "server": "127.0.0.1:53",
            "transport": draw(st.sampled_from(["udp", "tcp"])),
        }
    status = draw(st.sampled_from([Status.OK, Status.FAIL]))
    error = ErrorInfo("assertion", draw(ANSWER.filter(bool))) if status is Status.FAIL else None
    return Result(Job(0, Target("h", "127.0.0.1", "g"), spec), status, 1.0, 1, 1.8e9, error, None, details)


class TestDNSRecordsFit:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(dns_results())
    def test_fits_and_validates(self, result: Result) -> None:
        """Every dns record is one line under 4 KiB, valid against the schema, counts unchanged."""
        record = to_record(result, "run")
        line = dumps(record)
        assert len(line) <= 4096 and line.count(b"\n") == 1
        cut = json.loads(line)
        VALIDATOR.validate(cut)
        assert set(cut["dns"]) == set(record["dns"])
        for key in ("answer_rrs", "authority_rrs", "additional_rrs", "rcode"):
            assert cut["dns"].get(key) == record["dns"].get(key)
