"""`prober watch INVENTORY`: sweep on a ticker and serve /metrics, /healthz and blackbox-style /probe."""

from __future__ import annotations

import argparse
import signal
from typing import TYPE_CHECKING

from prober.cli.args import LIMIT_HELP, duration, limit, positive, retries, typed
from prober.cli.sweep import SweepFlags, load
from prober.errors import InputError, Problem

if TYPE_CHECKING:
    from prober.runtime.watchsweep import Output

DEFAULT_LISTEN = ("127.0.0.1", 9115)  # blackbox_exporter's port, on loopback only unless told otherwise


def listen_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPv6]:PORT` (port 0: any free port)."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or " " in host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ValueError(
            f"expected HOST:PORT (127.0.0.1:9115; 0.0.0.0:9115 listens on every interface), got {text!r}"
        )
    return host, int(port)


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = sub.add_parser("watch", help="sweep on a ticker; serve /metrics, /healthz and /probe")
    watch.add_argument("inventory")
    watch.add_argument("--interval", type=typed(duration), default=30.0, help="between sweep starts (30s)")
    watch.add_argument(
        "--listen", type=typed(listen_address), default=DEFAULT_LISTEN, help="HOST:PORT (127.0.0.1:9115)"
    )
    watch.add_argument(
        "--spread", action="store_true", help="start each host's probes at its own point of the interval"
    )
    watch.add_argument("--refresh", type=typed(duration), help="read the inventory again this often")
    watch.add_argument("-o", "--output", help="append every sweep's JSON lines to FILE")
    watch.add_argument(
        "--probe-targets",
        choices=("any", "inventory"),
        default="any",
        help="/probe: any host[:port] (default), or only the inventory's hosts",
    )
    watch.add_argument("--concurrency", type=typed(positive), help="probes in flight at once")
    watch.add_argument("--timeout", type=typed(duration), help="per-probe deadline, e.g. 500ms, 2s")
    watch.add_argument("--retries", type=typed(retries), help="extra attempts on timeout/refused/reset")
    watch.add_argument(
        "--limit", type=typed(limit), help=LIMIT_HELP
    )


def command(args: argparse.Namespace) -> int:
    from prober.runtime.execute import run_loop
    from prober.runtime.probeone import Plan
    from prober.runtime.signals import signals_held
    from prober.runtime.watch import RELOAD_SIGNALS, Watch, WatchOptions

    # SIGHUP's default action ends the process: until the loop takes it, a reload request waits.
    signal.pthread_sigmask(signal.SIG_BLOCK, RELOAD_SIGNALS)
    flags = SweepFlags(
        concurrency=args.concurrency, timeout=args.timeout, retries=args.retries, limit=args.limit
    )

    def plan() -> Plan:
        return Plan(*load(args.inventory, flags))

    first = plan()  # bad input: exit 3 before listening
    output = _output(args.output) if args.output else None
    options = WatchOptions(
        interval=args.interval,
        spread=args.spread,
        refresh=args.refresh,
        listen=args.listen,
        any_target=args.probe_targets == "any",
    )
    with signals_held():
        return run_loop(Watch(options, plan, first, output).run())


def _output(path: str) -> Output:
    from prober.runtime.watchsweep import Output

    try:
        return Output(path)
    except OSError as exc:
        raise InputError([Problem(path, None, "--output", f"cannot append: {exc.strerror or exc}")]) from None


__all__ = ["add_arguments", "command", "listen_address"]
