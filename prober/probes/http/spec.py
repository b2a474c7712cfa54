"""The HTTP probe's spec: its inventory keys, and the combinations of them that can never work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from prober.inventory import fields as f
from prober.model import BaseSpec
from prober.probes.registry import Problems, param


@dataclass(frozen=True, slots=True, kw_only=True)
class HTTPSpec(BaseSpec):
    """An HTTP(S) request and what its answer must look like."""

    kind: ClassVar[str] = "http"
    url: str = param(f.url, templated=True)
    method: str = param(f.method, "GET")
    headers: tuple[tuple[str, str], ...] = param(f.headers, ())
    # (header, environment variable holding its value)
    headers_env: tuple[tuple[str, str], ...] = param(f.headers_env, ())
    safe_headers: tuple[str, ...] = param(f.names, ())  # lower-case names whose values are shown
    safe_query: tuple[str, ...] = param(f.names, ())  # lower-case query parameters whose values are shown
    expect_status: tuple[tuple[int, int], ...] = param(f.status_ranges, ((200, 399),))
    body_regex: str | None = param(f.regex, None)
    body_max_bytes: int = param(f.integer(0, 16 * 1024 * 1024), 65536)
    verify_tls: bool = param(f.boolean, True)
    ca_file: str | None = param(f.local_file, None)
    follow_redirects: bool = param(f.boolean, False)
    max_redirects: int = param(f.integer(0, 50), 5)
    allow_insecure_redirects: bool = param(f.boolean, False)  # follow https → http (records: insecure)
    cert_min_days: float | None = param(f.number(0, 36500), None)

    @property
    def uses_tls(self) -> bool:
        """True for https URLs, whatever the case of the scheme ("HTTPS://" is valid too)."""
        return self.url[:8].lower() == "https://"

    @property
    def may_use_tls(self) -> bool:
        """True when a TLS connection can happen: an https URL, or redirects followed to one."""
        return self.uses_tls or self.follow_redirects


def cross_checks(params: Mapping[str, Any]) -> Problems:
    """A header set twice (literally and from the environment) would leave which one is sent unclear."""
    literal = {name.lower() for name, _ in params.get("headers", ())}
    twice = [name for name, _ in params.get("headers_env", ()) if name.lower() in literal]
    if twice:
        return [("headers_env", f"header {twice[0]!r} is also set in 'headers': give it once")]
    return []


def combinations(params: Mapping[str, Any]) -> Problems:
    """Parameters that can never work together once every override layer and template is applied."""
    url, out = params.get("url", ""), []
    # Checked per templated job: look for user:password@ in the authority without a full URL parse.
    credentials = "@" in url and "@" in url.partition("//")[2].split("/", 1)[0].split("?", 1)[0]
    if credentials and any(name.lower() == "authorization" for name, _ in params.get("headers", ())):
        message = "a URL with user:password@ and an Authorization header cannot both be sent: keep one"
        out.append(("headers", message))
    if params.get("method") == "HEAD" and "body_regex" in params:
        out.append(("body_regex", "a HEAD response has no body: body_regex could never match"))
    if "cert_min_days" in params and url[:8].lower() != "https://" and not params.get("follow_redirects"):
        out.append(("cert_min_days", "the URL is plain http and redirects are not followed: no certificate"))
    return out
