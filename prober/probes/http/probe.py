"""HTTP probe: one request, judged by status code, body regex and (for https) certificate expiry."""

from __future__ import annotations

from typing import Any

import aiohttp

from prober.errors import ProbeFailed
from prober.model import Outcome, Target
from prober.probes.http import body as httpbody
from prober.probes.http import redirects, tlscert
from prober.probes.http.spec import HTTPSpec
from prober.regex import utf8_text
from prober.runtime.resources import Resources


def _peer_cert(response: aiohttp.ClientResponse) -> bytes | None:
    """DER certificate of the connection that answered, if aiohttp still holds it.

    It does while part of the body is still to come; a body that arrived whole with the headers
    (or no body) has already released it, and then tlscert makes a handshake of its own.
    """
    connection = response.connection
    transport = connection.transport if connection is not None else None
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return der or None


def _status_ok(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


async def probe(target: Target, spec: HTTPSpec, res: Resources) -> Outcome:
    """GET (or spec.method) the URL; raise ProbeFailed on a wrong status or body."""
    session = res.http_session()
    req = res.http_request(spec)
    use_tls = spec.uses_tls
    # Also for http:// when redirects are followed: ssl=False would switch verification off for
    # an https:// Location. aiohttp ignores the context for plain http.
    ssl_arg: Any = res.ssl_context(spec.verify_tls, spec.ca_file) if spec.may_use_tls else False
    details: dict[str, Any] = {"url": req.shown, "status_code": None}
    response = await redirects.final_response(session, spec, req, ssl_arg, details)
    try:
        der = _peer_cert(response) if use_tls and spec.cert_min_days is not None else None
        body = await httpbody.read(response, spec.body_max_bytes, details)
    finally:
        response.close()  # never drain the rest of a large or endless body
    if not _status_ok(response.status, spec.expect_status):
        raise ProbeFailed("http_status", f"HTTP {response.status} not in expected {_ranges(spec)}", **details)
    if spec.body_regex and not res.pattern(spec.body_regex).search(utf8_text(body)):
        capped = len(body) >= spec.body_max_bytes
        details["body"] = res.redactor.mask(spec).excerpt(body, 200, capped=capped)
        raise ProbeFailed("assertion", f"body does not match {spec.body_regex!r}", **details)
    warning = None
    if use_tls and spec.cert_min_days is not None:
        days = await tlscert.days_left(target, spec, res, der)
        details["cert_days_left"] = round(days, 1)
        if days < 0:
            raise ProbeFailed("tls", f"certificate expired {-days:.1f} days ago", **details)
        if days < spec.cert_min_days:
            warning = f"certificate expires in {days:.1f} days (< {spec.cert_min_days:g})"
    return Outcome(details, warning)


def _ranges(spec: HTTPSpec) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in spec.expect_status)
