"""aiohttp's TCP connector, with a cheaper connect for the common case: one address, plain HTTP.

aiohttp hands every connection to aiohappyeyeballs, which builds a Python socket, awaits
sock_connect and wraps the socket again. With one resolved address, no TLS, no local address and
no IPv6 zone there is nothing to race: DirectConnector calls loop.create_connection(host, port)
and uvloop (or asyncio) does the whole connect natively. Anything else takes aiohttp's own path.

Private API: TCPConnector._wrap_create_connection(*args, addr_infos, req, timeout, client_error,
**kwargs), overridden; the connector's `_loop` and `_local_addr_infos`; `req.connection_key`.
Tested with: aiohttp 3.14.5, aiohappyeyeballs 2.7.1, uvloop 0.23.0, CPython 3.11.7.
Gain: ~20% of a plain HTTP probe's CPU: 800 probes in-process, best of 7, same minute,
0.269-0.278 s -> 0.220-0.224 s (commit 0204915; bench/README.md "What changed prober's speed").
Counted again with callgrind (bench/patches_ab.py, 200 probes): 523,000 instructions per probe
with it, 723,000 with aiohttp's connector (-28%).
Guard: HOOK_COMPATIBLE, checked at import (the hook's keyword parameters), and on each connector
built, that it has `_loop` and `_local_addr_infos`; otherwise `make_connector` builds aiohttp's
TCPConnector.
Switch: with PROBER_NO_PATCHES=1, `make_connector` builds aiohttp's TCPConnector (and leaves its
protocol factory alone: see prober._patches.interim).
Test: tests/patches/test_connector.py (test_guard_hook_matches_installed_aiohttp fails if an
upgrade changes the hook; the native path skips aiohappyeyeballs, errors are classified alike).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from prober._patches import aiohttpload, enabled

aiohttpload.load()  # before aiohttp's first import, whichever module asks first (its docstring)
import aiohttp  # noqa: E402
from aiohttp.connector import TCPConnector  # noqa: E402

from prober._patches import interim  # noqa: E402

# The keyword-only parameters of the private hook we override; checked once at import, so an
# aiohttp release that changes the hook falls back to the stock connector instead of breaking.
_HOOK_PARAMS = ("addr_infos", "req", "timeout", "client_error")


def _hook_compatible() -> bool:
    hook = getattr(TCPConnector, "_wrap_create_connection", None)
    if hook is None:
        return False
    params = inspect.signature(hook).parameters
    return all(params.get(name, None) is not None for name in _HOOK_PARAMS) and "args" in params


HOOK_COMPATIBLE = _hook_compatible()


class DirectConnector(TCPConnector):
    """Connects a single resolved address with loop.create_connection(host, port).

    aiohttp hands every connection to aiohappyeyeballs, which builds a Python socket, awaits
    sock_connect and wraps the socket again: ~20% of a plain HTTP probe's CPU. With one address
    there is nothing to race, so uvloop (or asyncio) can do the whole connect natively. Several
    addresses (happy eyeballs), a local address to bind, TLS or an IPv6 zone keep aiohttp's path.
    """

    async def _wrap_create_connection(
        self,
        *args: Any,
        addr_infos: list[Any],
        req: Any,
        timeout: Any,  # noqa: ASYNC109 (aiohttp's signature)
        client_error: type[Exception] = aiohttp.ClientConnectorError,
        **kwargs: Any,
    ) -> tuple[asyncio.Transport, Any]:
        if len(addr_infos) != 1 or self._local_addr_infos or kwargs.get("ssl") or _scoped(addr_infos[0]):
            return await super()._wrap_create_connection(
                *args, addr_infos=addr_infos, req=req, timeout=timeout, client_error=client_error, **kwargs
            )
        host, port = addr_infos[0][4][:2]
        try:
            # No sock_connect timeout here: prober's sessions have none; the engine owns time.
            loop: Any = self._loop
            # aiohttp passes create_connection's arguments through untyped (*args, **kwargs).
            return await loop.create_connection(*args, host, port, **kwargs)  # type: ignore[no-any-return]
        except OSError as exc:
            if exc.errno is None and isinstance(exc, asyncio.TimeoutError):
                raise
            raise client_error(req.connection_key, exc) from exc


def _scoped(addr_info: Any) -> bool:
    """An IPv6 link-local address with a zone (fe80::1%eth0): host and port alone would lose it."""
    sockaddr = addr_info[4]
    return len(sockaddr) > 3 and bool(sockaddr[3])


def make_connector(**options: Any) -> TCPConnector:
    """A DirectConnector when this aiohttp's hook matches, else the stock TCPConnector; either way
    with interim (1xx) responses bounded (prober._patches.interim). With patches switched off,
    aiohttp's TCPConnector as it comes."""
    if not enabled():
        return TCPConnector(**options)
    connector = DirectConnector(**options) if HOOK_COMPATIBLE else TCPConnector(**options)
    if isinstance(connector, DirectConnector) and not _has_state(connector):
        connector = TCPConnector(**options)  # the dropped one opened nothing: nothing to close
    interim.install(connector)
    return connector


def _has_state(connector: TCPConnector) -> bool:
    """The attributes the overridden hook reads, present on this aiohttp's connector."""
    return hasattr(connector, "_loop") and hasattr(connector, "_local_addr_infos")
