"""known_hosts at fleet scale: read once per sweep, decode only the lines the planned hosts can match.

asyncssh.read_known_hosts decodes every key of the file (50,000 ed25519 lines: 0.8-2.5 s of CPU
and ~60 MB here) and then tests every hashed or wildcard line on each connection (50,000 hashed
lines: ~0.2 s per connection, on the event loop). Here, before the sweep and off the loop:

- the file is scanned as text: each line's host field is split, no key is decoded. Plain names go
  in an index; hashed lines (`|1|salt|hmac`) and pattern lines (`*`, `?`, `!`, CIDR) in lists;
- hashed lines are matched against the names the plan will look up (knownhash, O(lines * names));
- only the lines those names match, and every pattern line, are decoded, each by asyncssh itself.

`PreparedKnownHosts.match` then answers asyncssh's lookup as SSHKnownHosts.match does (asyncssh
2.24, known_hosts.py): exact names first (host, then address), then hashed and pattern lines in
file order, sorted into host keys, CA keys (`@cert-authority`), revoked keys (`@revoked`) and X.509
entries; with a non-default port `[host]:port` first, plain names if nothing trusted matched. A
name nobody planned (a HostKeyAlias, an address DNS gave) is looked up on the spot: an index
lookup, plus one HMAC per hashed line, cached. tests/ssh/test_knownhosts.py compares the answers
with asyncssh's own on a file with every kind of line.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncssh

from prober._patches import hostmatch
from prober._patches.hostmatch import HostPatternList, ip_address
from prober.probes.ssh import knownhash

_PATTERN_CHARS = frozenset("*?|/!")
_MARKERS = (None, "cert-authority", "revoked")
Buckets = tuple[list[Any], list[Any], list[Any], list[Any], list[Any], list[Any], list[Any]]
# A decoded line: (which of the 7 lists asyncssh's match() returns it in, the key/cert/subject).
Entry = tuple[int, Any] | None


@dataclass
class Index:
    """A known_hosts file as text: where each host field points, no key decoded."""

    lines: list[str] = field(default_factory=list)  # content lines, stripped, in file order
    names: dict[str, list[int]] = field(default_factory=dict)  # plain name → line numbers
    hashed: list[knownhash.Hashed] = field(default_factory=list)
    patterns: list[int] = field(default_factory=list)  # wildcard/negated/CIDR lines


def scan(text: str) -> Index:
    """Index the lines; ValueError for a line asyncssh would refuse (so the verdict is the same)."""
    index = Index()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        marker, pattern, data = _fields(line)
        number = len(index.lines)
        index.lines.append(line)
        if _PATTERN_CHARS.isdisjoint(pattern):
            for name in pattern.split(","):
                index.names.setdefault(name, []).append(number)
        elif not pattern.startswith("|"):
            index.patterns.append(number)
        else:
            try:
                salt, digest = knownhash.parse(pattern)
            except ValueError:
                if _decode(marker, data) is None:
                    continue  # asyncssh skips a line whose key it cannot read before its pattern
                raise
            index.hashed.append((salt, digest, number))
    return index


def _fields(line: str) -> tuple[str | None, str, str]:
    try:
        if line.startswith("@"):
            marker, pattern, data = line[1:].split(None, 2)
        else:
            marker, (pattern, data) = None, line.split(None, 1)
    except ValueError:
        raise ValueError(f"Invalid known hosts entry: {line}") from None
    if marker not in _MARKERS:
        raise ValueError(f"Invalid known hosts marker: {marker}")
    return marker, pattern, data


_KEY_BUCKET = {None: 0, "cert-authority": 1, "revoked": 2}  # host keys, CA keys, revoked keys
_TRUSTED = frozenset({0, 1, 3, 5})  # what stops asyncssh's fallback to names without the port


def _decode(marker: str | None, data: str) -> Entry:
    """One line's key, certificate or X.509 subject, sorted as asyncssh's match() sorts it; None if
    asyncssh skips the line. A public key (nearly every line) is read as asyncssh's load() reads it
    first (~5 us); anything else goes through asyncssh itself: a one-line file matched under a
    placeholder name (~18 us)."""
    try:
        return (_KEY_BUCKET[marker], asyncssh.import_public_key(data))
    except asyncssh.KeyImportError:
        pass
    prefix = f"@{marker} " if marker else ""
    found = asyncssh.import_known_hosts(f"{prefix}x {data}").match("x", "", None)
    return next(((kind, items[0]) for kind, items in enumerate(found) if items), None)


Query = tuple[str, str, "int | None"]  # (host, peer address, port or None for 22), as asyncssh asks


def lookup_names(host: str, addr: str, port: int | None = None) -> list[str]:
    """The names asyncssh's _match(host, addr, port) looks up: [host]:port forms with a port."""
    if port:
        host = f"[{host}]:{port}" if host else ""
        addr = f"[{addr}]:{port}" if addr else ""
    return [host] if host == addr else [host, addr]


class PreparedKnownHosts(asyncssh.SSHKnownHosts):
    """An SSHKnownHosts whose lookups touch only the lines that can match; see the module docstring."""

    def __init__(self, index: Index) -> None:
        super().__init__()
        self._index = index
        self._entries: dict[int, Entry] = {}
        self._hashed_for: dict[str, list[int]] = {}
        self._patterns = [(n, HostPatternList(_fields(index.lines[n])[1])) for n in index.patterns]

    def prepare(self, queries: Iterable[Query], stop: threading.Event | None = None) -> None:
        """Everything match() will need for these lookups, so that it decodes and hashes nothing.

        Names without the port are looked up only where the [host]:port names trust nothing, as
        asyncssh falls back: with one line per `[addr]:port` (ssh-keyscan's output for a non-22
        port) that halves the HMACs of a hashed file.
        """
        queries = list(dict.fromkeys(queries))
        self._prepare_names([n for q in queries for n in lookup_names(*q)], stop)
        fallback = [
            q for q in queries if q[2] and not self._trusted_line(q) and not self._trusts(self._select(*q))
        ]
        self._prepare_names([n for q in fallback for n in lookup_names(q[0], q[1])], stop)

    def _trusted_line(self, query: Query) -> bool:
        """A shortcut to _select: an exact or hashed line of the [host]:port names with a host or CA
        key or certificate (a trusted entry never leaves asyncssh's result)."""
        for name in lookup_names(*query):
            for number in (*self._index.names.get(name, ()), *self._hashed_for.get(name, ())):
                entry = self._entries.get(number)
                if entry is not None and entry[0] in _TRUSTED:
                    return True
        return False

    def has_hashed(self) -> bool:
        return bool(self._index.hashed)

    @staticmethod
    def _trusts(found: Buckets) -> bool:
        return any(found[kind] for kind in _TRUSTED)

    def _prepare_names(self, names: Iterable[str], stop: threading.Event | None) -> None:
        """Match hashed lines against `names`; decode every line they or a pattern select."""
        todo = [name for name in dict.fromkeys(names) if name not in self._hashed_for]
        if todo and self._index.hashed:
            found = knownhash.match(self._index.hashed, todo, stop)
        else:
            found = {name: [] for name in todo}
        self._hashed_for.update(found)
        wanted = [n for name in todo for n in (*self._index.names.get(name, ()), *found[name])]
        for number in [*wanted, *self._index.patterns]:
            if stop is not None and stop.is_set():
                raise knownhash.Stopped
            self._entry(number)

    def _entry(self, number: int) -> Entry:
        if number not in self._entries:
            marker, _, data = _fields(self._index.lines[number])
            self._entries[number] = _decode(marker, data)
        return self._entries[number]

    def _hashed(self, name: str) -> list[int]:
        numbers = self._hashed_for.get(name)
        if numbers is None:  # a name nobody planned: one HMAC per hashed line, once
            numbers = knownhash.match(self._index.hashed, [name])[name] if self._index.hashed else []
            self._hashed_for[name] = numbers
        return numbers

    def _select(self, host: str, addr: str, port: int | None = None) -> Buckets:
        """asyncssh's SSHKnownHosts._match over the index: the same entries, in the same order."""
        if addr:
            ip: Any = ip_address(addr)
        else:
            try:
                ip = ip_address(host)
            except ValueError:
                ip = None
        if port:
            host = f"[{host}]:{port}" if host else ""
            addr = f"[{addr}]:{port}" if addr else ""
        names = self._index.names
        exact = [*names.get(host, ()), *names.get(addr, ())]
        # Hashed and pattern lines are one list in asyncssh, tested in file order after exact names.
        patterns = {n for name in {host, addr} for n in self._hashed(name)}
        patterns.update(n for n, pattern in self._patterns if pattern.matches(host, addr, ip))
        buckets: Buckets = ([], [], [], [], [], [], [])
        for number in [*exact, *sorted(patterns)]:
            entry = self._entry(number)
            if entry is not None:
                buckets[entry[0]].append(entry[1])
        return buckets

    def match(self, host: str, addr: str, port: int | None) -> Any:
        """Host keys, CA keys, revoked keys, X.509 certs/subjects, as SSHKnownHosts.match returns them."""
        found = self._select(host, addr, port)
        if port and not self._trusts(found):
            found = self._select(host, addr)
        return found


def read(path: str) -> asyncssh.SSHKnownHosts:
    """The file indexed (prepared later, for the planned lookups), or read by asyncssh itself when
    the index's borrowed matching is off (prober._patches.hostmatch: PROBER_NO_PATCHES=1)."""
    return load(path, ()) if hostmatch.usable() else asyncssh.read_known_hosts(path)


def load(path: str, queries: Iterable[Query], stop: threading.Event | None = None) -> PreparedKnownHosts:
    """Read and index `path`, prepared for `queries`; OSError/ValueError as asyncssh would raise them."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    known = PreparedKnownHosts(scan(text))
    known.prepare(queries, stop)
    return known


__all__ = ["Index", "PreparedKnownHosts", "Query", "load", "lookup_names", "read", "scan"]
