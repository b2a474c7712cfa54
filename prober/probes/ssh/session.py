"""Run commands on an SSH connection with bounded output: one per channel, or several in one channel.

Built-in checks that queue on a host while its handshake is in flight are run as ONE combined
script on one channel (see sshscript): all at once, each under its own time budget. That saves the
per-session cost (a channel, a remote shell) for every check after the first. Each probe gets its
result as soon as its frames arrive.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import asyncssh

from prober.errors import ProbeFailed
from prober.probes.ssh import script as sshscript
from prober.probes.ssh.script import STDERR_MAX_BYTES


@dataclass(frozen=True, slots=True)
class Ran:
    """What one command produced: capped stdout and stderr, exit status (None if never sent)."""

    stdout: bytes
    stderr: bytes
    exit_status: int | None
    exit_signal: tuple[str, bool, str] | None = None


@dataclass(slots=True)
class Request:
    """A command waiting to run, the future its probe awaits, and its probe's deadline (loop time)."""

    command: str
    cap: int
    future: asyncio.Future[Ran]
    deadline: float


class Collector(asyncssh.SSHClientSession[bytes]):
    """One command on one channel: keeps at most `cap` bytes of stdout, drops the rest as it comes.

    Reading in the callback (instead of conn.run(), which buffers everything) keeps memory bounded
    and never stalls the remote side on a full window.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.exit_status: int | None = None
        self.exit_signal: tuple[str, bool, str] | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        buf, cap = (self.stderr, STDERR_MAX_BYTES) if datatype else (self.stdout, self.cap)
        room = cap - len(buf)
        if room > 0:
            buf += data[:room]

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal = (signal, core_dumped, msg)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            if exc is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(exc)

    def result(self) -> Ran:
        return Ran(bytes(self.stdout), bytes(self.stderr), self.exit_status, self.exit_signal)


async def run_single(conn: asyncssh.SSHClientConnection, command: str, cap: int) -> Ran:
    """One command on its own channel."""
    channel, session = await conn.create_session(lambda: Collector(cap), command, encoding=None)
    assert isinstance(session, Collector)
    try:
        channel.write_eof()  # no input: a command reading stdin must not wait forever
        await session.done
    finally:
        channel.close()  # on a timeout too: never wait for a command that does not end
    return session.result()


class Combined(asyncssh.SSHClientSession[bytes]):
    """The session of a combined script: resolves each request as soon as its last frame is in."""

    def __init__(self, requests: Sequence[Request], jobs: Sequence[sshscript.Job], nonce: str) -> None:
        self.requests, self.jobs, self.nonce = requests, jobs, nonce
        self.frames = sshscript.Frames(nonce)
        self.parts: dict[int, bytearray] = {}
        self.stderr = bytearray()  # the script's own complaints (a shell that cannot start)
        self.exit_signal: tuple[str, bool, str] | None = None
        self.script_exit: int | None = None

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if datatype:
            self.stderr += data[: STDERR_MAX_BYTES - len(self.stderr)]
            return
        for index, kind, data_ in self.frames.feed(data):
            if index >= len(self.requests) or self.requests[index].future.done():
                continue
            part = self.parts.setdefault(index, bytearray())
            if len(part) < self.jobs[index].cap + STDERR_MAX_BYTES + 64:
                part += data_
            if kind == b"$":
                self._resolve(index)
            elif kind == b"T":
                self.requests[index].future.set_exception(self._timed_out(index))

    def _resolve(self, index: int) -> None:
        stdout, stderr, status = sshscript.split_result(
            bytes(self.parts.pop(index, b"")), self.nonce, self.jobs[index].cap
        )
        self.requests[index].future.set_result(Ran(stdout, stderr, status))

    def _timed_out(self, index: int) -> ProbeFailed:
        budget = self.jobs[index].budget
        return ProbeFailed("timeout", f"still running on the host after {budget:.2f} s: killed there")

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal = (signal, core_dumped, msg)

    def exit_status_received(self, status: int) -> None:
        self.script_exit = status

    def eof_received(self) -> bool:
        return True  # no EOF of ours in reply (two packets with asyncssh's IGNORE): the close follows

    def connection_lost(self, exc: Exception | None) -> None:
        # Checks whose last frame did not arrive: the connection's error, or how the script ended.
        for request in self.requests:
            if request.future.done():
                continue
            if exc is not None:
                request.future.set_exception(exc)
            elif self.script_exit is None:
                # No exit status at all (or a signal): the probe judges that as it would alone.
                request.future.set_result(Ran(b"", bytes(self.stderr), None, self.exit_signal))
            else:
                request.future.set_exception(self._never_reported())

    def _never_reported(self) -> ProbeFailed:
        """The remote shell ended before this check's result: the check was not evaluated."""
        said = bytes(self.stderr).decode("utf-8", "replace").strip()
        detail = f": {said.splitlines()[0][:200]}" if said else ""
        message = f"not evaluated: the remote shell ended (exit {self.script_exit}) before this check ran"
        return ProbeFailed("assertion", message + detail)


def _jobs(requests: Sequence[Request]) -> list[sshscript.Job]:
    now = asyncio.get_running_loop().time()
    return [sshscript.Job(r.command, r.cap, sshscript.budget(r.deadline - now)) for r in requests]


async def run_check(conn: asyncssh.SSHClientConnection, command: str, cap: int, deadline: float) -> Ran:
    """One built-in check on a channel of its own, still under the script's budget and watchdog: a
    hung one alone is stopped on the host too, not only given up by the client."""
    future: asyncio.Future[Ran] = asyncio.get_running_loop().create_future()
    await run_batch(conn, [Request(command, cap, future, deadline)])
    return future.result()


async def run_batch(conn: asyncssh.SSHClientConnection, requests: Sequence[Request]) -> None:
    """Run the requests in one combined script and resolve their futures; never raises."""
    try:
        nonce = secrets.token_hex(8)
        jobs = _jobs(requests)
        command = sshscript.command_line(jobs, nonce)
        session = functools.partial(Combined, requests, jobs, nonce)
        channel, _ = await conn.create_session(session, command, encoding=None)
        try:
            # No write_eof (a packet, and the IGNORE asyncssh sends before each): no job reads stdin.
            # Until every probe has its answer or has given up (its deadline passed). asyncio.wait
            # never cancels the probes' futures, even when this task is cancelled at sweep end. A
            # check still running on the host is stopped there by the script's own watchdog.
            await asyncio.wait([r.future for r in requests])
        finally:
            channel.close()
    except Exception as exc:  # handed to every waiting probe, classified there
        fail_all(requests, exc)


def fail_all(requests: Sequence[Request], exc: BaseException) -> None:
    for request in requests:
        if not request.future.done():
            request.future.set_exception(exc)
