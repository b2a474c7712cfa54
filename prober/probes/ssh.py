"""SSH probe: log in, run one command, judge its exit status and stdout."""

from __future__ import annotations

import re
from typing import Any

import asyncssh

from prober.errors import ProbeFailed
from prober.model import Outcome, SSHSpec, Target
from prober.probes.resources import Resources
from prober.probes.textcap import decode

_READ_CHUNK = 65536


async def run_bounded(conn: asyncssh.SSHClientConnection, command: str, cap: int) -> tuple[bytes, Any, Any]:
    """Run a command keeping at most `cap` bytes of stdout; return (stdout, exit_status, exit_signal).

    conn.run() would buffer unlimited output; here the excess is read and dropped so the remote
    side is never blocked on a full window and memory stays bounded.
    """
    process = await conn.create_process(
        command, encoding=None, stdin=asyncssh.DEVNULL, stderr=asyncssh.DEVNULL
    )
    kept: list[bytes] = []
    size = 0
    while chunk := await process.stdout.read(_READ_CHUNK):
        if size < cap:
            kept.append(chunk[: cap - size])
        size += len(chunk)
    await process.wait_closed()
    return b"".join(kept), process.exit_status, process.exit_signal


def judge(spec: SSHSpec, stdout: bytes, exit_status: Any, exit_signal: Any) -> dict[str, Any]:
    """Details for the record; raise ProbeFailed when the command's result is not as expected."""
    text = decode(stdout)
    details: dict[str, Any] = {"exit_status": exit_status, "stdout": text}
    if exit_signal is not None:
        raise ProbeFailed("assertion", f"command killed by signal {exit_signal[0]}", **details)
    if exit_status is None:
        raise ProbeFailed("protocol", "the server closed the channel without an exit status", **details)
    if exit_status != spec.expect_exit:
        raise ProbeFailed("assertion", f"exit status {exit_status}, expected {spec.expect_exit}", **details)
    if spec.stdout_regex and not re.search(spec.stdout_regex, stdout.decode("utf-8", errors="replace")):
        raise ProbeFailed("assertion", f"stdout does not match {spec.stdout_regex!r}", **details)
    return details


async def probe(target: Target, spec: SSHSpec, res: Resources) -> Outcome:
    """Connect with prepared options (host key checked against known_hosts) and run the command."""
    options = res.ssh_options(spec)
    conn = await asyncssh.connect(target.address, spec.port, options=options)
    try:
        stdout, exit_status, exit_signal = await run_bounded(conn, spec.command, spec.stdout_max_bytes)
    finally:
        conn.abort()  # no graceful close to wait for: the deadline must not hang on it
    return Outcome(judge(spec, stdout, exit_status, exit_signal))
