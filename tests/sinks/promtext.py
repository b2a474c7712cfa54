"""Helpers for the Prometheus sink tests: records as prober writes them, rendered text read back."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from prober.model import ErrorInfo, Job, Result, Status, Target
from prober.probes.http.spec import HTTPSpec
from prober.probes.ssh.spec import SSHSpec
from prober.probes.tcp import TCPSpec
from prober.record import to_record

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]
TS = 1_795_000_000.25  # 2026-11-18T...: any fixed epoch


def record(
    host: str = "web01",
    probe: str = "health",
    kind: str = "http",
    status: Status = Status.OK,
    *,
    group: str = "web",
    latency: float | None = 12.5,
    error: str | None = None,
    labels: dict[str, Any] | None = None,
    **details: Any,
) -> dict[str, Any]:
    """A record made by prober's own record shaping (to_record), plus `labels` when given (issue 12)."""
    spec = {
        "http": lambda: HTTPSpec(name=probe, url=f"http://{host}:8080/"),
        "tcp": lambda: TCPSpec(name=probe, port=5432),
        "ssh": lambda: SSHSpec(name=probe, command="uptime"),
    }[kind]()
    job = Job(0, Target(host, "127.0.0.1", group), spec)
    info = ErrorInfo(error, f"{error} happened") if error else None
    attempts = 0 if latency is None else 1
    out = to_record(Result(job, status, latency, attempts, TS, info, None, details), "run-1")
    if labels is not None:
        out["labels"] = labels
    return out


def series(text: bytes) -> Series:
    """Every sample of an exposition, parsed by prometheus_client's own parser; no series twice."""
    out: Series = {}
    for family in text_string_to_metric_families(text.decode("utf-8")):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in out, f"duplicate series {key}"
            out[key] = sample.value
    return out


def value(text: bytes | Series, name: str, **labels: str) -> float | None:
    """The one sample of `name` whose labels include `labels` (None if there is none)."""
    found = series(text) if isinstance(text, bytes) else text
    hits = [v for (n, ls), v in found.items() if n == name and set(labels.items()) <= ls]
    assert len(hits) <= 1, f"{name}{labels} matches {len(hits)} series"
    return hits[0] if hits else None


def labels_of(text: bytes, name: str, **labels: str) -> dict[str, str]:
    """The full label set of the one sample of `name` whose labels include `labels`."""
    hits = [dict(ls) for (n, ls) in series(text) if n == name and set(labels.items()) <= ls]
    assert len(hits) == 1, hits
    return hits[0]
