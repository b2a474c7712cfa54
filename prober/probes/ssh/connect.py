"""Making one SSH connection: paced, TCP connect and login each under their own timeout, via a bastion."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import asyncssh

from prober._patches import sshconnect
from prober.errors import ProbeFailed
from prober.inventory import fields
from prober.probes.ssh.spec import SSHSpec


class TokenBucket:
    """Paces events to `rate` per second (burst of one), shared by every caller."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    async def take(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(now, self._next)
        self._next = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


class Pacer:
    """One TokenBucket per ssh_rate value for the sweep; `share` is this process's part of it
    (ssh_rate is for the whole sweep: with --workers N each process paces 1/N of it)."""

    def __init__(self, share: float = 1.0) -> None:
        self.share = share
        self._buckets: dict[float, TokenBucket] = {}

    async def take(self, rate: float) -> None:
        bucket = self._buckets.get(rate)
        if bucket is None:
            bucket = self._buckets[rate] = TokenBucket(rate * self.share)
        await bucket.take()


async def connect_direct(address: str, spec: SSHSpec, options: Any) -> asyncssh.SSHClientConnection:
    """TCP connect, then log in, each under its own timeout; with ssh_config, asyncssh does both
    (the config may rewrite the route: HostName, ProxyJump), with `options` already evaluated
    from ~/.ssh/config for this target (sshprep.host_options): nothing is read per connection."""
    connect_limit = spec.connect_timeout or spec.timeout
    login_limit = spec.login_timeout or spec.timeout
    if spec.ssh_config:
        return await login(address, spec.port, connect_limit + login_limit, options=options, config=None)
    sock = await tcp_connect(address, spec.port, connect_limit)
    try:
        return await login(address, spec.port, login_limit, options=options, sock=sock)
    except BaseException:
        sock.close()
        raise


async def login(
    host: str, port: int, limit: float, *, what: str = "SSH login", **kwargs: Any
) -> asyncssh.SSHClientConnection:
    kwargs.setdefault("config", None)  # never read ~/.ssh/config per connection unless asked
    try:
        async with asyncio.timeout(limit):
            return await sshconnect.connect(host, port, **kwargs)
    except TimeoutError:
        raise ProbeFailed("timeout", f"{what} to {host}:{port} not done within {limit:g}s") from None


async def tcp_connect(host: str, port: int, limit: float) -> socket.socket:
    """A connected non-blocking socket within `limit` seconds (name lookup included)."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(limit):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            error: OSError = OSError(f"no address for {host}")
            for family, kind, proto, _, address in infos:
                sock = socket.socket(family, kind, proto)
                sock.setblocking(False)
                try:
                    await loop.sock_connect(sock, address)
                    return sock
                except OSError as exc:
                    sock.close()
                    error = exc
                except BaseException:
                    sock.close()
                    raise
            raise error
    except TimeoutError:
        raise ProbeFailed("timeout", f"TCP connect to {host}:{port} not done within {limit:g}s") from None


def parse_jump(value: str) -> tuple[str | None, str, int]:
    """'user@host:port' → (user, host, port) by the inventory's own parser (prober.inventory.fields);
    a templated value was checked per host when planned, so a refusal here is a bug."""
    try:
        return fields.parse_jump(value)
    except ValueError as exc:
        raise ProbeFailed("internal", str(exc)) from None
