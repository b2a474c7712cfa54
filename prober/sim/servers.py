"""Plain asyncio servers for the simulator: banners, black holes (accept, never answer)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


async def _hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and never answer: read and drop whatever arrives until the client gives up."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(4096):
            pass
    writer.transport.abort()


def _banner_handler(banner: bytes) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(banner)
            await writer.drain()
            await asyncio.wait_for(reader.read(1024), 5)
        writer.transport.abort()

    return handle


async def start_black_hole(address: str, port: int) -> asyncio.Server:
    return await asyncio.start_server(_hold, address, port, reuse_address=True)


async def start_banner(address: str, port: int, banner: bytes) -> asyncio.Server:
    return await asyncio.start_server(_banner_handler(banner), address, port, reuse_address=True)
