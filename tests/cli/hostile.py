"""Small asyncio servers for process-level tests: healthy HTTP, slow HTTP, black hole, reset-on-accept.

Also runnable as `python -m tests.cli.hostile ROLE ADDRESS PORT [DELAY]` (one server, e.g. inside a
network namespace) or `python -m tests.cli.hostile --plan FILE` (FILE: JSON list of [role, address, port]):
it prints "ready" on stdout once listening, and serves until killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
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
        # close(), not abort(): on a lossy link the kernel must still retransmit the answer.
        writer.close()

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


async def _main(plan: list[list[Any]]) -> None:
    servers = [await serve(role, address, int(port), *args) for role, address, port, *args in plan]
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


class ServerProcess:
    """The servers of `plan` in a child process: their work never competes with the test for the GIL."""

    def __init__(self, plan: list[list[Any]], workdir: Path, prefix: tuple[str, ...] = ()) -> None:
        """`prefix` wraps the command, e.g. ("ip", "netns", "exec", NAME) to serve inside a namespace."""
        path = workdir / f"servers-{id(self)}.json"
        path.write_text(json.dumps(plan))
        root = Path(__file__).resolve().parents[2]
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "tests.cli.hostile", "--plan", str(path)],
            stdout=subprocess.PIPE,
            cwd=root,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != b"ready":
            self.close()
            raise RuntimeError("test servers did not start")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


if __name__ == "__main__":
    if sys.argv[1] == "--plan":
        _plan = json.loads(Path(sys.argv[2]).read_text())
    else:
        _role, _address, _port, *_rest = sys.argv[1:]
        _plan = [[_role, _address, int(_port), *(float(x) for x in _rest)]]
    asyncio.run(_main(_plan))
