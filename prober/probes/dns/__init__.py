"""The DNS probe kind: one query to a server (or the system resolver), judged by rcode and answers."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from prober.model import Job
from prober.probes.dns import system
from prober.probes.dns.spec import ANSWER_TEXT_MAX, ANSWERS_SHOWN, QUERY_TYPES, DNSSpec
from prober.probes.registry import Metric, MetricSample, ProbeKind
from prober.runtime.prepare import Prepared, distinct_specs, pattern

_COUNT = {"type": "integer", "minimum": 0}
RECORD_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "rcode": {
            "type": ["string", "null"],
            "description": "the reply's rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED...); null: no reply",
        },
        "answers": {
            "type": "array",
            "items": {"type": "string"},
            "maxItems": ANSWERS_SHOWN,
            "description": "the first answers as dig prints them (name, TTL, class, type, data; "
            f"tab-separated), each cut to {ANSWER_TEXT_MAX} characters",
        },
        "answer_rrs": {**_COUNT, "description": "records in the answer section (all, not only those shown)"},
        "authority_rrs": _COUNT,
        "additional_rrs": _COUNT,
        "server": {"type": ["string", "null"], "description": "ip:port or [ipv6]:port asked"},
        "transport": {"enum": ["udp", "tcp"], "description": "what brought the reply (tcp: also after a TC)"},
    },
    "required": ["rcode", "answers", "server"],
}


def _record(spec: DNSSpec, details: Mapping[str, Any]) -> dict[str, Any]:
    # Without a reply (a timeout, refused) the probe's details are gone: the server is the spec's,
    # or the system resolver this sweep read.
    server = details.get("server") or spec.server or system.last_read()
    return {"rcode": details.get("rcode"), "answers": details.get("answers", []), "server": server}


def _prepare(jobs: Sequence[Job], prepared: Prepared, stop: threading.Event | None) -> None:
    """Answer patterns, and /etc/resolv.conf when a probe asks the system resolver."""
    for spec in distinct_specs(jobs):
        for regex in (spec.expect, spec.expect_all):
            if regex:
                pattern(prepared, regex)
        if spec.server is None:
            system.prepare(prepared)


def _libraries() -> None:
    """dnspython's query code and the rdata classes of every query type (dnspython imports one the
    first time a reply holds it: ~1-3 ms each, on some probe's clock)."""
    import dns.asyncbackend
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype

    import prober.probes.dns.probe  # noqa: F401  (dns.asyncquery, dns.message, ...)

    dns.asyncbackend.get_backend("asyncio")
    for name in (*QUERY_TYPES, "DNAME"):  # DNAME: what a CNAME chain may carry
        # dnspython 2.9 leaves get_rdata_class unannotated.
        dns.rdata.get_rdata_class(dns.rdataclass.IN, dns.rdatatype.from_text(name))  # type: ignore[no-untyped-call]


# blackbox_exporter's families (prober/dns.go, prober/utils.go): same names, same help.
QUERY_SUCCEEDED = Metric(
    "probe_dns_query_succeeded", "Displays whether or not the query was executed successfully"
)
ANSWER_RRS = Metric("probe_dns_answer_rrs", "Returns number of entries in the answer resource record list")
AUTHORITY_RRS = Metric(
    "probe_dns_authority_rrs", "Returns number of entries in the authority resource record list"
)
ADDITIONAL_RRS = Metric(
    "probe_dns_additional_rrs", "Returns number of entries in the additional resource record list"
)
LOOKUP_TIME = Metric(
    "probe_dns_lookup_time_seconds", "Returns the time taken for probe dns lookup in seconds"
)


def _metrics(section: Mapping[str, Any], record: Mapping[str, Any]) -> Iterable[MetricSample]:
    """As blackbox: query_succeeded 1 once a reply came (whatever its rcode), the section counts (0
    without a reply); lookup time: the query's, from the record's latency, when a reply came."""
    replied = section.get("rcode") is not None
    yield QUERY_SUCCEEDED, (), 1.0 if replied else 0.0
    answers = section.get("answers")
    shown = len(answers) if isinstance(answers, list) else 0
    yield ANSWER_RRS, (), float(section.get("answer_rrs") or shown)
    yield AUTHORITY_RRS, (), float(section.get("authority_rrs") or 0)
    yield ADDITIONAL_RRS, (), float(section.get("additional_rrs") or 0)
    latency = record.get("latency_ms")
    if replied and latency is not None:
        yield LOOKUP_TIME, (), float(latency) / 1000


def _shown(spec: DNSSpec) -> dict[str, Any]:
    """`plan` parameters: the defaults said as what they stand for."""
    return {
        "query_name": spec.query_name or "{host}",
        "server": spec.server or f"system ({system.RESOLV_CONF})",
        "expect_rcode": list(spec.expect_rcode),
    }


KIND = ProbeKind(
    name="dns",
    spec=DNSSpec,
    probe="prober.probes.dns.probe:probe",
    record=_record,
    record_schema=RECORD_SCHEMA,
    doc="a DNS query (UDP, or TCP) judged by the reply's rcode and answers",
    prepare=_prepare,
    libraries=_libraries,
    shown=_shown,
    metrics=_metrics,
)

__all__ = ["KIND", "DNSSpec"]
