"""Result → the documented JSON record (see prober/schema/result.schema.json)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from prober.model import BaseSpec, Result
from prober.probes import registry

_second: list[Any] = [None, ""]  # the last whole second formatted, and its text up to the seconds


def iso_ts(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds: 2026-11-27T07:20:08.123Z.

    Records arrive thousands per second, so the text up to the seconds is formatted once per second.
    """
    # Rounded to the microsecond first, as datetime does, then cut to milliseconds like %f[:-3].
    fraction, whole = math.modf(epoch)
    second, micros = divmod(int(whole) * 1_000_000 + round(fraction * 1_000_000), 1_000_000)
    ms = micros // 1000
    if _second[0] != second:
        _second[1] = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        _second[0] = second
    return f"{_second[1]}{ms:03d}Z"


def _section(spec: BaseSpec, details: Mapping[str, Any]) -> dict[str, Any]:
    """The record's section named after the kind: what the kind puts there, then the probe's details."""
    out = registry.get(spec.kind).record(spec, details)
    for key, value in details.items():
        if key != "check":  # lifted to the record's top level by to_record
            out.setdefault(key, value)
    return out


def is_insecure(spec: BaseSpec) -> bool:
    """True when the inventory switched off verification for this probe (see each kind's `insecure`)."""
    return registry.get(spec.kind).insecure(spec)


def to_record(result: Result, run_id: str) -> dict[str, Any]:
    """The JSON object written for one probe."""
    job, spec = result.job, result.job.spec
    record: dict[str, Any] = {
        "event": "probe",
        "ts": iso_ts(result.ts),
        "run_id": run_id,
        "host": job.target.name,
        "address": job.target.address,
        "group": job.target.group,
        "probe": spec.name,
        "type": spec.kind,
        "status": result.status.value,
        "latency_ms": result.latency_ms,
        "attempts": result.attempts,
        "error": {"kind": result.error.kind, "message": result.error.message} if result.error else None,
        "warning": result.warning,
        spec.kind: _section(spec, result.details),
    }
    if "check" in result.details:  # a built-in host check's reading: {name, value, unit, warn, crit, ...}
        record["check"] = result.details["check"]
    if is_insecure(spec):
        record["insecure"] = True
    if job.target.labels:  # the inventory's `labels:` vars, for log stacks and Prometheus
        record["labels"] = job.target.labels
    return record


def new_run_id() -> str:
    """Sortable and unique enough for one operator: UTC time plus random hex."""
    import secrets

    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(4)
