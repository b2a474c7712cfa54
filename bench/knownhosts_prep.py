"""What preparing a fleet-sized known_hosts costs: time, CPU and peak RSS, one fresh process per case.

    python bench/knownhosts_prep.py [--lines 50000] [--hosts 300,50000] [--kinds plain,hashed]

Each case writes a file of --lines lines (the planned hosts' lines among random others), then in a
child process either prepares it as a sweep does (prober.probes.ssh.knownhosts.load for the planned
lookups: scan, hashed matching, decoding the selected lines) or, for comparison, reads it the way
prober did before (asyncssh.read_known_hosts: every key decoded). Then, untimed by the first
columns, up to 300 planned hosts are looked up as each connection does ("match µs": CPU per lookup).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prober.sim import knownfile

PORT = 2222
KEY = f"ssh-ed25519 {knownfile.ed25519_blob(bytes(range(32)))}"

CHILD = """
import json, resource, sys, time
path, mode, hosts = sys.argv[1], sys.argv[2], json.loads(open(sys.argv[3]).read())
started, cpu = time.perf_counter(), time.process_time()
if mode == "prober":
    from prober.probes.ssh import knownhosts
    known = knownhosts.load(path, [(h, h, PORT) for h in hosts])
else:
    import asyncssh
    known = asyncssh.read_known_hosts(path)
children = resource.getrusage(resource.RUSAGE_CHILDREN)
seconds = time.perf_counter() - started
cpu = time.process_time() - cpu + children.ru_utime + children.ru_stime
started = time.process_time()
matched = sum(bool(known.match(h, h, PORT)[0]) for h in hosts[:300])
print(json.dumps({
    "seconds": round(seconds, 3),
    "cpu": round(cpu, 3),
    "match_us": round((time.process_time() - started) / min(300, len(hosts)) * 1e6, 1),
    "rss_mb": round(max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, children.ru_maxrss) / 1024, 1),
    "matched": matched,
}))
""".replace("PORT", str(PORT))


def case(work: Path, lines: int, hosts: int, hashed: bool, mode: str) -> dict[str, object]:
    names = [f"127.{20 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}" for i in range(hosts)]
    real = [knownfile.line(h, PORT, KEY, hashed_name=hashed) for h in names]
    path = knownfile.write(work / "known_hosts", real, max(lines, hosts), hashed_names=hashed)
    root = Path(__file__).resolve().parent.parent
    planned = work / "planned.json"
    planned.write_text(json.dumps(names))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), mode, str(planned)],
        capture_output=True, text=True, cwd=root, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--hosts", default="300,50000")
    parser.add_argument("--kinds", default="plain,hashed")
    parser.add_argument("--baseline", action="store_true", help="also asyncssh.read_known_hosts")
    args = parser.parse_args()
    head = ("file", "lines", "planned", "how", "wall s", "cpu s", "rss MB", "match µs")
    print("{:<8} {:>7} {:>8} {:<25} {:>7} {:>7} {:>7} {:>9} matched (of up to 300)".format(*head))
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            for hosts in (int(h) for h in args.hosts.split(",")):
                modes = ["prober", "asyncssh"] if args.baseline else ["prober"]
                for mode in modes:
                    got = case(Path(tmp), args.lines, hosts, kind == "hashed", mode)
                    how = "prober prepare" if mode == "prober" else "asyncssh.read_known_hosts"
                    print(
                        f"{kind:<8} {args.lines:>7} {hosts:>8} {how:<25} {got['seconds']:>7} {got['cpu']:>7} "
                        f"{got['rss_mb']:>7} {got['match_us']:>9} {got['matched']}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
