"""The system resolver a `dns` probe without `server` asks: the first nameserver of /etc/resolv.conf,
read as dnspython reads it, once per sweep while it is prepared (never on a probe's clock)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prober.errors import SetupError

if TYPE_CHECKING:
    from prober.runtime.prepare import Prepared

RESOLV_CONF = "/etc/resolv.conf"
# What the last preparation in this process read, by path: records of probes that got no reply
# (a timeout) still name the server they asked.
_last: dict[str, str | SetupError] = {}


def read(path: str | None = None) -> str | SetupError:
    """'ip:port' of the first nameserver in `path` (default RESOLV_CONF), or why there is none."""
    import dns.exception
    import dns.resolver

    from prober.probes.dns.spec import server

    path = path or RESOLV_CONF
    try:
        resolver = dns.resolver.Resolver(filename=path)
        first = str(resolver.nameservers[0])
        found: str | SetupError = server(f"[{first}]:{resolver.nameserver_ports.get(first, resolver.port)}")
    except (dns.exception.DNSException, ValueError, OSError) as exc:
        reason = str(exc).rstrip(".") or type(exc).__name__
        found = SetupError("dns", f"no system resolver ({path}: {reason}): give the probe a `server`")
    _last[path] = found
    return found


def prepare(prepared: Prepared) -> None:
    """Read the system resolver into `prepared` (once per sweep)."""
    key = ("dns", RESOLV_CONF)
    if key not in prepared.store:
        prepared.store[key] = read(RESOLV_CONF)


def system_server(prepared: Prepared) -> str:
    """The prepared system resolver ('ip:port'); SetupError (kind dns) if there is none."""
    key = ("dns", RESOLV_CONF)
    if key not in prepared.store:  # a probe run outside a prepared sweep
        prepare(prepared)
    found = prepared.store[key]
    if isinstance(found, SetupError):
        raise SetupError(found.kind, found.message)
    return str(found)


def last_read() -> str | None:
    """The system resolver this process last read, if it read one."""
    found = _last.get(RESOLV_CONF)
    return found if isinstance(found, str) else None
