"""Results-file fixtures: records shaped as prober writes them (checked against the published schema)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

RUN_ID = "20261127T072918Z-5bb35cb6"

# Remote text as a hostile server could make prober record it (bodies, banners, messages).
HOSTILE = [
    '<script>console.error("xss")</script>',
    '"><img src=x onerror="console.error(1)">',
    "</style><style>body{display:none}</style>",
    "]]><!-- & &amp; &#0;",
    "line one\nline two\r\n\ttabbed",
    "ctl:\x00\x01\x07\x1b[31mred\x1b[0m\x7f\x9b",
    "noncharacters \ufffe \uffff and a replacement \ufffd",
    "| pipe | ![img](https://attacker.invalid/x.png) [link](https://attacker.invalid) `code` *em*",
    "::error title=x::injected%0A##[add-mask]secret ::set-output name=x::y",
    "emoji 🚀 and RTL \u202e",
]


def probe(
    host: str,
    probe_name: str = "health",
    group: str = "web",
    status: str = "ok",
    kind: str | None = None,
    message: str = "",
    latency: float | None = 12.5,
    warning: str | None = None,
    run_id: str = RUN_ID,
    ts: str = "2026-11-27T07:29:18.629Z",
    **extra: Any,
) -> dict[str, Any]:
    """One `probe` record; a fail without a kind gets `timeout`."""
    if status == "fail" and kind is None:
        kind = "timeout"
    record: dict[str, Any] = {
        "event": "probe",
        "ts": ts,
        "run_id": run_id,
        "host": host,
        "address": "127.0.0.1",
        "group": group,
        "probe": probe_name,
        "type": "http",
        "status": status,
        "latency_ms": latency,
        "attempts": 0 if latency is None else 1,
        "error": {"kind": kind, "message": message} if kind else None,
        "warning": warning,
        "http": {"status_code": None if kind else 200, "url": f"http://{host}:8080/healthz"},
    }
    record.update(extra)
    return record


def sweep_line(records: Iterable[dict[str, Any]], duration_ms: float = 2500.0) -> dict[str, Any]:
    """The final `sweep` record for `records`."""
    records = list(records)
    counts = Counter(r["status"] for r in records)
    groups: dict[str, Counter[str]] = {}
    for r in records:
        groups.setdefault(r["group"], Counter())[r["status"]] += 1
    return {
        "event": "sweep",
        "run_id": records[0]["run_id"] if records else RUN_ID,
        "planned": len(records),
        "counts": {s: counts[s] for s in ("ok", "warn", "fail")},
        "by_group": {g: {s: c[s] for s in ("ok", "warn", "fail")} for g, c in sorted(groups.items())},
        "errors": dict(Counter(r["error"]["kind"] for r in records if r["error"])),
        "duration_ms": duration_ms,
        "exit_code": 2 if counts["fail"] else 0,
        "stopped": None,
        "gate": _gate(records),
    }


def _gate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The sweep line's gate with no budget anywhere (max_fail 0): any failing host fails its group."""
    hosts: dict[str, set[str]] = {}
    failing: dict[str, set[str]] = {}
    for r in records:
        hosts.setdefault(r["group"], set()).add(r["host"])
        if r["status"] == "fail":
            failing.setdefault(r["group"], set()).add(r["host"])
    groups = {
        g: {"hosts": len(h), "failing_hosts": len(failing.get(g, ())), "counted": len(failing.get(g, ())),
            "max_fail": "0", "allowed": 0, "passed": not failing.get(g)}
        for g, h in sorted(hosts.items())
    }  # fmt: skip
    passed = all(group["passed"] for group in groups.values())
    return {"passed": passed, "fail_on": "fail", "baseline": None, "groups": groups}


def write_results(path: Path, records: Iterable[dict[str, Any]], sweep: bool = True) -> Path:
    """Write `records` (and their sweep line) as prober does: one JSON object per line."""
    records = list(records)
    lines = [*records, sweep_line(records)] if sweep else records
    with path.open("wb") as handle:
        for line in lines:
            handle.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
    return path


def mixed(count: int, groups: int = 5, fail_every: int = 7, warn_every: int = 11) -> list[dict[str, Any]]:
    """`count` records over `groups` groups: every 7th fails (kinds rotating), every 11th warns."""
    kinds = ["timeout", "refused", "tls", "http_status", "deadline"]
    out = []
    for i in range(count):
        group = f"g{i % groups:03d}"
        if i % fail_every == 0:
            kind = kinds[(i // fail_every) % len(kinds)]
            out.append(probe(f"h{i:06d}", group=group, status="fail", kind=kind, message=f"{kind} #{i}"))
        elif i % warn_every == 0:
            out.append(probe(f"h{i:06d}", group=group, status="warn", latency=900.0 + i % 50, warning="slow"))
        else:
            out.append(probe(f"h{i:06d}", group=group, latency=1.0 + (i % 997) / 10))
    return out
