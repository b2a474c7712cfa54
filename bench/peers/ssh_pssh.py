"""Peer: parallel-ssh's ParallelSSHClient running one command on every host."""

from __future__ import annotations

import argparse
import json

from pssh.clients import ParallelSSHClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("hosts", help="file with one address per line")
    parser.add_argument("--user", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port", type=int, default=22)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--command", default="uptime")
    args = parser.parse_args()
    with open(args.hosts) as handle:
        hosts = [line.strip() for line in handle if line.strip()]
    client = ParallelSSHClient(
        hosts,
        user=args.user,
        pkey=args.key,
        port=args.port,
        pool_size=args.concurrency,
        timeout=args.timeout,
        num_retries=1,
        allow_agent=False,
    )
    output = client.run_command(args.command, stop_on_errors=False)
    client.join(output)
    ok = 0
    for host_out in output:
        lines = list(host_out.stdout or []) if host_out.exception is None else []
        ok += host_out.exit_code == 0 and any("load average" in line for line in lines)
    print(json.dumps({"ok": ok, "fail": len(hosts) - ok}))


if __name__ == "__main__":
    main()
