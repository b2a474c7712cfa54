"""Peer: the floor of prober's own stack, one aiohttp session and an asyncio.Semaphore loop."""

from __future__ import annotations

import argparse

import aiohttp
from common import bounded, read_lines, run  # type: ignore[import-not-found]


async def sweep(urls: list[str], limit: int, deadline: float) -> list[bool]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    client_timeout = aiohttp.ClientTimeout(total=deadline)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:

        async def check(url: str) -> bool:
            try:
                async with session.get(url, allow_redirects=False) as response:
                    return response.status == 200
            except (TimeoutError, aiohttp.ClientError, OSError):
                return False

        return await bounded(urls, limit, check)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", help="file with one URL per line")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    run(sweep(read_lines(args.urls), args.concurrency, args.timeout))


if __name__ == "__main__":
    main()
