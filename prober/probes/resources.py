"""What probes share within one sweep: an HTTP session, SSL contexts, SSH options and connections."""

from __future__ import annotations

import os
import ssl
from typing import TYPE_CHECKING, Any

from prober.errors import SetupError
from prober.masking import Redactor
from prober.probes import httpreq

if TYPE_CHECKING:
    from collections.abc import Sequence

    import aiohttp

    from prober.model import HTTPSpec, Job, SSHSpec
    from prober.probes.sshpool import SSHPool


class Resources:
    """Built lazily, once per sweep, and closed at its end."""

    def __init__(
        self,
        concurrency: int = 256,
        jobs: Sequence[Job] = (),
        share: float = 1.0,
        redactor: Redactor | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.jobs = jobs
        self.share = share  # this process's part of sweep-wide limits (1/N under --workers N)
        self._ssh_pool: SSHPool | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ssl: dict[tuple[bool, str | None], ssl.SSLContext] = {}
        self._ssh: dict[tuple[Any, ...], Any] = {}
        self._http: dict[int, tuple[HTTPSpec, httpreq.Prepared]] = {}
        # The sweep's masks (the engine holds the same one): probes mask remote text with it.
        self.redactor = redactor if redactor is not None else Redactor()

    def ssl_context(self, verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
        """One context per (verify, CA file): creating one loads the CA store (~17 ms)."""
        key = (verify, ca_file)
        if key not in self._ssl:
            self._ssl[key] = _make_ssl_context(verify, ca_file)
        return self._ssl[key]

    def http_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = _make_session(self.concurrency)
        return self._session

    def http_request(self, spec: HTTPSpec) -> httpreq.Prepared:
        """The spec's prepared request; kept when it has headers or credentials to assemble."""
        entry = self._http.get(id(spec))
        if entry is not None:
            return entry[1]
        prepared = httpreq.prepare(spec)
        if prepared.headers:
            self._http[id(spec)] = (spec, prepared)
        return prepared

    def ssh_options(self, spec: SSHSpec) -> Any:
        """Prepared SSHClientConnectionOptions for a spec; a setup failure is cached and re-raised."""
        from prober.probes import sshopts

        key = sshopts.cache_key(spec)
        if key not in self._ssh:
            try:
                self._ssh[key] = sshopts.build(spec)
            except SetupError as exc:
                self._ssh[key] = exc
        value = self._ssh[key]
        if isinstance(value, SetupError):
            raise SetupError(value.kind, value.message)
        return value

    def ssh_pool(self) -> SSHPool:
        """The sweep's shared SSH connections; it counts the plan's SSH jobs per host to close early."""
        if self._ssh_pool is None:
            from prober.probes.sshpool import SSHPool

            # Idle connections kept for later probes: bounded like the engine's own open files.
            self._ssh_pool = SSHPool(
                self.ssh_options, self.jobs, max_idle=max(8, self.concurrency // 2), rate_share=self.share
            )
        return self._ssh_pool

    async def aclose(self) -> None:
        if self._ssh_pool is not None:
            await self._ssh_pool.aclose()
            self._ssh_pool = None
        if self._session is not None:
            await self._session.close()
            self._session = None


def _make_ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=os.path.expanduser(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SetupError("tls", f"cannot load CA file {ca_file}: {reason}") from None


def _make_session(concurrency: int) -> aiohttp.ClientSession:
    import aiohttp

    from prober.probes.connector import make_connector
    from prober.probes.httpbody import ACCEPT_ENCODING

    # limit=0: the engine bounds concurrency; aiohttp's default pool of 100 would queue
    # requests silently and turn the queueing into timeouts. force_close: every host is new.
    connector = make_connector(limit=0, force_close=True, ttl_dns_cache=300)
    session = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None),  # the engine's asyncio.timeout owns the deadline
        headers={"User-Agent": "prober/0.1", "Accept-Encoding": ACCEPT_ENCODING},  # what httpbody decodes
    )
    # aiohttp silently re-sends a GET once when the server drops the connection, even with
    # force_close (nothing was reused). The engine owns retries: without this a resetting host
    # gets twice the connections and `attempts` under-reports them. No public switch exists
    # (aiohttp's own test client flips the same attribute).
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False
    return session
