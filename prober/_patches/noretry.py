"""aiohttp's hidden re-send of a request switched off: the engine owns retries and counts them.

aiohttp re-sends an idempotent request (GET, HEAD, PUT, DELETE, OPTIONS, TRACE) once when the
server drops the connection (ServerDisconnectedError, or an OSError other than a connect error
while sending or reading the headers), even with force_close where nothing was reused. A host
resetting every connection then gets two per attempt, a host that drops only the first one
passes with `retries: 0`, and the record's `attempts` under-reports what was sent.

Private API: ClientSession._retry_connection, set to False on the session (no public switch
exists; aiohttp's own test client flips the same attribute).
Tested with: aiohttp 3.14.5, CPython 3.11.7.
Gain: correctness, not speed: one connection per attempt (tests/probes/test_http.py
test_reset_after_accept: 2 connections for 2 attempts, not 4).
Guard: COMPATIBLE: "_retry_connection" is among ClientSession.ATTRS (the attributes its
__init__ sets; setting one of those raises no warning); otherwise the fallback below is used.
Switch: with PROBER_NO_PATCHES=1 (or an incompatible aiohttp) the session gets a client
middleware instead (public API, aiohttp >= 3.12): it turns exactly the errors aiohttp re-sends on
into ProbeFailed with the kind and message classify would give them, which aiohttp passes through
without re-sending. Same records, ~9,000 instructions more per request (+1.7% of a plain probe,
callgrind, bench/patches_ab.py). Without middlewares (aiohttp < 3.12), aiohttp's re-send stays.
Test: tests/patches/test_noretry.py (test_guard_matches_installed_aiohttp fails if an upgrade
drops the attribute; one connection per attempt with the attribute, with the middleware, and two
with neither).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prober._patches import aiohttpload, enabled

aiohttpload.load()  # before aiohttp's first import, whichever module asks first (its docstring)
import aiohttp  # noqa: E402

_ATTRIBUTE = "_retry_connection"
COMPATIBLE = _ATTRIBUTE in getattr(aiohttp.ClientSession, "ATTRS", ())
MIDDLEWARES = hasattr(aiohttp, "ClientMiddlewareType")  # aiohttp >= 3.12


def make_session(**options: Any) -> aiohttp.ClientSession:
    """aiohttp.ClientSession(**options) that never re-sends a request by itself (where possible)."""
    if enabled() and COMPATIBLE:
        session = aiohttp.ClientSession(**options)
        setattr(session, _ATTRIBUTE, False)
        return session
    if MIDDLEWARES:
        options["middlewares"] = (*options.get("middlewares", ()), no_resend)
    return aiohttp.ClientSession(**options)


Handler = Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]


async def no_resend(request: aiohttp.ClientRequest, handler: Handler) -> aiohttp.ClientResponse:
    """A client middleware: the errors aiohttp would re-send on leave as ProbeFailed (same kind and
    message), which it lets through."""
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # never re-sent
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        from prober.classify import classify
        from prober.errors import ProbeFailed

        kind, message = classify(exc)
        raise ProbeFailed(kind, message) from exc
