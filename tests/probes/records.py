"""The documented record shape, checked key by key, for every record the probe tests produce."""

from __future__ import annotations

import json
import re
from typing import Any

from prober.model import ERROR_KINDS
from prober.sinks.jsonl import LINE_MAX, dumps

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
COMMON = {
    "event",
    "ts",
    "run_id",
    "host",
    "address",
    "group",
    "probe",
    "type",
    "status",
    "latency_ms",
    "attempts",
    "error",
    "warning",
}
PER_TYPE = {
    "http": ("status_code", "url"),
    "tcp": ("port",),
    "ssh": ("exit_status", "stdout"),
    "dns": ("rcode", "answers", "server"),
}


def check_record(record: dict[str, Any]) -> None:
    """Raise AssertionError unless `record` has the documented keys, types and invariants."""
    kind = record["type"]
    assert kind in PER_TYPE
    assert set(record) - {"insecure"} == COMMON | {kind}, sorted(record)
    assert record["event"] == "probe"
    assert TS.match(record["ts"]), record["ts"]
    assert isinstance(record["run_id"], str) and record["run_id"]
    for key in ("host", "address", "group", "probe"):
        assert isinstance(record[key], str)
    assert record["status"] in ("ok", "warn", "fail")
    latency = record["latency_ms"]
    assert latency is None or (isinstance(latency, int | float) and latency >= 0)
    assert isinstance(record["attempts"], int) and record["attempts"] >= 0
    assert (latency is None) == (record["attempts"] == 0), "latency_ms is null exactly when nothing ran"
    error = record["error"]
    if record["status"] == "fail":
        assert isinstance(error, dict) and set(error) == {"kind", "message"}
        assert error["kind"] in ERROR_KINDS and isinstance(error["message"], str) and error["message"]
        # Short and plain: no errno numbers, C file names, reprs or repeated library noise.
        message = error["message"]
        assert len(message) <= 300 and "\n" not in message, message
        for noise in ("[Errno", "_ssl.c", "Connect call failed", "message=", "url="):
            assert noise not in message, message
    else:
        assert error is None
    if record["status"] == "warn":
        assert isinstance(record["warning"], str) and record["warning"]
    assert record["warning"] is None or isinstance(record["warning"], str)
    assert record.get("insecure", True) is True
    per_type = record[kind]
    assert isinstance(per_type, dict)
    for key in PER_TYPE[kind]:
        assert key in per_type, (kind, key)
    if kind == "http":
        assert per_type["status_code"] is None or isinstance(per_type["status_code"], int)
        assert isinstance(per_type["url"], str)
        body_bytes = per_type.get("body_bytes", 0)
        assert isinstance(body_bytes, int) and body_bytes >= 0
    if kind == "tcp":
        assert isinstance(per_type["port"], int)
    if kind == "dns":
        assert per_type["rcode"] is None or isinstance(per_type["rcode"], str)
        assert isinstance(per_type["answers"], list) and len(per_type["answers"]) <= 10
        assert all(isinstance(text, str) and len(text) <= 200 for text in per_type["answers"])
    line = dumps(record)
    assert len(line) <= LINE_MAX and line.endswith(b"\n")
    assert json.loads(line)["status"] == record["status"]
