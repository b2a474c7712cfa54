"""What a sweep prepares before any probe's clock starts, per probe kind, from the plan's distinct specs.

A probe's deadline must measure that probe's own work. Everything that is not per target costs
CPU that, done lazily, lands on the clock of whichever probes are in flight and freezes the event
loop for all of them: importing a probe kind's library (aiohttp ~0.28 s, asyncssh ~0.37 s here), a
TLS context (~17 ms, the CA store), a private key (a passphrase-protected OpenSSH key runs a bcrypt
KDF: hundreds of ms), known_hosts (knownhosts), ~/.ssh/config, user regexes. Each probe kind declares
its preparer (`ProbeKind.prepare(jobs, prepared, stop)`, prober/probes/registry.py): synchronous work
from the plan's jobs of that kind into a Prepared, skipping what is already there; its libraries and
probe module are imported first. It runs in a thread before the engine
starts its workers (Resources.prepare), or in the parent before it forks workers, whose children
inherit the result (`inherit`). A setup failure is stored and raised by each probe that needs it,
so it becomes one record per affected probe, with its kind (auth, host_key, tls).
"""

from __future__ import annotations

import os
import signal
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prober.errors import SetupError, Stopped
from prober.model import Job
from prober.regex import TEXT, Pattern, compile_pattern


@dataclass
class Prepared:
    """What every probe of a sweep shares and no probe's clock pays for."""

    kinds: set[str] = field(default_factory=set)  # probe kinds whose modules are imported
    ssl: dict[tuple[bool, str | None], ssl.SSLContext | SetupError] = field(default_factory=dict)
    patterns: dict[tuple[str, str], Pattern] = field(default_factory=dict)
    ssh: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # sshopts.cache_key → options | error
    ssh_hosts: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # ssh_config: per (key, host, port)
    known_hosts: dict[str, Any] = field(default_factory=dict)  # path → PreparedKnownHosts | SetupError
    store: dict[tuple[str, Any], Any] = field(default_factory=dict)  # any kind's own: (kind, key) → value
    seconds: float = 0.0




def pattern(prepared: Prepared, text: str, mode: str = TEXT) -> Pattern:
    """The compiled pattern (compiled now if the plan did not name it: a probe run outside a sweep)."""
    key = (text, mode)
    found = prepared.patterns.get(key)
    if found is None:
        found = prepared.patterns[key] = compile_pattern(text, mode)
    return found


def ssl_context(prepared: Prepared, verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """One context per (verify, CA file); a CA file that cannot be loaded raises SetupError each time."""
    key = (verify, ca_file)
    if key not in prepared.ssl:
        try:
            prepared.ssl[key] = make_ssl_context(verify, ca_file)
        except SetupError as exc:
            prepared.ssl[key] = exc
    found = prepared.ssl[key]
    if isinstance(found, SetupError):
        raise SetupError(found.kind, found.message)
    return found


def make_ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """A new context, verifying with `ca_file` or the system's CA store (~17 ms), or not at all."""
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


def distinct_specs(jobs: Sequence[Job]) -> list[Any]:
    """Each spec object once (by identity: hashing 50,000 templated specs field by field costs more)."""
    return list({id(job.spec): job.spec for job in jobs}.values())


def prepare(
    jobs: Sequence[Job], prepared: Prepared | None = None, stop: threading.Event | None = None
) -> Prepared:
    """Run each kind's preparer over its jobs (kinds in plan order); returns `prepared`, filled."""
    prepared = prepared if prepared is not None else Prepared()
    started = time.perf_counter()
    from prober.probes import registry

    by_kind: dict[str, list[Job]] = {}
    for job in jobs:
        by_kind.setdefault(job.spec.kind, []).append(job)
    for name, kind_jobs in by_kind.items():
        kind = registry.get(name)
        if name not in prepared.kinds:
            kind.load()  # the kind's libraries and probe module: imported now, not on a clock
            prepared.kinds.add(name)
        if kind.prepare is not None:
            kind.prepare(kind_jobs, prepared, stop)
    prepared.seconds += time.perf_counter() - started
    return prepared


_inherited: list[tuple[int, Prepared]] = []  # (pid that prepared it, what it prepared)


def inherit(jobs: Sequence[Job]) -> None:
    """Prepare here for the worker processes about to be forked: each child's Resources.prepare
    then starts from this and finds everything done. The stop signals are held at this point
    (sweep.run); one arriving meanwhile ends the preparation and stays pending for the workers'
    parent, which forwards it (the children, finding nothing prepared, are cancelled anyway)."""
    from prober import logs
    from prober.runtime.signals import STOP_SIGNALS

    stop = threading.Event()
    done: list[Prepared] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(prepare(jobs, stop=stop))
        except Exception as exc:
            failed.append(exc)

    thread = threading.Thread(target=run, name="prober-prepare", daemon=True)
    thread.start()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, ()) >= STOP_SIGNALS
    while thread.is_alive():
        if not held:
            thread.join(0.1)
            continue
        caught = signal.sigtimedwait(STOP_SIGNALS, 0.1)
        if caught is not None:
            stop.set()
            thread.join()
            signal.raise_signal(caught.si_signo)  # pending again: the parent's forwarder takes it
            return
    if failed and not isinstance(failed[0], Stopped):
        logs.get().error("preparing the sweep failed; workers prepare it themselves", error=repr(failed[0]))
    _inherited[:] = [(os.getpid(), prepared) for prepared in done]


def take_inherited() -> Prepared | None:
    """In a forked worker, what its parent prepared (once); None in the process that prepared it."""
    if _inherited and _inherited[0][0] != os.getpid():
        return _inherited.pop()[1]
    return None


__all__ = [
    "Prepared",
    "distinct_specs",
    "inherit",
    "make_ssl_context",
    "pattern",
    "prepare",
    "ssl_context",
    "take_inherited",
]
