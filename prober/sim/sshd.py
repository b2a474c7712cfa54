"""The simulator's SSH servers: asyncssh with generated host keys, running commands with sh."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncssh


def _runner(fail_exit: int | None):  # type: ignore[no-untyped-def]
    async def handle(process: asyncssh.SSHServerProcess[bytes]) -> None:
        if fail_exit is not None:
            process.stderr.write(b"simulated failure\n")
            process.exit(fail_exit)
            return
        command = process.command or "true"
        child = await asyncio.create_subprocess_shell(
            command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await child.communicate()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            raise
        with contextlib.suppress(Exception):
            process.stdout.write(out)
            process.stderr.write(err)
            process.exit(child.returncode if child.returncode is not None and child.returncode >= 0 else 255)

    return handle


async def start_sshd(
    address: str,
    port: int,
    host_key: asyncssh.SSHKey,
    client_public_key: str,
    fail_exit: int | None = None,
    password: str | None = None,
) -> Any:
    """One listening SSH server; accepts the given client key (and the password, if one is set)."""

    class _Server(asyncssh.SSHServer):
        def password_auth_supported(self) -> bool:
            return password is not None

        def validate_password(self, username: str, given: str) -> bool:
            return password is not None and given == password

    return await asyncssh.listen(
        address,
        port,
        server_host_keys=[host_key],
        authorized_client_keys=asyncssh.import_authorized_keys(client_public_key),
        process_factory=_runner(fail_exit),
        encoding=None,
        server_factory=_Server,
        reuse_address=True,
    )
