"""Two asyncssh costs per connection that prober can skip, with unchanged behaviour and checks.

1. Log formatting. asyncssh's SSHLogger.log turns every argument into text and only then calls
logging's level check; its packet logger builds each packet's name and size even when packet
dumps (debug level 3) are off. prober keeps the asyncssh logger at WARNING (prober/logs.py), so
~30 messages and ~20 packet summaries per connection were built and thrown away (~3% of the
client CPU of an SSH probe). The wrappers ask the logger first; whatever is enabled is logged
exactly as before (the original methods run unchanged).

2. The executor hop. asyncssh.connect() rebuilds its options for every connection in a worker thread
(they may read files), then opens the connection. prober's options have keys and known_hosts
preloaded (sshopts.build) and pass config=None, so the rebuild reads nothing: `connect` does it on
the loop thread and calls the same internal `_connect`, the way asyncssh.connect does, when that
internal has the expected signature; otherwise (another asyncssh version) it is asyncssh.connect.
The options are prepared the same way either way, host-key checking included. Measured on the
bench's 300-host uptime sweep: ~0.1 s less CPU (no 8 executor threads fighting for the GIL).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
from typing import Any

import asyncssh
from asyncssh import connection as ssh_connection
from asyncssh import logging as ssh_logging
from asyncssh import packet as ssh_packet

_MARK = "_prober_quiet"


def install() -> None:
    """Wrap SSHLogger.log and SSHPacketLogger._log_packet once per process (idempotent)."""
    logger_cls: Any = ssh_logging.SSHLogger
    packet_cls: Any = ssh_packet.SSHPacketLogger
    if getattr(logger_cls, _MARK, False):
        return
    original_log = logger_cls.log
    original_packet = packet_cls._log_packet

    def log(self: Any, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.logger.isEnabledFor(level):
            original_log(self, level, msg, *args, **kwargs)

    def log_packet(self: Any, *args: Any) -> None:
        # The dump is written only at debug level 3, and then only if the logger takes DEBUG.
        if logger_cls._debug_level >= 3 and self.logger.isEnabledFor(logging.DEBUG):
            original_packet(self, *args)

    logger_cls.log = log
    packet_cls._log_packet = log_packet
    setattr(logger_cls, _MARK, True)


_INTERNAL = getattr(ssh_connection, "_connect", None)
_EXPECTED = ["options", "config", "loop", "flags", "sock", "conn_factory", "msg"]
FAST_CONNECT = _INTERNAL is not None and list(inspect.signature(_INTERNAL).parameters) == _EXPECTED


async def connect(
    host: str, port: int, *, options: Any, sock: socket.socket | None = None, **kwargs: Any
) -> asyncssh.SSHClientConnection:
    """asyncssh.connect(host, port, options=..., config=None, sock=...) without the thread hop."""
    if not FAST_CONNECT or sock is None or kwargs.get("config", ()) is not None or set(kwargs) - {"config"}:
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
