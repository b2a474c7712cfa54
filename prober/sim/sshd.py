"""The simulator's SSH servers: asyncssh running real `sh -c` commands, plus hostile variants for tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncssh

_CHUNK = 65536


@dataclass
class ServerStats:
    """What a server saw, for tests: TCP connections, completed logins, sessions (channels) opened."""

    connections: int = 0
    logins: int = 0
    sessions: int = 0
    closed: int = 0
    active: int = 0  # sessions running now
    max_active: int = 0
    live: list[Any] = field(default_factory=list)  # open server-side connections

    def drop_all(self) -> None:
        """Abort every open connection from the server side (a reboot, a killed sshd)."""
        for conn in list(self.live):
            conn.abort()


async def _pump(source: asyncio.StreamReader, sink: Any) -> None:
    """Copy child output to the channel, honouring the SSH window (drain) so memory stays bounded."""
    while chunk := await source.read(_CHUNK):
        sink.write(chunk)
        await sink.drain()


async def _output(child: asyncio.subprocess.Process, process: asyncssh.SSHServerProcess[bytes]) -> int:
    assert child.stdout is not None and child.stderr is not None
    await asyncio.gather(_pump(child.stdout, process.stdout), _pump(child.stderr, process.stderr))
    return await child.wait()


async def _run_shell(process: asyncssh.SSHServerProcess[bytes], command: str) -> None:
    child = await asyncio.create_subprocess_shell(
        command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # so the whole command's process group can be killed
    )
    work = asyncio.ensure_future(_output(child, process))
    # The client may close the channel (its deadline passed) while the connection lives on.
    closed = asyncio.ensure_future(process.channel.wait_closed())
    try:
        await asyncio.wait({work, closed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        closed.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(child.wait(), 1.0)
    if work.cancelled() or work.exception() is not None:
        process.close()
        return
    code = work.result()
    if code < 0:
        process.exit_with_signal(signal.Signals(-code).name.removeprefix("SIG"))
    else:
        process.exit(code)


_NONCE = re.compile(r"N=([0-9a-f]{16})")  # a combined check script's random frame marker
_BUDGETS = re.compile(r"z \d+\.\d+ \d+")  # and its watchdog's sleeps, which vary from run to run


async def _replay(
    process: asyncssh.SSHServerProcess[bytes], cache: dict[str, tuple[bytes, bytes, int]]
) -> None:
    """Answer from the first real run of the same command: the host's own work costs nothing here.

    A combined script's random marker nonce and its budgets are left out of the cache key; the
    nonce is put back on replay.
    """
    command = process.command or "true"
    match = _NONCE.search(command)
    nonce = match.group(1).encode() if match else b""
    key = _BUDGETS.sub("z B", _NONCE.sub("N=NONCE", command))
    if key not in cache:
        child = await asyncio.create_subprocess_shell(
            command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(child.communicate(), 10)
        if nonce:
            out, err = out.replace(nonce, b"NONCE"), err.replace(nonce, b"NONCE")
        cache[key] = (out[:65536], err[:4096], child.returncode or 0)
    out, err, code = cache[key]
    if nonce:
        out, err = out.replace(b"NONCE", nonce), err.replace(b"NONCE", nonce)
    process.stdout.write(out)
    process.stderr.write(err)
    process.exit(code)


def _runner(
    fail_exit: int | None, behaviour: str | None, stats: ServerStats
) -> Callable[[asyncssh.SSHServerProcess[bytes]], Awaitable[None]]:
    cache: dict[str, tuple[bytes, bytes, int]] = {}

    async def handle(process: asyncssh.SSHServerProcess[bytes]) -> None:
        stats.sessions += 1
        stats.active += 1
        stats.max_active = max(stats.max_active, stats.active)
        try:
            await _serve(process)
        finally:
            stats.active -= 1

    async def _serve(process: asyncssh.SSHServerProcess[bytes]) -> None:
        if behaviour == "cached":
            await _replay(process, cache)
            return
        if fail_exit is not None:
            process.stderr.write(b"simulated failure\n")
            process.exit(fail_exit)
            return
        if behaviour == "no_exit_status":
            process.stdout.write(b"partial output\n")
            process.close()  # channel closed without sending exit-status
            return
        try:
            await _run_shell(process, process.command or "true")
        except (asyncssh.Error, OSError, asyncio.CancelledError, BrokenPipeError):
            process.close()

    return handle


async def start_sshd(
    address: str,
    port: int,
    host_key: asyncssh.SSHKey,
    client_public_key: str,
    fail_exit: int | None = None,
    password: str | None = None,
    *,
    stats: ServerStats | None = None,
    behaviour: str | None = None,
    forwarding: bool = False,
) -> Any:
    """One listening SSH server; accepts the given client key (and the password, if one is set).

    behaviour: None (run commands with sh), "no_exit_status" (close each channel without status) or
    "cached" (run each distinct command once, then replay its output: for benchmarks, where the
    simulated hosts' own work must not compete with the client for this machine's CPUs).
    forwarding: allow direct TCP connections through this server (a jump host).
    """
    counters = stats if stats is not None else ServerStats()

    class _Server(asyncssh.SSHServer):
        def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
            counters.connections += 1
            self._conn = conn
            counters.live.append(conn)

        def connection_lost(self, exc: Exception | None) -> None:
            counters.closed += 1
            if self._conn in counters.live:
                counters.live.remove(self._conn)

        def connection_requested(
            self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
        ) -> bool:
            return forwarding

        def auth_completed(self) -> None:
            counters.logins += 1

        def password_auth_supported(self) -> bool:
            return password is not None

        def validate_password(self, username: str, given: str) -> bool:
            return password is not None and given == password

    return await asyncssh.listen(
        address,
        port,
        server_host_keys=[host_key],
        authorized_client_keys=asyncssh.import_authorized_keys(client_public_key),
        process_factory=_runner(fail_exit, behaviour, counters),
        encoding=None,
        server_factory=_Server,
        reuse_address=True,
        login_timeout=30,
    )


async def start_hostile(address: str, port: int, mode: str) -> asyncio.Server:
    """A TCP server posing as sshd that misbehaves before any SSH: 'silent_banner' or 'garbage'."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if mode == "silent_banner":
                writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
                await writer.drain()
                await reader.read()  # then nothing, until the client gives up
            elif mode == "garbage":
                line = b"x" * 200 + b"\r\n"
                while True:  # endless lines that never become an SSH version string
                    writer.write(line * 50)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    return await asyncio.start_server(handle, address, port, reuse_address=True)
