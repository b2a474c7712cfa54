"""User regexes (body_regex, stdout_regex, tcp expect) compiled with RE2: matching runs in linear time.

Python's `re` backtracks: `(a+)+$` against 22 a's and a b takes 2 s here (each extra a doubles it),
on the event loop, while every other probe's deadline passes. RE2 (the engine behind Go's regexp,
hence blackbox_exporter's semantics) takes time linear in the input: ~0.1 ms on 100,000 bytes.
What RE2 cannot run (backreferences, lookaround, `\\Z`, inline flags other than i, m, s, U) is
refused when the inventory is loaded, so `prober validate` reports it at file:line.

Text patterns (body_regex, stdout_regex) see the remote bytes decoded as UTF-8 with replacement,
as before. Byte patterns (tcp `expect`) read the banner one byte per character (RE2's Latin-1
mode): `.` matches any byte and `\\xff` the byte 0xff, as Python's bytes patterns did. One rule is
kept from Python, where RE2 and Go differ: `$` (and `\\z`) also match before a final newline, so `ok$`
still matches a body "ok\\n" (nearly every body and banner ends with one; prober's patterns always
worked so). Done as a second search without that newline, only when the first finds nothing.
"""

from __future__ import annotations

from typing import Any, Protocol

import re2

TEXT, BYTES = "text", "bytes"


class _RE2(Protocol):
    def search(self, text: bytes, /) -> Any: ...


class Pattern:
    """A compiled user pattern: `search(data)` says whether it matches anywhere in data."""

    __slots__ = ("_regex",)

    def __init__(self, regex: _RE2) -> None:
        self._regex = regex

    def search(self, data: bytes) -> bool:
        if self._regex.search(data) is not None:
            return True
        return data.endswith(b"\n") and self._regex.search(data[:-1]) is not None


def _options(mode: str) -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    if mode == BYTES:
        options.encoding = re2.Options.Encoding.LATIN1
    return options


def compile_pattern(pattern: str, mode: str = TEXT) -> Pattern:
    """The compiled pattern; ValueError with RE2's reason if it cannot run."""
    try:
        source: str | bytes = pattern if mode == TEXT else pattern.encode()
        return Pattern(re2.compile(source, _options(mode)))
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(
            f"invalid regular expression for RE2 (Go/blackbox_exporter syntax: no backreferences or "
            f"lookaround, \\z not \\Z): {reason}"
        ) from None


def utf8_text(data: bytes) -> bytes:
    """Remote bytes as valid UTF-8 (invalid sequences replaced), which a TEXT pattern searches:
    the same text a str search on data.decode(errors='replace') sees, without RE2's str-offset work
    (a str search costs ~9 µs on 2 KB, bytes ~1 µs)."""
    if data.isascii():
        return data
    return data.decode("utf-8", errors="replace").encode("utf-8")


__all__ = ["BYTES", "TEXT", "Pattern", "compile_pattern", "utf8_text"]
