"""SSH probe: on the host's shared connection, run a command (or a built-in check) and judge it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from prober.errors import ProbeFailed
from prober.masking import NO_SECRETS, Mask
from prober.model import Outcome, Status, Target
from prober.probes.ssh.checks import CHECKS
from prober.probes.ssh.checks.base import Output, Unreadable
from prober.probes.ssh.script import STDERR_MAX_BYTES
from prober.probes.ssh.session import Ran
from prober.probes.ssh.spec import SSHSpec
from prober.probes.textcap import REMOTE_TEXT_MAX, decode
from prober.regex import Pattern, utf8_text
from prober.runtime.resources import Resources


def scrub(session: Ran, mask: Mask, cap: int) -> Ran:
    """Remote output echoing a password or passphrase must not carry it, or a piece of it, further.

    stdout was read `mask.margin` bytes past its cap, so a secret straddling the cap is seen whole:
    masked first, then cut to the cap, then a secret's start left at the cut masked too.
    """
    out = mask.capped(session.stdout, cap, read_limit=cap + mask.margin)
    err = mask.capped(session.stderr, STDERR_MAX_BYTES, read_limit=STDERR_MAX_BYTES)
    return replace(session, stdout=out, stderr=err)


CHECK_STDOUT_CHARS = 256  # a check's reading carries the figures; its raw output is only a hint


def base_details(spec: SSHSpec, session: Ran, mask: Mask = NO_SECRETS) -> dict[str, Any]:
    """exit_status and stdout (already masked by scrub) cut for the record, the cut edge masked."""
    limit = REMOTE_TEXT_MAX if spec.check is None else CHECK_STDOUT_CHARS
    if mask:
        stdout = mask.cut(session.stdout.decode("utf-8", errors="replace"), limit)
    else:
        stdout = decode(session.stdout, limit)
    return {"exit_status": session.exit_status, "stdout": stdout}


def ended_properly(session: Ran, details: dict[str, Any]) -> None:
    """A command killed by a signal, or ending without an exit status, is a failure."""
    if session.exit_signal is not None:
        signal, _, message = session.exit_signal
        raise ProbeFailed("assertion", f"command killed by signal {signal} {message}".strip(), **details)
    if session.exit_status is None:
        raise ProbeFailed("protocol", "the server closed the channel without an exit status", **details)


def judge(
    spec: SSHSpec, session: Ran, details: dict[str, Any], stdout_regex: Pattern | None = None
) -> Outcome:
    """A plain command: exit status and optional stdout regex (compiled once per sweep)."""
    ended_properly(session, details)
    if session.exit_status != spec.expect_exit:
        raise ProbeFailed(
            "assertion", f"exit status {session.exit_status}, expected {spec.expect_exit}", **details
        )
    if stdout_regex is not None and not stdout_regex.search(utf8_text(bytes(session.stdout))):
        raise ProbeFailed("assertion", f"stdout does not match {spec.stdout_regex!r}", **details)
    return Outcome(details)


def judge_check(spec: SSHSpec, session: Ran, details: dict[str, Any]) -> Outcome:
    """A built-in check: its reading decides ok/warn/fail and becomes the record's `check`.

    It reads output scrub() masked whole, so its cuts (a plugin's first 200 characters) cannot
    leave a piece of a secret."""
    name = spec.check or ""
    ended_properly(session, details)
    assert session.exit_status is not None
    output = Output(bytes(session.stdout), bytes(session.stderr), session.exit_status)
    try:
        reading = CHECKS[name].judge(spec, output)
    except Unreadable as exc:
        check = {"name": name, "value": None, "unit": None, "warn": spec.warn, "crit": spec.crit}
        raise ProbeFailed(
            "assertion", f"{name} check cannot be evaluated: {exc}", check=check, **details
        ) from None
    details["check"] = reading.check
    if reading.status is Status.FAIL:
        raise ProbeFailed("assertion", reading.message or f"{name} check failed", **details)
    return Outcome(details, reading.message if reading.status is Status.WARN else None)


def command_for(spec: SSHSpec) -> str:
    if spec.check is not None:
        return CHECKS[spec.check].command(spec)
    if spec.command is None:
        raise ProbeFailed("assertion", "this ssh probe has neither 'command' nor 'check'")
    return spec.command


async def probe(target: Target, spec: SSHSpec, res: Resources) -> Outcome:
    """Borrow the host's shared connection (host key checked) and run the command on a new channel."""
    deadline = asyncio.get_running_loop().time() + spec.timeout  # the engine's clock started just now
    command = command_for(spec)
    cap = spec.stdout_max_bytes if spec.check is None else max(spec.stdout_max_bytes, 65536)
    mask = res.redactor.mask(spec)
    async with res.ssh_pool().lease(target, spec) as lease:
        # Built-in checks (short, read-only commands) may share one remote `sh`; user commands and
        # plugins are user code, run as `ssh host command` would: in the login shell, a channel each.
        batch = spec.check not in (None, "nagios")
        session = await lease.run(command, cap + mask.margin, batch, deadline)
    if mask:
        session = scrub(session, mask, cap)
    details = base_details(spec, session, mask)
    if spec.check is None:
        return judge(spec, session, details, res.pattern(spec.stdout_regex) if spec.stdout_regex else None)
    return judge_check(spec, session, details)
