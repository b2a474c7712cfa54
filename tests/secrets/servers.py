"""Loopback servers that see secrets and give them back: a recording HTTP server (redirector, landing
host, echo page), a TCP server quoting what it got, an SSH server echoing the password it accepted."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
from aiohttp import web

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path_qs: str
    headers: dict[str, str]  # lower-case names


def redirect(code: int, location: str) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, headers={"Location": location})

    return answer


def echo(status: int = 404) -> Answer:
    """A 'not found' page that quotes the request back, as many 404 and debug pages do."""

    async def answer(request: web.Request) -> web.StreamResponse:
        lines = [f"no page at {request.method} {request.path_qs}"]
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        return web.Response(status=status, text="\n".join(lines) + "\n")

    return answer


async def ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok\n")


class Recorder:
    """An aiohttp server on a loopback address: logs every request, answers by path (default: ok)."""

    def __init__(
        self, address: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None, port: int = 0
    ) -> None:
        self.address, self.ssl_context, self.port = address, ssl_context, port
        self.seen: list[Seen] = []
        self.answers: dict[str, Answer] = {}
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.seen.append(Seen(request.method, request.path_qs, headers))
        return await self.answers.get(request.path, ok)(request)

    async def __aenter__(self) -> Recorder:
        await self.runner.setup()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.address, self.port))
        except OSError:
            sock.close()
            await self.runner.cleanup()
            raise
        self.port = sock.getsockname()[1]
        await web.SockSite(self.runner, sock, ssl_context=self.ssl_context).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()

    def url(self, path: str = "/", scheme: str | None = None) -> str:
        scheme = scheme or ("https" if self.ssl_context else "http")
        return f"{scheme}://{self.address}:{self.port}{path}"

    def received(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path_qs.split("?")[0] == path]


class QuotingTCP:
    """A Redis-like TCP server: every line it gets is refused with an error that quotes it."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                writer.write(b"-ERR unknown command '" + line.rstrip(b"\r\n") + b"'\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.transport.abort()

    async def __aenter__(self) -> QuotingTCP:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


class _PasswordServer(asyncssh.SSHServer):
    """Accepts one password and remembers it, so commands can say it back."""

    def __init__(self, password: str) -> None:
        self.password, self.given = password, ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        self.given = password
        return password == self.password


async def _say_password(process: asyncssh.SSHServerProcess[bytes]) -> None:
    """`echo-password N`: N dots then the password; `nagios-password`: a plugin line quoting it."""
    owner: Any = process.channel.get_connection().get_owner()
    word, _, arg = (process.command or "").partition(" ")
    if word == "echo-password":
        process.stdout.write(b"." * int(arg or "0") + owner.given.encode() + b"\n")
        process.exit(0)
    elif word == "nagios-password":
        process.stdout.write(f"CRITICAL - rejected login {owner.given} | fails=3;1;2\n".encode())
        process.exit(2)
    else:
        process.stderr.write(f"unknown command {process.command!r} for {owner.given}\n".encode())
        process.exit(127)


@dataclass
class EchoSSH:
    """An in-process asyncssh server on 127.0.0.1 that echoes the password it accepted."""

    password: str
    workdir: Path
    port: int = 0
    known_hosts: Path | None = None
    server: Any = None

    async def __aenter__(self) -> EchoSSH:
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.server = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            server_factory=lambda: _PasswordServer(self.password),
            process_factory=_say_password,
            encoding=None,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.known_hosts = self.workdir / f"known_hosts_{self.port}"
        public = host_key.export_public_key().decode().strip()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public}\n")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()
