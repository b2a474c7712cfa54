"""The HTTP(S) probe kind: one request (redirects followed by prober itself), judged by status code,
decoded body and certificate expiry."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote_plus

from prober import masking, redact
from prober.errors import SetupError
from prober.model import Job
from prober.probes.http.spec import HTTPSpec, combinations, cross_checks
from prober.probes.registry import Metric, MetricSample, ProbeKind
from prober.runtime.prepare import Prepared, distinct_specs, pattern, ssl_context

RECORD_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "status_code": {"type": ["integer", "null"]},
        "url": {"type": "string"},
        "redirects": {"type": "integer"},
        "cert_days_left": {"type": "number"},
        "body": {"type": "string"},
        "body_bytes": {
            "type": "integer",
            "minimum": 0,
            "description": "decoded body bytes read (at most body_max_bytes; 0 for HEAD, 204, 304)",
        },
    },
    "required": ["status_code", "url"],
}


def _record(spec: HTTPSpec, details: Mapping[str, Any]) -> dict[str, Any]:
    # The probe puts the shown URL in details; a probe that never got that far did not.
    url = details.get("url") or redact.url(spec.url, spec.safe_query)
    return {"status_code": details.get("status_code"), "url": url}


def _insecure(spec: HTTPSpec) -> bool:
    """Certificates not verified, or redirects allowed from https to plain http."""
    unverified = spec.may_use_tls and not spec.verify_tls
    return unverified or (spec.follow_redirects and spec.allow_insecure_redirects)


def _secrets(spec: HTTPSpec) -> list[str]:
    """URL credentials (and their Basic form), query values, header values: all but the safe ones."""
    values: list[str] = []
    if "@" in spec.url or "?" in spec.url:
        parts = redact.split_url(spec.url)
        nested = redact.nested_userinfo(parts.rest)  # a relay's target: http://proxy/http://u:p@t/
        for userinfo in ([parts.userinfo] if parts.userinfo is not None else []) + nested:
            user, password = masking.url_credentials(userinfo)
            basic = masking.basic_auth(user, password)[6:]
            values += [*userinfo.split(":", 1), user, password, basic]
        for name, item in redact.query_items(parts.query or ""):
            if not redact.query_name_safe(name, spec.safe_query):
                secret = name if item is None else item
                decoded = unquote_plus(secret)
                values += [secret, decoded, quote(decoded, safe="")]  # as written, as received, re-encoded
    for name, value in spec.headers:
        if not redact.header_safe(name, spec.safe_headers):
            values += masking.words(value)
    for name, variable in spec.headers_env:
        from_env = os.environ.get(variable)
        if from_env is not None and not redact.header_safe(name, spec.safe_headers):
            values += masking.words(from_env)
    return values


def _prepare(jobs: Sequence[Job], prepared: Prepared, stop: threading.Event | None) -> None:
    """TLS contexts (the CA store: ~17 ms each) and body patterns, once per sweep."""
    for spec in distinct_specs(jobs):
        if spec.may_use_tls:
            with contextlib.suppress(SetupError):  # stored: each probe needing it fails as `tls`
                ssl_context(prepared, spec.verify_tls, spec.ca_file)
        if spec.body_regex:
            pattern(prepared, spec.body_regex)


def _libraries() -> None:
    from prober._patches import aiohttpload

    aiohttpload.load()  # aiohttp without its unused import-time CA stores


def _shown(spec: HTTPSpec) -> dict[str, Any]:
    """`plan` parameters: URL credentials, header and query values redacted; env variables by name."""
    return {
        "url": redact.url(spec.url, spec.safe_query),
        "headers": redact.headers(spec.headers, spec.safe_headers),
        "headers_env": dict(spec.headers_env),  # variable names, never their values
        "expect_status": [f"{lo}-{hi}" if lo != hi else lo for lo, hi in spec.expect_status],
    }


# blackbox_exporter's families (prober/http.go, tls.go), same names, same help.
HTTP_STATUS = Metric("probe_http_status_code", "Response HTTP status code")
HTTP_REDIRECTS = Metric("probe_http_redirects", "The number of redirects")
CERT_EXPIRY = Metric("probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime")
_DAY = 86400.0


def _metrics(section: Mapping[str, Any], record: Mapping[str, Any]) -> Iterable[MetricSample]:
    # blackbox reports 0 when no response came back; so does prober (status_code null).
    yield HTTP_STATUS, (), float(section.get("status_code") or 0)
    if section.get("redirects") is not None:
        yield HTTP_REDIRECTS, (), float(section["redirects"])
    days = section.get("cert_days_left")
    if days is not None:
        # A point in time, as blackbox gives it: when the probe ran plus the days it saw left. The
        # record rounds days to 0.1, so this is within ~1.2 h of the certificate's notAfter.
        ran = datetime.fromisoformat(str(record["ts"]).replace("Z", "+00:00")).timestamp()
        yield CERT_EXPIRY, (), ran + float(days) * _DAY


KIND = ProbeKind(
    name="http",
    spec=HTTPSpec,
    probe="prober.probes.http.probe:probe",
    record=_record,
    record_schema=RECORD_SCHEMA,
    doc="an HTTP(S) request judged by status code, body and certificate expiry",
    insecure=_insecure,
    secrets=_secrets,
    prepare=_prepare,
    libraries=_libraries,
    cross_checks=cross_checks,
    combinations=combinations,
    shown=_shown,
    metrics=_metrics,
)

__all__ = ["KIND", "HTTPSpec"]
