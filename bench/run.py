"""`make bench`: start a loopback fleet, run prober and its peers on it, print one table.

    python bench/run.py [--scale 0.01] [--only http,tcp] [--repeat 3]

Results are also written as JSON to bench/results/. Everything started (servers, sshd, the
nftables table, the throwaway SSH user) is torn down on exit, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fleet import Fleet
from bench.scenarios import SCENARIOS, Bench, Sizes
from bench.table import Row, render

RESULTS = Path(__file__).resolve().parent / "results"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def compile_prober() -> None:
    """Byte-compile prober like `pip install` does, so no run pays for compiling its source.

    An editable checkout has no .pyc files until Python writes them, and with
    PYTHONDONTWRITEBYTECODE set (as on CI images) it never does: every measured run would compile
    prober's ~60 modules again (~20-40 ms), a cost no installed copy has. Peers' libraries are
    installed, hence compiled.
    """
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "prober"), quiet=1)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="prober benchmark: prints a table")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size (0.01 = smoke run)")
    parser.add_argument("--only", help=f"comma-separated scenarios among {','.join(SCENARIOS)}")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved runs per tool; the fastest is kept"
    )
    parser.add_argument(
        "--concurrency", type=int, default=256, help="HTTP/TCP concurrency for prober and loops"
    )
    parser.add_argument("--ssh-concurrency", type=int, default=64)
    parser.add_argument(
        "--http-server",
        choices=("nginx", "python"),
        default="nginx",
        help="HTTP fleet server (python = bench/servers.py; used anyway without nginx)",
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get install nmap/nginx/sshd/nft")
    parser.add_argument("--json", type=Path, help="results file (default bench/results/<time>.json)")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    args.scenarios = chosen
    return args


def header(args: argparse.Namespace) -> str:
    cores = len(os.sched_getaffinity(0))
    return (
        f"prober bench: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {cores} usable cores "
        f"(cpu_count {os.cpu_count()}), Python {platform.python_version()}, scale {args.scale}\n"
        "prober/peer = prober's wall time / the peer's, same run (< 1 means prober is faster); "
        "cpu = user+sys of the tool's process tree; rss = its largest process"
    )


def run_all(args: argparse.Namespace, workdir: Path) -> list[Row]:
    rows: list[Row] = []
    with Fleet(workdir, use_nginx=args.http_server == "nginx") as fleet:
        bench = Bench(
            fleet,
            Sizes.scaled(args.scale),
            random.randint(20, 90),
            repeat=args.repeat,
            concurrency=args.concurrency,
            ssh_concurrency=args.ssh_concurrency,
        )
        for name in args.scenarios:
            print(f"… {name}", file=sys.stderr, flush=True)
            try:
                rows.extend(SCENARIOS[name](bench))
            except (OSError, RuntimeError, ValueError) as exc:
                rows.append(Row(name, "-", skipped=f"{type(exc).__name__}: {exc}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    if not args.no_install:
        from bench import tools

        problem = tools.ensure()
        if problem:
            print(f"bench: {problem}; the rows needing them are skipped", file=sys.stderr)
    compile_prober()
    workdir = Path(tempfile.mkdtemp(prefix="prober-bench-"))
    try:
        rows = run_all(args, workdir)
    except KeyboardInterrupt:
        print("bench interrupted; fleet torn down", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = render(rows, header(args))
    print(text, flush=True)
    out = args.json or RESULTS / time.strftime("%Y%m%dT%H%M%SZ.json", time.gmtime())
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"scale": args.scale, "cores": len(os.sched_getaffinity(0)), "repeat": args.repeat}
    out.write_text(json.dumps({"meta": meta, "rows": [r.as_dict() for r in rows]}, indent=1) + "\n")
    print(f"results: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
