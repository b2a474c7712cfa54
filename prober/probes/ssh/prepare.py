"""The SSH part of a sweep's preparation: options per distinct spec, known_hosts per file, ~/.ssh/config.

For each distinct set of credentials (sshopts.cache_key) the client options are built once, keys
decrypted (a bcrypt KDF for a passphrase-protected OpenSSH key). Each known_hosts file is indexed
once, shared by every spec naming it, then prepared for exactly the lookups asyncssh will make:
(host, peer address, port) per planned target, its jump host, or what ~/.ssh/config makes of it
(HostName, HostKeyAlias, Port). With ssh_config: true the config is read and evaluated here, per
planned target, into options of their own: asyncssh would otherwise re-read it (and the keys its
IdentityFile lines name) for every connection.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import socket
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import asyncssh

from prober.errors import SetupError
from prober.model import Job
from prober.probes.ssh import knownhosts
from prober.probes.ssh import options as sshopts
from prober.probes.ssh.connect import parse_jump
from prober.probes.ssh.spec import SSHSpec

if TYPE_CHECKING:
    from prober.runtime.prepare import Prepared

Query = knownhosts.Query
RESOLVE_THREADS = 32
RESOLVE_WAIT_S = 5.0


def prepare(jobs: Sequence[Job], prepared: Prepared, stop: threading.Event | None) -> None:
    """Options for every spec and planned target; known_hosts ready for every planned lookup."""
    groups: dict[tuple[Any, ...], list[Job]] = {}
    for job in jobs:
        groups.setdefault(sshopts.cache_key(_spec(job)), []).append(job)
    lookups: dict[str, list[Lookup]] = {}
    for key, group in groups.items():
        spec = _spec(group[0])
        if key not in prepared.ssh:
            prepared.ssh[key] = options(spec, prepared)
        built = prepared.ssh[key]
        if isinstance(built, SetupError):
            continue
        path = None
        if built.known_hosts is not None and spec.known_hosts is not None:
            path = _path(spec.known_hosts)  # one file for the group: it is part of the key
        for job in group:
            target_options = host_options(prepared, _spec(job), job.target.address)
            if path is not None and not isinstance(target_options, BaseException):
                lookups.setdefault(path, []).extend(_lookups(job, target_options))
    for path, planned in lookups.items():
        known = prepared.known_hosts.get(path)
        if isinstance(known, knownhosts.PreparedKnownHosts):
            known.prepare(_queries(list(dict.fromkeys(planned)), known.has_hashed()), stop)


def options(spec: SSHSpec, prepared: Prepared) -> Any:
    """The spec's client options, or the SetupError that stops them (stored: raised per probe)."""
    try:
        return sshopts.build(spec, lambda: known_hosts(prepared, spec))
    except SetupError as exc:
        return exc


def known_hosts(prepared: Prepared, spec: SSHSpec) -> Any:
    """The spec's known_hosts, indexed once per file (None with insecure_ignore_host_key)."""
    if spec.insecure_ignore_host_key:
        return None
    if spec.known_hosts is None:
        raise SetupError("host_key", "no known_hosts file given and insecure_ignore_host_key is not set")
    path = _path(spec.known_hosts)
    if path not in prepared.known_hosts:
        try:
            prepared.known_hosts[path] = knownhosts.read(path)
        except FileNotFoundError:
            why = f"known_hosts file not found: {spec.known_hosts}"
            prepared.known_hosts[path] = SetupError("host_key", why)
        except (OSError, ValueError) as exc:
            # Never echo the exception text: it may quote the file it failed to parse.
            why = f"cannot read known_hosts {spec.known_hosts}: {type(exc).__name__}"
            prepared.known_hosts[path] = SetupError("host_key", why)
    found = prepared.known_hosts[path]
    if isinstance(found, SetupError):
        raise SetupError(found.kind, found.message)
    return found


def _path(known_hosts: str) -> str:
    return os.path.realpath(os.path.expanduser(known_hosts))


def host_options(prepared: Prepared, spec: SSHSpec, address: str) -> Any:
    """Options for one target: the spec's, or with ssh_config: true, evaluated for this host by
    asyncssh from ~/.ssh/config (an exception if that fails, raised by the probe as it would be on
    connecting). Built on first use outside a sweep's preparation."""
    options = prepared.ssh.get(sshopts.cache_key(spec))
    if not spec.ssh_config or options is None or isinstance(options, SetupError) or spec.jump:
        return options
    key = (sshopts.cache_key(spec), address, spec.port)
    if key not in prepared.ssh_hosts:
        try:
            prepared.ssh_hosts[key] = asyncssh.SSHClientConnectionOptions(
                options, config=sshopts.user_config_paths(), host=address, port=spec.port
            )
        except (OSError, ValueError, asyncssh.Error) as exc:
            prepared.ssh_hosts[key] = exc
    return prepared.ssh_hosts[key]


def _spec(job: Job) -> SSHSpec:
    """The job's spec: the preparer is given the plan's SSH jobs only (runtime.prepare groups by kind)."""
    if not isinstance(job.spec, SSHSpec):
        raise TypeError(f"an SSH preparer was given a {job.spec.kind} job")
    return job.spec


Lookup = tuple[str, "str | None", int]  # (host asyncssh matches, host dialled or None, port)


def _lookups(job: Job, options: Any) -> list[Lookup]:
    """The connections this job makes: the name asyncssh matches in known_hosts for each, the host
    it dials (its address is the peer address asyncssh also matches) and the port."""
    spec = _spec(job)
    if spec.jump:
        _, bastion, bastion_port = parse_jump(spec.jump)
        # Through a tunnel asyncssh knows no peer address; the bastion is a direct connection.
        return [(job.target.address, None, spec.port), (bastion, bastion, bastion_port)]
    if spec.ssh_config:  # HostKeyAlias, HostName, ProxyJump/ProxyCommand from ~/.ssh/config
        alias = options.host_key_alias or options.host
        dialled = None if options.tunnel or options.proxy_command else options.host
        return [(alias, dialled, options.port)]
    return [(job.target.address, job.target.address, spec.port)]


def _queries(lookups: list[Lookup], hashed: bool) -> list[Query]:
    """asyncssh's (host, peer address, port) for each lookup. A dialled name's address is known
    only from DNS: with hashed lines it is resolved now (bounded wait), as one first seen on
    connecting would cost an HMAC per hashed line on the event loop."""
    queries = [(host, _ip(dialled) if dialled else "", _port(port)) for host, dialled, port in lookups]
    named = {(h, d, p) for h, d, p in lookups if d and not _ip(d)} if hashed else set()
    if not named:
        return queries
    pool = concurrent.futures.ThreadPoolExecutor(RESOLVE_THREADS, thread_name_prefix="prober-resolve")
    futures = {pool.submit(_addresses, dialled, port): (host, port) for host, dialled, port in named}
    done, _ = concurrent.futures.wait(futures, timeout=RESOLVE_WAIT_S)
    pool.shutdown(wait=False, cancel_futures=True)
    for future in done:
        host, port = futures[future]
        queries += [(host, addr, _port(port)) for addr in future.result()]
    return queries


def _ip(host: str) -> str:
    """The peer address asyncssh will see when `host` is an IP literal ('' for a name)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return ""


def _port(port: int) -> int | None:
    return None if port == 22 else port  # asyncssh looks up port 22 without the [host]:port form


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []  # the probe itself will report the lookup failure
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


__all__ = ["host_options", "known_hosts", "options", "prepare"]
