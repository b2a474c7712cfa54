"""Servers for the body tests: an aiohttp app that compresses, raw answers with a chosen encoding."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import shutil
import socket
import subprocess
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from aiohttp import web

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

# A status page like a real one (~3 KB of repetitive HTML): gzip takes it to ~10% of its size.
PAGE = (
    "<html><head><title>status</title></head><body>\n"
    + "".join(f"<p>node {i} upstream healthy, latency {i % 7} ms, version 1.{i}</p>\n" for i in range(60))
    + "<p>service is ok</p></body></html>\n"
).encode()


def compressing_app(seen: list[str]) -> web.Application:
    """GET /{coding}: PAGE compressed as asked (gzip, deflate: zlib-wrapped as aiohttp sends it), or
    `auto` (negotiated from Accept-Encoding, like nginx `gzip on`), or `none`. `seen` collects the
    Accept-Encoding of each request."""

    async def page(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Accept-Encoding", "<none>"))
        response = web.Response(body=PAGE, content_type="text/html")
        coding = request.match_info["coding"]
        if coding == "auto":
            response.enable_compression()
        elif coding != "none":
            response.enable_compression(web.ContentCoding[coding])
        return response

    app = web.Application()
    app.router.add_get("/{coding}", page)
    return app


def raw_deflate(data: bytes) -> bytes:
    """deflate without the zlib header (RFC 1951), which some servers send as `deflate`."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def bomb_member(size: int = 16 << 20) -> bytes:
    """One gzip member of `size` zero bytes: ~16 KB on the wire for 16 MB decoded."""
    return gzip.compress(b"\0" * size, compresslevel=9)


def answer(coding: str, *parts: bytes, length: int | None = None, pause: float = 0.0) -> Handler:
    """A 200 with `Content-Encoding: coding` whose body is `parts`, written one by one (`pause`
    between them); Content-Length is their total unless `length` says otherwise."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        size = sum(map(len, parts)) if length is None else length
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nContent-Length: {size}\r\n\r\n"
        writer.write(head.encode())
        for part in parts:
            writer.write(part)
            await writer.drain()
            if pause:
                await asyncio.sleep(pause)
        await reader.read()  # until the client hangs up

    return handler


def endless(coding: str, block: bytes) -> Handler:
    """A 200 with `Content-Encoding: coding`, no length, and `block` repeated until the client leaves."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nConnection: close\r\n\r\n".encode())
        while True:
            writer.write(block)
            await writer.drain()

    return handler


def bare(status_line: str, headers: str = "", hold: bool = True) -> Handler:
    """A status line and headers, no body bytes, then the connection held open (or closed)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 {status_line}\r\n{headers}\r\n".encode())
        await writer.drain()
        if hold:
            await reader.read()

    return handler


NGINX_CONF = """worker_processes 1;
master_process off;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log error;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {root}/body; proxy_temp_path {root}/proxy; fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
  gzip on;
  server {{
    listen 127.0.0.1:{port};
    root {root}/html;
  }}
}}
"""


def nginx_binary() -> str | None:
    """The nginx executable, or None when it is not installed."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


@contextlib.contextmanager
def nginx_gzip(root: Path, port: int) -> Iterator[None]:
    """nginx with `gzip on` serving PAGE as /index.html on 127.0.0.1:port (one process, no master:
    it runs as the current user and reads files in tmp_path even as root)."""
    binary = nginx_binary()
    assert binary is not None
    (root / "html").mkdir(parents=True)
    (root / "html" / "index.html").write_bytes(PAGE)
    (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, port=port))
    proc = subprocess.Popen(
        [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {proc.stderr.read() if proc.stderr else b''!r}")
            time.sleep(0.02)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)
