"""Peer: the HTTP sweep people write by hand, ThreadPoolExecutor + requests.get."""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor

import requests


def check(url: str, timeout: float) -> bool:
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", help="file with one URL per line")
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    with open(args.urls) as handle:
        urls = [line.strip() for line in handle if line.strip()]
    with ThreadPoolExecutor(args.threads) as pool:
        results = list(pool.map(lambda u: check(u, args.timeout), urls))
    print(json.dumps({"ok": sum(results), "fail": len(results) - sum(results)}))


if __name__ == "__main__":
    main()
