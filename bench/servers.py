"""Server child for the bench fleet: listen on many loopback addresses, one behaviour for all.

Modes: `http` answers every request with 200 "ok" (the fallback when nginx is missing), `tcp`
accepts and closes, `hold` accepts and never answers. Run as a separate process so the fleet's
CPU is never charged to the client being measured. Prints "ready N" once every listener is up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import signal
import sys

HTTP_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
)
MAX_REQUEST = 65536


class _Http(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if b"\r\n\r\n" in self.buffer or len(self.buffer) > MAX_REQUEST:
            self.transport.write(HTTP_REPLY)  # type: ignore[attr-defined]
            self.transport.close()


class _Close(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class _Hold(asyncio.Protocol):
    """Accept and never answer; the client's deadline ends the connection."""


PROTOCOLS = {"http": _Http, "tcp": _Close, "hold": _Hold}


def raise_nofile() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit: every listener is one descriptor."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


async def serve(mode: str, addresses: list[str], port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    servers = []
    for address in addresses:
        servers.append(
            await loop.create_server(PROTOCOLS[mode], address, port, reuse_address=True, backlog=64)
        )
    print(f"ready {len(servers)}", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=sorted(PROTOCOLS))
    parser.add_argument("addresses", help="file with one address per line")
    parser.add_argument("port", type=int)
    args = parser.parse_args()
    with open(args.addresses) as handle:
        addresses = [line.strip() for line in handle if line.strip()]
    if any(not a.startswith("127.") for a in addresses):
        sys.exit("bench servers listen on 127.0.0.0/8 only")
    raise_nofile()
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        runner.run(serve(args.mode, addresses, args.port))


if __name__ == "__main__":
    main()
