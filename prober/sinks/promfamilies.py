"""The metric families a probe record becomes, and Prometheus label names. What a probe kind adds from
its record section, the kind declares itself (`ProbeKind.metrics`, prober/probes/registry.py).

Names and help texts shared with blackbox_exporter are copied from its prober/ code, so dashboards and
alerts written for it read prober's metrics unchanged; prober's own families start with `prober_`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prober.probes.registry import Metrics

__all__ = ["FAMILIES", "KINDS", "Family", "KindSamples", "Sample", "family", "register_kind"]

Pairs = tuple[tuple[str, str], ...]  # label (name, value) pairs, in a fixed order
Sample = tuple[int, Pairs, float]  # (family index, labels beyond the record's own, value)
KindSamples = Callable[[Mapping[str, Any], Mapping[str, Any]], Iterable[Sample]]


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: its name, help text and Prometheus type."""

    name: str
    help: str
    type: str = "gauge"


FAMILIES: list[Family] = []
_INDEX: dict[str, int] = {}


def family(name: str, help_text: str) -> int:
    """Register a gauge family (once per name) and return its index, the key samples use."""
    if name not in _INDEX:
        _INDEX[name] = len(FAMILIES)
        FAMILIES.append(Family(name, help_text))
    return _INDEX[name]


# blackbox_exporter's families (prober/handler.go, prober.go), same names, same help.
SUCCESS = family("probe_success", "Displays whether or not the probe was a success")
DURATION = family("probe_duration_seconds", "Returns how long the probe took to complete in seconds")
# prober's own.
STATUS = family(
    "prober_probe_status", "1 for the status (ok, warn or fail) of the latest result, 0 for the other two"
)
ERROR = family("prober_probe_error_info", "1 with the error kind of the latest result, absent without error")
ATTEMPTS = family("prober_probe_attempts", "Attempts the latest result took (0: it never ran)")
CHECK_VALUE = family("prober_check_value", "What an SSH host check read (disk, memory, load...), in unit")
PERFDATA = family("prober_check_perfdata_value", "A value of a nagios check's performance data, in uom")

STATUSES = ("ok", "warn", "fail")
_STATUS_LABELS = {status: (("status", status),) for status in STATUSES}


def record_samples(record: Mapping[str, Any]) -> list[Sample]:
    """Every sample one probe record gives, beyond its own labels (ValueError on a malformed record)."""
    status = record["status"]
    if status not in _STATUS_LABELS:
        raise ValueError(f"status {status!r} is not ok, warn or fail")
    samples: list[Sample] = [(SUCCESS, (), 0.0 if status == "fail" else 1.0)]
    latency = record.get("latency_ms")
    if latency is not None:
        samples.append((DURATION, (), float(latency) / 1000))
    samples += [(STATUS, _STATUS_LABELS[s], 1.0 if s == status else 0.0) for s in STATUSES]
    error = record.get("error")
    if isinstance(error, Mapping):
        samples.append((ERROR, (("kind", str(error.get("kind"))),), 1.0))
    samples.append((ATTEMPTS, (), float(record.get("attempts") or 0)))
    kind = _kind_samples(str(record.get("type")))
    section = record.get(str(record.get("type")))
    if kind is not None and isinstance(section, Mapping):
        samples += kind(section, record)
    check = record.get("check")
    if isinstance(check, Mapping):
        samples += _check(check)
    return samples


def _check(check: Mapping[str, Any]) -> Iterable[Sample]:
    """The check's numeric reading (disk adds its inode use), and a nagios plugin's perfdata."""
    name, unit = str(check.get("name")), str(check.get("unit") or "")
    if _number(check.get("value")):
        yield CHECK_VALUE, (("check", name), ("unit", unit)), float(check["value"])
    if _number(check.get("inodes")):
        yield CHECK_VALUE, (("check", f"{name}_inodes"), ("unit", "%")), float(check["inodes"])
    perfdata = check.get("perfdata")
    if isinstance(perfdata, Mapping):
        for metric, item in perfdata.items():
            if isinstance(item, Mapping) and _number(item.get("value")):
                labels = (("check", name), ("metric", str(metric)), ("uom", str(item.get("uom") or "")))
                yield PERFDATA, labels, float(item["value"])


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# Samples registered here for a kind replace what the kind declares (ProbeKind.metrics), e.g. to try
# new families without touching the kind: register_kind("dns", samples), samples(section, record)
# yielding (family("probe_dns_answer_rrs", ...), labels, value).
KINDS: dict[str, KindSamples] = {}
_DECLARED: dict[str, KindSamples | None] = {}  # each registered kind's own metrics, as samples


def register_kind(kind: str, samples: KindSamples) -> None:
    """Let a probe kind add samples from its record section: samples(section, record) → Sample items."""
    KINDS[kind] = samples


def _kind_samples(kind: str) -> KindSamples | None:
    """What the record's kind adds: a registered override, else what the kind declares, else nothing."""
    own = KINDS.get(kind)
    if own is not None:
        return own
    if kind not in _DECLARED:
        from prober.probes import registry

        declared = registry.kinds().get(kind)
        if declared is None:
            return None  # a type no kind has (a results file from elsewhere): nothing kept for it
        _DECLARED[kind] = None if declared.metrics is None else _from_kind(declared.metrics)
    return _DECLARED[kind]


def _from_kind(metrics: Metrics) -> KindSamples:
    """The kind's (Metric, labels, value) samples with the family index the renderer keys on."""

    def samples(section: Mapping[str, Any], record: Mapping[str, Any]) -> Iterator[Sample]:
        for metric, labels, value in metrics(section, record):
            yield family(metric.name, metric.help), labels, value

    return samples


def epoch(ts: str) -> float:
    """A record's ISO 8601 `ts` (2026-11-27T07:20:08.123Z) as seconds since the epoch."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


# --- label names ---------------------------------------------------------------------------------

BASE = ("host", "group", "probe", "type")
# Labels prober sets itself: a record label of the same name is exported as exported_NAME, as
# Prometheus renames a scraped label that clashes with a target label.
RESERVED = frozenset({*BASE, "status", "kind", "check", "unit", "metric", "uom"})
_INVALID = re.compile(r"[^A-Za-z0-9_]")


def label_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """Prometheus label names for a record's `labels` keys: [a-zA-Z_][a-zA-Z0-9_]*, never `__`-prefixed
    (reserved by Prometheus), never one prober sets; two keys that clean to one name get _2, _3, ..."""
    taken = set(RESERVED)
    out: dict[str, str] = {}
    for name in sorted(names):  # sorted, so the same keys always get the same names
        clean = _INVALID.sub("_", name) or "_"
        if clean[0].isdigit():
            clean = "_" + clean
        if clean.startswith("__"):
            clean = "_" + clean.lstrip("_")
        if clean in RESERVED:
            clean = "exported_" + clean
        candidate, suffix = clean, 2
        while candidate in taken:
            candidate, suffix = f"{clean}_{suffix}", suffix + 1
        taken.add(candidate)
        out[name] = candidate
    return tuple(out[name] for name in names)


def label_value(value: object) -> str | None:
    """A label value as text; None (no label: Prometheus drops empty ones) for null and ''."""
    if type(value) is str and value.isascii():  # the common case, first
        return value or None
    if value is None:
        return None
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if not text:
        return None
    # Lone surrogates (JSON's "\ud800") cannot be written as UTF-8: replaced, never a failed render.
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")
