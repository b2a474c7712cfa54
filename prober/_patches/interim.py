"""Interim (1xx) responses bounded in number and bytes: a host answering `102 Processing` forever fails.

aiohttp's client skips 1xx responses in a loop with no bound (ClientResponse.start), and its parser
queues every response of a received chunk before that loop sees any: a host streaming `102
Processing` as fast as loopback carries it grew a probe's memory by ~140 MB and, on uvloop, kept the
event loop so busy that a 2 s probe ended at 2.3-2.8 s and a healthy neighbour answering in 0.5 s was
recorded as `timeout` (measured here, aiohttp 3.14). The guard counts interim responses per
connection as the parser hands them over; past the bound it closes the connection and fails the
response, like any malformed answer (kind `protocol`). A host dripping 1xx slowly still ends at the
probe's deadline (`timeout`): the engine owns time.

Private API: aiohttp builds each connection's protocol with `connector._factory`, a
functools.partial of client_proto.ResponseHandler; InterimGuard subclasses ResponseHandler and
overrides feed_data((message, payload), size), reading RawResponseMessage's code, reason and
raw_headers, and fails the response with set_exception.
Tested with: aiohttp 3.14.5, uvloop 0.23.0, CPython 3.11.7.
Gain: correctness, not speed: a `102 Processing` flood is `protocol` in < 0.2 s with a few MB,
instead of a late `timeout` (2.3-2.8 s of a 2 s timeout) after ~140 MB, and a healthy neighbour
stays `ok` (commit d1acd47). Cost: one Python call per response parsed, ~3,300 instructions of a
plain probe's 523,000 (0.6%, callgrind, bench/patches_ab.py, within its ~1-2% run-to-run spread).
Guard: COMPATIBLE, checked at import (feed_data takes the message tuple first; RawResponseMessage
has code, reason and raw_headers), and `install` swaps the factory only when it finds exactly a
partial of ResponseHandler; otherwise the connector is left as aiohttp built it.
Switch: with PROBER_NO_PATCHES=1 (or an incompatible aiohttp) interim responses are unbounded, as
in aiohttp: no public API can bound them (aiohttp skips 1xx inside ClientResponse.start, before a
response, a trace or a middleware sees anything). The probe's deadline still ends a flood, as a
`timeout`, late under load; README's "Library patches" says what is lost.
Test: tests/patches/test_interim.py (test_guard_matches_installed_aiohttp fails if an upgrade
changes the factory or the message; the bounds, the flood, the neighbour; the unbounded fallback).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from prober._patches import aiohttpload, enabled

aiohttpload.load()  # before aiohttp's first import, whichever module asks first (its docstring)
from aiohttp import http_parser  # noqa: E402
from aiohttp.client_proto import ResponseHandler  # noqa: E402
from aiohttp.http_exceptions import HttpProcessingError  # noqa: E402

# Go's net/http (blackbox_exporter) failed a request after 5 interim responses until Go 1.24, which
# bounds their total size instead (1 MiB); curl bounds neither. A server sends one 100 or 103, or a
# 102 every few seconds: 10 is plenty within a probe timeout. 64 KiB of headers holds any real
# Early Hints (aiohttp itself caps one response's headers at 128 fields of 8 KiB).
MAX_INTERIM = 10
MAX_INTERIM_BYTES = 65536


_feed_data = ResponseHandler.feed_data  # called directly: this runs for every response


def _compatible() -> bool:
    params = list(inspect.signature(_feed_data).parameters)
    messages = {http_parser.RawResponseMessage, getattr(http_parser, "RawResponseMessagePy", None)} - {None}
    fields = ("code", "reason", "raw_headers")  # the C parser's class and the pure-Python one
    return params[:2] == ["self", "data"] and all(hasattr(m, f) for m in messages for f in fields)


COMPATIBLE = _compatible()


class InterimGuard(ResponseHandler):
    """aiohttp's response protocol, failing the response past MAX_INTERIM or MAX_INTERIM_BYTES."""

    _interim = 0
    _interim_bytes = 0
    _refused = False

    def feed_data(self, data: Any, *args: Any) -> None:
        message = data[0]
        code = message.code
        if 100 <= code < 200 and code != 101:  # what aiohttp skips as interim (ClientResponse.start)
            self._count(message)
        elif self._interim:  # a final answer: a next request on this connection starts anew
            self._interim = self._interim_bytes = 0
        if not self._refused:  # after the refusal the rest of the chunk read is dropped
            _feed_data(self, data, *args)

    def _count(self, message: Any) -> None:
        if self._refused:
            return
        self._interim += 1
        self._interim_bytes += _size(message)
        if self._interim > MAX_INTERIM or self._interim_bytes > MAX_INTERIM_BYTES:
            self._refuse()

    def _refuse(self) -> None:
        """Stop reading (the transport reads no more once closed) and fail the response the way
        aiohttp fails a malformed one."""
        self._refused = True
        if self.transport is not None:
            self.transport.close()
        reason = (
            f"more than {MAX_INTERIM} interim (1xx) responses"
            if self._interim > MAX_INTERIM
            else f"interim (1xx) responses over {MAX_INTERIM_BYTES // 1024} KiB of headers"
        )
        self.set_exception(HttpProcessingError(message=reason))


def _size(message: Any) -> int:
    """Bytes of an interim response on the wire: status line and header lines (CRLFs included)."""
    return 15 + len(message.reason) + sum(len(name) + len(value) + 4 for name, value in message.raw_headers)


def install(connector: Any) -> bool:
    """Make `connector` build InterimGuard protocols; False when switched off or this aiohttp builds
    them otherwise."""
    if not enabled() or not COMPATIBLE:
        return False
    factory = getattr(connector, "_factory", None)
    if not isinstance(factory, functools.partial) or factory.func is not ResponseHandler:
        return False
    connector._factory = functools.partial(InterimGuard, *factory.args, **factory.keywords)
    return True
