"""What probes share within one sweep: what was prepared before it, an HTTP session, SSH connections.

Resources never holds the plan: the engine hands it the jobs to prepare for (`prepare(jobs)`), and
what comes out of that (a Prepared, the SSH jobs per connection for the pool) is all it keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

from prober.errors import SetupError
from prober.masking import Redactor
from prober.probes.http import request as httpreq
from prober.probes.ssh.spec import SSHSpec
from prober.regex import TEXT, Pattern
from prober.runtime import prepare as preparation

if TYPE_CHECKING:
    from collections.abc import Sequence

    import aiohttp

    from prober.model import Job
    from prober.probes.http.spec import HTTPSpec
    from prober.probes.ssh.pool import Key, SSHPool


class Resources:
    """Prepared once per sweep before any probe runs (`prepare`), and closed at its end."""

    def __init__(self, concurrency: int = 256, share: float = 1.0, redactor: Redactor | None = None) -> None:
        self.concurrency = concurrency
        self.share = share  # this process's part of sweep-wide limits (1/N under --workers N)
        self._ssh_pool: SSHPool | None = None
        self._session: aiohttp.ClientSession | None = None
        self._http: dict[int, tuple[HTTPSpec, httpreq.Prepared]] = {}
        self.prepared = preparation.Prepared()
        self.ssh_jobs: Counter[Key] = Counter()  # this sweep's SSH jobs per connection (SSHPool)
        # The sweep's masks (the engine holds the same one): probes mask remote text with it.
        self.redactor = redactor if redactor is not None else Redactor()

    async def prepare(self, jobs: Sequence[Job]) -> None:
        """Everything the jobs' probes share, ready before the engine starts their clocks.

        The work runs in a thread, so the loop still handles signals (a stop request ends it
        within ~0.2 s) and measures its own lag; nothing else runs on the loop meanwhile. Under
        --workers the parent prepared before forking and this only finds everything there.
        """
        inherited = preparation.take_inherited()
        if inherited is not None:
            self.prepared = inherited
        await _in_thread(self._prepare, jobs)
        if any(job.spec.kind == "http" for job in jobs):
            self.http_session()  # builds the connector: ~1 ms better spent now than on a clock

    def _prepare(self, jobs: Sequence[Job], *, stop: threading.Event) -> None:
        """In the preparing thread: each kind's preparation, then the SSH jobs per connection (even
        if a preparer failed: the probes prepare for themselves, the pool still needs the counts)."""
        try:
            preparation.prepare(jobs, self.prepared, stop)
        finally:
            ssh = [job for job in jobs if isinstance(job.spec, SSHSpec)]
            if ssh and not stop.is_set():
                from prober.probes.ssh.pool import planned

                self.ssh_jobs = planned(ssh)

    def ssl_context(self, verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
        """One context per (verify, CA file): creating one loads the CA store (~17 ms)."""
        return preparation.ssl_context(self.prepared, verify, ca_file)

    def pattern(self, text: str, mode: str = TEXT) -> Pattern:
        """A user regex, compiled once per sweep (RE2: linear-time matching)."""
        return preparation.pattern(self.prepared, text, mode)

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

    def ssh_options(self, spec: SSHSpec, address: str | None = None) -> Any:
        """Prepared SSHClientConnectionOptions for a spec (for `address`, with ssh_config: true);
        a setup failure is kept and raised again for each probe."""
        from prober.probes.ssh import options as sshopts
        from prober.probes.ssh import prepare as sshprep

        key = sshopts.cache_key(spec)
        if key not in self.prepared.ssh:  # a probe run outside a prepared sweep
            self.prepared.ssh[key] = sshprep.options(spec, self.prepared)
        value = self.prepared.ssh[key]
        if isinstance(value, SetupError):
            raise SetupError(value.kind, value.message)
        if address is not None and spec.ssh_config:
            value = sshprep.host_options(self.prepared, spec, address)
            if isinstance(value, BaseException):
                raise value.with_traceback(None)
        return value

    def ssh_pool(self) -> SSHPool:
        """The sweep's shared SSH connections; each is closed after its host's last SSH job."""
        if self._ssh_pool is None:
            from prober.probes.ssh.pool import SSHPool

            # Idle connections kept for later probes: bounded like the engine's own open files.
            self._ssh_pool = SSHPool(
                self.ssh_options, self.ssh_jobs, max_idle=max(8, self.concurrency // 2), rate_share=self.share
            )
        return self._ssh_pool

    async def aclose(self) -> None:
        if self._ssh_pool is not None:
            await self._ssh_pool.aclose()
            self._ssh_pool = None
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _in_thread(function: Any, *args: Any) -> Any:
    """function(*args, stop=event) in a daemon thread; cancelling the await sets the event.

    Not the loop's default executor: asyncio.run waits for its threads on exit, and a stopped
    sweep must not wait for preparation it no longer needs.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    stop = threading.Event()

    def settle(outcome: Any, failed: bool) -> None:
        if future.done():
            return
        if failed:
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def run() -> None:
        try:
            outcome, failed = function(*args, stop=stop), False
        except BaseException as exc:
            outcome, failed = exc, True
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(settle, outcome, failed)

    threading.Thread(target=run, name="prober-prepare", daemon=True).start()
    try:
        return await future
    finally:
        stop.set()


def _make_session(concurrency: int) -> aiohttp.ClientSession:
    import aiohttp

    from prober._patches.connector import make_connector
    from prober._patches.noretry import make_session
    from prober.probes.http.body import ACCEPT_ENCODING

    # limit=0: the engine bounds concurrency; aiohttp's default pool of 100 would queue
    # requests silently and turn the queueing into timeouts. force_close: every host is new.
    connector = make_connector(limit=0, force_close=True, ttl_dns_cache=300)
    # aiohttp silently re-sends a GET once when the server drops the connection, even with
    # force_close (nothing was reused): make_session switches that off, so that the engine owns
    # retries and `attempts` counts every connection.
    return make_session(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None),  # the engine's asyncio.timeout owns the deadline
        headers={"User-Agent": "prober/0.1", "Accept-Encoding": ACCEPT_ENCODING},  # what httpbody decodes
    )
