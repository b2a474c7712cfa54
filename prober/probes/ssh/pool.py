"""One SSH connection per host shared by all its SSH probes: counted, capped, paced, replaced when broken.

Each probe borrows a connection for one command on a channel of its own; built-in checks queued
while the handshake is in flight run together in one channel (see sshsession). The
handshake runs in a task owned by the pool, so a probe whose deadline fires does not cancel it for
the others waiting on it, and a failed handshake fails every waiter with the same exception (one
attempt, not one per probe). The pool is told how many SSH jobs this sweep has per connection key
(`planned`, counted while the sweep is prepared) and closes a connection after its last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncssh

from prober.model import Job, Target
from prober.probes.ssh import options as sshopts
from prober.probes.ssh.connect import Pacer, connect_direct, login, parse_jump
from prober.probes.ssh.session import Ran, Request, fail_all, run_batch, run_check, run_single
from prober.probes.ssh.spec import SSHSpec

MAX_CHANNELS = 10  # OpenSSH's default MaxSessions: more sessions on one connection are refused
Key = tuple[Any, ...]


@dataclass(eq=False)
class _Conn:
    """A connection being made (task pending) or made; `active` channels are using it."""

    task: asyncio.Task[asyncssh.SSHClientConnection]
    active: int = 0
    batch: list[Request] | None = None  # commands queued while the handshake is in flight

    def usable(self) -> bool:
        if not self.task.done():
            return True
        if self.task.cancelled() or self.task.exception() is not None:
            return False
        return not self.task.result().is_closed()

    def close(self) -> None:
        if not self.task.done():
            self.task.cancel()
        elif not self.task.cancelled() and self.task.exception() is None:
            self.task.result().close()


@dataclass(eq=False)
class _Host:
    conns: list[_Conn] = field(default_factory=list)
    freed: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self, *_: object) -> None:
        """Let probes waiting for a channel look again (a channel ended, a handshake ended)."""
        self.freed.set()
        self.freed = asyncio.Event()


def pool_key(target: Target, spec: SSHSpec) -> Key:
    """Probes with equal keys can share a connection: same address, port, credentials and route."""
    return (target.address, spec.port, sshopts.cache_key(spec), spec.jump, spec.ssh_config)


def planned(jobs: Iterable[Job]) -> Counter[Key]:
    """The SSH jobs per connection key (pool_key): what an SSHPool is given to close each connection
    after its last planned probe."""
    return Counter(pool_key(j.target, j.spec) for j in jobs if isinstance(j.spec, SSHSpec))


def _quiet(task: asyncio.Task[Any]) -> None:
    """Retrieve a handshake's exception so an unawaited failure is not logged as never retrieved."""
    if not task.cancelled():
        task.exception()


class Lease:
    """A probe's hold on a shared connection for running one command."""

    def __init__(self, pool: SSHPool, key: Key, target: Target, spec: SSHSpec) -> None:
        self.pool, self.key, self.target, self.spec = pool, key, target, spec
        self.entry: _Conn | None = None

    async def run(self, command: str, cap: int, batch: bool = False, deadline: float | None = None) -> Ran:
        """Run `command` on its own channel, or with `batch` (built-in checks) in the combined script:
        with the other checks queued while the connection is being made, else alone; either way
        stopped on the host at `deadline` (loop time; by default the probe's timeout from now).

        On a connection that was already up, a channel that fails because the connection has
        died meanwhile is retried once on a fresh connection.
        """
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + self.spec.timeout
        for attempt in (1, 2):
            self.entry = await self.pool._acquire(self.key, self.target, self.spec)
            if batch and not self.entry.task.done():
                return await self.pool._join(self.entry, command, cap, deadline)
            reused = self.entry.task.done()
            conn = await asyncio.shield(self.entry.task)
            try:
                if batch:
                    return await run_check(conn, command, cap, deadline)
                return await run_single(conn, command, cap)
            except (asyncssh.Error, OSError):
                if attempt == 2 or not reused or not conn.is_closed():
                    raise
                self.pool._drop(self.key, self.entry)  # closed under us: make a new one
                self.entry = None
        raise AssertionError("unreachable")


class SSHPool:
    """Per-sweep shared SSH connections, keyed by pool_key."""

    def __init__(
        self,
        options_for: Callable[..., Any],
        planned: Mapping[Key, int] | None = None,
        max_idle: int = 256,
        rate_share: float = 1.0,
    ) -> None:
        self._options_for = options_for
        # Idle connections still expecting probes later in the plan (a host listed in two groups),
        # least recently used first; beyond max_idle the oldest is closed to bound open files.
        self._idle: OrderedDict[_Conn, Key] = OrderedDict()
        self._runners: set[asyncio.Task[None]] = set()
        self.max_idle = max_idle
        # SSH jobs still to come per connection key; a key not counted is kept idle (up to max_idle).
        self._remaining: Counter[Key] = Counter(planned or {})
        self._hosts: dict[Key, _Host] = {}
        self._pacer = Pacer(rate_share)
        self._bastions: dict[Key, _Conn] = {}
        self.handshakes = 0  # connections started, for tests and benchmarks

    @contextlib.asynccontextmanager
    async def lease(self, target: Target, spec: SSHSpec) -> AsyncIterator[Lease]:
        """Borrow the host's connection for one probe; counts the probe as done on exit."""
        key = pool_key(target, spec)
        lease = Lease(self, key, target, spec)
        try:
            yield lease
        finally:
            self._release(key, lease.entry)

    async def _acquire(self, key: Key, target: Target, spec: SSHSpec) -> _Conn:
        while True:
            # Looked up afresh each time: the entry may have been closed and dropped meanwhile.
            host = self._hosts.setdefault(key, _Host())
            host.conns = [c for c in host.conns if c.usable()]
            entry = self._pick(host, spec, target, key)
            if entry is not None:
                entry.active += 1
                self._idle.pop(entry, None)
                return entry
            await host.freed.wait()

    def _pick(self, host: _Host, spec: SSHSpec, target: Target, key: Key) -> _Conn | None:
        idle = [c for c in host.conns if c.active == 0]
        if idle:
            return idle[0]
        if len(host.conns) < spec.per_host_concurrency:
            task = asyncio.get_running_loop().create_task(self._handshake(target, spec))
            task.add_done_callback(_quiet)
            task.add_done_callback(host.wake)
            self.handshakes += 1
            host.conns.append(_Conn(task))
            return host.conns[-1]
        least = min(host.conns, key=lambda c: c.active)
        return least if least.active < MAX_CHANNELS else None

    async def _join(self, entry: _Conn, command: str, cap: int, deadline: float) -> Ran:
        future: asyncio.Future[Ran] = asyncio.get_running_loop().create_future()
        if entry.batch is None:
            entry.batch = []
            entry.task.add_done_callback(functools.partial(self._flush, entry))
        entry.batch.append(Request(command, cap, future, deadline))
        return await future

    def _flush(self, entry: _Conn, task: asyncio.Task[asyncssh.SSHClientConnection]) -> None:
        """The handshake ended: run everything queued on it in one go, or fail it all alike."""
        requests = [r for r in entry.batch or () if not r.future.done()]
        entry.batch = None
        if not requests:
            return
        if task.cancelled():
            fail_all(requests, asyncssh.ConnectionLost("the connection was closed before use"))
        elif (exc := task.exception()) is not None:
            fail_all(requests, exc)  # one handshake failure, the same kind for every waiter
        else:
            runner = asyncio.get_running_loop().create_task(run_batch(task.result(), requests))
            self._runners.add(runner)
            runner.add_done_callback(self._runners.discard)

    def _drop(self, key: Key, entry: _Conn) -> None:
        entry.active -= 1
        entry.close()
        host = self._hosts.get(key)
        if host is not None and entry in host.conns:
            host.conns.remove(entry)
            host.wake()

    def _release(self, key: Key, entry: _Conn | None) -> None:
        remaining = self._remaining
        host = self._hosts.get(key)
        if entry is not None:
            entry.active -= 1
        if host is None:
            return
        if key in remaining:
            # A retried job is counted twice, so this may come early: the next probe reconnects.
            remaining[key] -= 1
            if remaining[key] <= 0 and all(c.active == 0 for c in host.conns):
                for conn in host.conns:
                    conn.close()  # the host's last planned probe is done
                    self._idle.pop(conn, None)
                del self._hosts[key]
                host.wake()
                return
        if entry is not None and entry.active == 0 and entry in host.conns:
            self._idle[entry] = key
            self._trim_idle()
        host.wake()

    def _trim_idle(self) -> None:
        while len(self._idle) > self.max_idle:
            conn, key = self._idle.popitem(last=False)
            host = self._hosts.get(key)
            if host is not None and conn in host.conns:
                host.conns.remove(conn)
            conn.close()

    async def _handshake(self, target: Target, spec: SSHSpec) -> asyncssh.SSHClientConnection:
        if spec.ssh_rate:
            await self._pacer.take(spec.ssh_rate)
        if spec.jump:
            options = self._options_for(spec)
            tunnel = await self._bastion(spec, options)
            login_limit = spec.login_timeout or spec.timeout
            return await login(target.address, spec.port, login_limit, options=options, tunnel=tunnel)
        # With ssh_config: true, the options ~/.ssh/config gives this target (prepared per target).
        return await connect_direct(target.address, spec, self._options_for(spec, target.address))

    async def _bastion(self, spec: SSHSpec, options: Any) -> asyncssh.SSHClientConnection:
        """The jump host's connection, one per (bastion, credentials) for the whole sweep."""
        user, host, port = parse_jump(spec.jump or "")
        key = (host, port, user, sshopts.cache_key(spec))
        entry = self._bastions.get(key)
        if entry is None or not entry.usable():
            limit = (spec.connect_timeout or spec.timeout) + (spec.login_timeout or spec.timeout)
            extra = {"username": user} if user else {}
            coro = login(host, port, limit, what="jump host", options=options, config=None, **extra)
            entry = _Conn(asyncio.get_running_loop().create_task(coro))
            entry.task.add_done_callback(_quiet)
            self.handshakes += 1
            self._bastions[key] = entry
        return await asyncio.shield(entry.task)

    async def aclose(self) -> None:
        """Close every connection and cancel handshakes still running."""
        entries = [c for h in self._hosts.values() for c in h.conns] + list(self._bastions.values())
        for runner in self._runners:
            runner.cancel()
        self._idle.clear()
        self._hosts.clear()
        self._bastions.clear()
        for entry in entries:
            entry.close()
        pending = [e.task for e in entries if not e.task.done()]
        if pending:
            await asyncio.wait(pending, timeout=1.0)
