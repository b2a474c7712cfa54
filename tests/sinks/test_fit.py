"""A record cut to fit one 4096-byte line, on fixed records: texts first, then long nested maps, then
the identity texts; every key of the record and of its per-type and check objects kept."""

from __future__ import annotations

import json
from typing import Any

from prober.model import Job, Result, Status, Target
from prober.probes.ssh.spec import SSHSpec
from prober.record import to_record
from prober.sinks import fit
from prober.sinks.jsonl import dumps

PIPE_BUF = 4096


def nagios_record(perfdata: dict[str, Any], host: str = "h") -> dict[str, Any]:
    check = {"name": "nagios", "value": 1, "unit": None, "warn": None, "crit": None}
    check |= {"state": "WARNING", "output": "o", "perfdata": perfdata}
    details = {"exit_status": 1, "stdout": "o", "check": check}
    job = Job(0, Target(host, "127.0.0.1", "g"), SSHSpec(name="s", command="x"))
    return to_record(Result(job, Status.WARN, 5.0, 1, 1.8e9, None, "w", details), "run")


class TestFitted:
    def test_texts_are_cut_to_the_largest_common_length(self) -> None:
        """A text exactly as long as the common cut is kept whole, without the mark."""
        obj = {"event": "probe", "a": "x" * 100, "b": "y" * 50}
        expected = fit._dumps({**obj, "a": "x" * 50 + "…", "truncated": True})
        assert fit.fitted(obj, len(expected)) == expected

    def test_long_perfdata_loses_its_last_entries_only(self) -> None:
        """200 perfdata entries: the first ones that fit (37 of ~107 bytes) are kept, in order, and no
        key of the record, its `ssh` object or its `check` object is dropped."""
        perfdata = {
            f"label-{i:03d}-" + "x" * 20: {
                "value": i,
                "uom": "ms",
                "warn": None,
                "crit": None,
                "min": 0,
                "max": 9,
            }
            for i in range(200)
        }
        record = nagios_record(perfdata)
        line = dumps(record)
        cut = json.loads(line)
        assert PIPE_BUF - 150 < len(line) <= PIPE_BUF  # one more entry (~107 bytes) would not fit
        assert list(cut["check"]["perfdata"]) == list(perfdata)[:37]
        assert cut.keys() - {"truncated"} == record.keys()
        assert cut["ssh"].keys() == record["ssh"].keys() and cut["check"].keys() == record["check"].keys()

    def test_huge_perfdata_labels_still_keep_the_check_whole(self) -> None:
        """Labels of 1,200 characters (map keys are never cut): only 2 entries fit; the check's and the
        ssh object's own keys all stay."""
        perfdata = {
            f"{i:03d}" + "L" * 1200: {"value": 1, "uom": None, "warn": None, "crit": None} for i in range(40)
        }
        record = nagios_record(perfdata)
        cut = json.loads(dumps(record))
        assert list(cut["check"]["perfdata"]) == list(perfdata)[:2]
        assert cut["ssh"] == record["ssh"]
        assert {k: v for k, v in cut["check"].items() if k != "perfdata"} == {
            k: v for k, v in record["check"].items() if k != "perfdata"
        }

    def test_identity_texts_are_cut_last_and_no_more_than_needed(self) -> None:
        """A 5,000-character host name (only a record from elsewhere has one) is cut to what fits."""
        line = dumps(nagios_record({}, host="h" * 5000))
        host = json.loads(line)["host"]
        assert len(line) == PIPE_BUF and host.endswith("h…") and len(host) > 3000
