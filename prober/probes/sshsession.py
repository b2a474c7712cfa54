"""Run commands on an SSH connection with bounded output: one per channel, or several in one channel.

Built-in checks that queue on a host while its handshake is in flight are run as ONE combined
shell script on one channel: each command eval'ed in its own subshell, followed by a marker line
carrying a random nonce and its exit status. That saves the per-session cost (a channel, a remote
shell) for every check after the first. Each probe gets its result as soon as its marker arrives.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import asyncssh

from prober.errors import ProbeFailed

STDERR_MAX_BYTES = 2048  # enough for the first line of an error message


@dataclass(frozen=True, slots=True)
class Ran:
    """What one command produced: capped stdout and stderr, exit status (None if never sent)."""

    stdout: bytes
    stderr: bytes
    exit_status: int | None
    exit_signal: tuple[str, bool, str] | None = None


@dataclass(slots=True)
class Request:
    """A command waiting to run, and the future its probe awaits."""

    command: str
    cap: int
    future: asyncio.Future[Ran]


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


def combined_script(commands: Sequence[str], nonce: str) -> str:
    """Each command eval'ed in its own subshell, then its marker on stdout (with $?) and on stderr.

    eval keeps a command's syntax error inside its subshell (exit 2, as when run alone) instead
    of breaking the whole script for the other probes.
    """
    parts = []
    for index, command in enumerate(commands):
        parts.append(
            f"( eval {shlex.quote(command)} ) </dev/null; printf '\\n@@{nonce} {index} %d\\n' $?; "
            f"printf '\\n@@{nonce} {index}\\n' >&2"
        )
    return "\n".join(parts)


class _Splitter:
    """Cuts one stream into per-command parts at marker lines, keeping at most a cap per part."""

    def __init__(self, marker: re.Pattern[bytes], caps: Sequence[int]) -> None:
        self.marker, self.caps = marker, caps
        self.parts = [bytearray() for _ in caps]
        self.index = 0
        self.pending = bytearray()
        self.keep = 80  # longer than any marker: a marker split across reads is still found

    def _emit(self, data: bytes | bytearray) -> None:
        if self.index < len(self.parts):
            part, cap = self.parts[self.index], self.caps[self.index]
            if len(part) < cap:
                part += data[: cap - len(part)]

    def feed(self, data: bytes) -> list[tuple[int, int | None]]:
        """Add bytes; return (index, status) for each marker passed."""
        self.pending += data
        ended = []
        while match := self.marker.search(self.pending):
            self._emit(self.pending[: match.start()])
            status = match.group(2)
            ended.append((int(match.group(1)), int(status) if status else None))
            self.index = int(match.group(1)) + 1
            del self.pending[: match.end()]
        if len(self.pending) > self.keep:
            self._emit(self.pending[: -self.keep])
            del self.pending[: -self.keep]
        return ended


class Combined(asyncssh.SSHClientSession[bytes]):
    """The session of a combined script: resolves each request when both its markers are in."""

    def __init__(self, requests: Sequence[Request], nonce: str) -> None:
        self.requests = requests
        tag = re.escape(nonce.encode())
        caps = [r.cap for r in requests]
        self.out = _Splitter(re.compile(rb"\n@@" + tag + rb" (\d+) (\d+)\n"), caps)
        self.err = _Splitter(re.compile(rb"\n@@" + tag + rb" (\d+)()\n"), [STDERR_MAX_BYTES] * len(caps))
        self.status: dict[int, int | None] = {}
        self.err_done: set[int] = set()
        self.exit_signal: tuple[str, bool, str] | None = None
        self.script_exit: int | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if datatype:
            self.err_done.update(index for index, _ in self.err.feed(data))
        else:
            self.status.update(self.out.feed(data))
        for index in list(self.status):
            if index in self.err_done:
                self._resolve(index, self.status.pop(index))

    def _resolve(self, index: int, status: int | None) -> None:
        if index < len(self.requests) and not self.requests[index].future.done():
            ran = Ran(bytes(self.out.parts[index]), bytes(self.err.parts[index]), status, self.exit_signal)
            self.requests[index].future.set_result(ran)

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal = (signal, core_dumped, msg)

    def exit_status_received(self, status: int) -> None:
        self.script_exit = status

    def connection_lost(self, exc: Exception | None) -> None:
        # Commands whose markers did not both arrive: what came so far, or the connection's error.
        for index, request in enumerate(self.requests):
            if request.future.done():
                continue
            if exc is not None:
                request.future.set_exception(exc)
            elif index in self.status or self.script_exit is None:
                # No exit status at all (or a signal): the probe judges that as it would alone.
                self._resolve(index, self.status.pop(index, None))
            else:
                request.future.set_exception(self._never_reported(index))
        if not self.done.done():
            self.done.set_result(None)

    def _never_reported(self, index: int) -> ProbeFailed:
        """The remote shell ended before this command's end marker: the check was not evaluated."""
        said = bytes(self.err.parts[index] or self.err.parts[0]).decode("utf-8", "replace").strip()
        detail = f": {said.splitlines()[0][:200]}" if said else ""
        message = f"not evaluated: the remote shell ended (exit {self.script_exit}) before this check ran"
        return ProbeFailed("assertion", message + detail)


async def run_batch(conn: asyncssh.SSHClientConnection, requests: Sequence[Request]) -> None:
    """Run the requests (one alone, several combined) and resolve their futures; never raises."""
    try:
        if len(requests) == 1:
            ran = await run_single(conn, requests[0].command, requests[0].cap)
            if not requests[0].future.done():
                requests[0].future.set_result(ran)
            return
        nonce = secrets.token_hex(8)
        script = combined_script([r.command for r in requests], nonce)
        channel, _ = await conn.create_session(lambda: Combined(requests, nonce), script, encoding=None)
        try:
            channel.write_eof()
            # Until every probe has its answer or has given up (its deadline passed). asyncio.wait
            # never cancels the probes' futures, even when this task is cancelled at sweep end.
            await asyncio.wait([r.future for r in requests])
        finally:
            channel.close()
    except Exception as exc:  # handed to every waiting probe, classified there
        fail_all(requests, exc)


def fail_all(requests: Sequence[Request], exc: BaseException) -> None:
    for request in requests:
        if not request.future.done():
            request.future.set_exception(exc)
