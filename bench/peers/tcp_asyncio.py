"""Peer: a minimal TCP connect sweep, asyncio.open_connection under a Semaphore."""

from __future__ import annotations

import argparse
import asyncio

from common import bounded, read_lines, run  # type: ignore[import-not-found]


async def sweep(targets: list[str], limit: int, deadline: float) -> list[bool]:
    async def check(target: str) -> bool:
        host, _, port = target.rpartition(":")
        try:
            async with asyncio.timeout(deadline):
                _, writer = await asyncio.open_connection(host, int(port))
        except (OSError, TimeoutError):
            return False
        writer.transport.abort()
        return True

    return await bounded(targets, limit, check)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("targets", help="file with one host:port per line")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    run(sweep(read_lines(args.targets), args.concurrency, args.timeout))


if __name__ == "__main__":
    main()
