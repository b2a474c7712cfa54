"""Small asyncio servers for process-level tests: healthy HTTP, slow HTTP, black hole, reset-on-accept.

Also runnable as `python -m tests.cli.hostile ROLE ADDRESS PORT [DELAY]` so a test can start one inside
a network namespace; it prints "ready" on stdout once listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        await reader.readuntil(b"\r\n\r\n")


def http_ok(delay: float = 0.0) -> Handler:
    """Answer one request with 200 'ok' (after `delay` seconds), then close."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        if delay:
            await asyncio.sleep(delay)
        with contextlib.suppress(ConnectionError):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
            await writer.drain()
        writer.transport.abort()

    return handle


def black_hole() -> Handler:
    """Accept and never answer; drop what arrives until the client goes away."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass
        writer.transport.abort()

    return handle


def reset() -> Handler:
    """Accept, then reset the connection at once (SO_LINGER 0 turns close into RST)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    return handle


ROLES: dict[str, Callable[..., Handler]] = {"http_ok": http_ok, "hung": black_hole, "reset": reset}


async def serve(role: str, address: str, port: int, *args: Any) -> asyncio.Server:
    """Start one server of `role` on address:port."""
    return await asyncio.start_server(ROLES[role](*args), address, port, reuse_address=True, backlog=1024)


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """An event loop in a daemon thread, so a synchronous test can run servers beside a subprocess."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def serve(self, role: str, address: str, port: int, *args: Any) -> None:
        server = asyncio.run_coroutine_threadsafe(serve(role, address, port, *args), self.loop).result(10)
        self._servers.append(server)

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            for server in self._servers:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server.wait_closed(), 2)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


async def _main(role: str, address: str, port: int, *args: float) -> None:
    server = await serve(role, address, port, *args)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    _role, _address, _port, *_rest = sys.argv[1:]
    asyncio.run(_main(_role, _address, int(_port), *(float(x) for x in _rest)))
