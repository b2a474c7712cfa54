"""asyncssh.connect() without its executor hop, for prober's preloaded options and socket.

asyncssh.connect() rebuilds its options for every connection in a worker thread (they may read
files), then opens the connection. prober's options have keys and known_hosts preloaded
(probes/ssh/options.build) and pass config=None, so the rebuild reads nothing: `connect` does it on
the loop thread and calls the same internal `_connect`, the way asyncssh.connect does. The options
are prepared the same way either way, host-key checking included.

Private API: asyncssh.connection._connect(options, config, loop, flags, sock, conn_factory, msg)
and the keywords asyncssh.connect hands SSHClientConnectionOptions (loop, config, host, port,
tunnel, family, local_addr); SSHClientConnection(loop, options, wait='auth') as its factory.
Tested with: asyncssh 2.24.1, CPython 3.11.7.
Gain: ~0.1 s less CPU on the bench's 300-host uptime sweep (no pool of 8 executor threads
contending for the GIL; commit a491d6c, bench/README.md "What changed prober's speed").
Guard: COMPATIBLE, checked at import: _connect's parameter names and the options' keywords as
above. Otherwise, and for any call it was not written for (no connected socket, a config, other
keywords), `connect` is asyncssh.connect.
Switch: with PROBER_NO_PATCHES=1, `connect` is asyncssh.connect.
Test: tests/patches/test_sshconnect.py (test_guard_matches_installed_asyncssh fails on an asyncssh
that changed them; the fast and the stock path both log in and both refuse an unknown host key).
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from typing import Any

from prober._patches import asyncsshload, enabled

asyncsshload.load()  # before asyncssh's first import, whichever module asks first (its docstring)
import asyncssh  # noqa: E402
from asyncssh import connection as ssh_connection  # noqa: E402

_INTERNAL = getattr(ssh_connection, "_connect", None)
_EXPECTED = ["options", "config", "loop", "flags", "sock", "conn_factory", "msg"]
_OPTION_KEYWORDS = {"loop", "config", "host", "port", "tunnel", "family", "local_addr"}


def _compatible() -> bool:
    if _INTERNAL is None or list(inspect.signature(_INTERNAL).parameters) != _EXPECTED:
        return False
    prepare = inspect.signature(asyncssh.SSHClientConnectionOptions.prepare).parameters
    factory = inspect.signature(asyncssh.SSHClientConnection).parameters
    return _OPTION_KEYWORDS - {"loop"} <= set(prepare) and {"loop", "options", "wait"} <= set(factory)


COMPATIBLE = _compatible()


def active() -> bool:
    return COMPATIBLE and enabled()


async def connect(
    host: str, port: int, *, options: Any, sock: socket.socket | None = None, **kwargs: Any
) -> asyncssh.SSHClientConnection:
    """asyncssh.connect(host, port, options=..., config=None, sock=...) without the thread hop."""
    if sock is None or kwargs.get("config", ()) is not None or set(kwargs) - {"config"} or not active():
        return await asyncssh.connect(host, port, options=options, sock=sock, **kwargs)
    loop = asyncio.get_running_loop()
    new_options = asyncssh.SSHClientConnectionOptions(
        options, loop=loop, config=None, host=host, port=port, tunnel=(), family=(), local_addr=()
    )

    def conn_factory() -> asyncssh.SSHClientConnection:
        return asyncssh.SSHClientConnection(loop, new_options, wait="auth")

    assert _INTERNAL is not None
    coro = _INTERNAL(new_options, None, loop, 0, sock, conn_factory, "Opening SSH connection to")
    return await asyncio.wait_for(coro, timeout=new_options.connect_timeout)
