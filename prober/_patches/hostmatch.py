"""asyncssh's host-pattern helpers, borrowed so that prober's known_hosts index matches as asyncssh does.

prober/probes/ssh/knownhosts.py answers asyncssh's known_hosts lookups from an index of the file
(only the lines a planned host can match are decoded, hashed lines matched once per planned name,
off the loop) instead of asyncssh's SSHKnownHosts, which decodes every key and tests every hashed
or wildcard line on each connection. For the index's answers to be asyncssh's, wildcard, negated
and CIDR lines are matched by asyncssh's own pattern class, and addresses parsed by its helper.

Private API: asyncssh.misc.ip_address (ipaddress.ip_address accepting a scope) and
asyncssh.pattern.HostPatternList(pattern).matches(host, addr, ip); and the order and sorting of
the private SSHKnownHosts._match, which PreparedKnownHosts reproduces (asyncssh calls the public
`match` of the SSHKnownHosts object it is given).
Tested with: asyncssh 2.24.1, CPython 3.11.7.
Gain: 50,000 hashed lines: asyncssh tests every line on every connection, 0.14-0.35 s per
lookup on the event loop; indexed, 10 us per lookup. 50,000 plain lines, 300 planned hosts:
0.25-0.28 s of CPU and 64 MB to prepare, against 0.57-0.60 s and 98 MB for
asyncssh.read_known_hosts (bench/README.md, "knownhosts"; branch loopprep).
Guard: COMPATIBLE, checked at import: both helpers import and answer a wildcard, a negation and a
CIDR pattern, and a scoped address, as asyncssh 2.24 does.
Otherwise `usable()` is False and known_hosts files are asyncssh's own SSHKnownHosts.
Switch: with PROBER_NO_PATCHES=1, known_hosts files are read by asyncssh.read_known_hosts while
the sweep is prepared (every key decoded, off the loop) and matched by asyncssh per connection, on
the loop: with tens of thousands of hashed or wildcard lines, a tenth of a second or more per
connection, which the probes' clocks see.
Test: tests/patches/test_hostmatch.py (test_guard_matches_installed_asyncssh; the switch gives
asyncssh's object), and tests/ssh/test_knownhosts.py, which compares the index's answers with
asyncssh's own on a file with every kind of line: it fails if asyncssh changes _match.
"""

from __future__ import annotations

from typing import Any

from prober._patches import asyncsshload, enabled

ip_address: Any
HostPatternList: Any
asyncsshload.load()  # before asyncssh's first import, whichever module asks first (its docstring)
try:
    from asyncssh.misc import ip_address
    from asyncssh.pattern import HostPatternList
except ImportError:  # another asyncssh layout: COMPATIBLE is False, nothing below is called
    ip_address = HostPatternList = None


def _compatible() -> bool:
    """The helpers answer three known questions as asyncssh 2.24 does (~50 us, once)."""
    if ip_address is None or HostPatternList is None:
        return False
    try:
        patterns = HostPatternList("*.example.com,!bad.example.com,10.0.0.0/8")
        return (
            patterns.matches("a.example.com", "", None)
            and not patterns.matches("bad.example.com", "", None)
            and patterns.matches("x", "10.1.2.3", ip_address("10.1.2.3"))
            and ip_address("fe80::1%eth0") == ip_address("fe80::1%eth0")
        )
    except (TypeError, ValueError, AttributeError):
        return False


COMPATIBLE = _compatible()


def usable() -> bool:
    """True when prober's known_hosts index may be used (patches on, helpers as expected)."""
    return COMPATIBLE and enabled()
