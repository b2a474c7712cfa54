"""What the HTTP library patches cost or save per probe, counted in instructions (callgrind).

`python bench/patches_ab.py --probes 400` starts `bench/servers.py http` on one loopback port (a
separate process: its work is never counted), then runs the client below under `valgrind
--tool=callgrind` once per variant and once more with no probe, and prints instructions per probe
(the difference over the probes, so start-up and imports cancel out). Instruction counts do not
depend on what else the machine runs; the variants run interleaved all the same.

Variants: `patched` (prober as it runs), `no-patches` (PROBER_NO_PATCHES=1: stock connector, no
1xx guard, the no-re-send middleware), and each patch alone left out (`no-connector`, `no-interim`,
`no-noretry`: that patch's fallback, the others on).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ["patched", "no-patches", "no-connector", "no-interim", "no-noretry"]


async def _client(port: int, probes: int, variant: str) -> None:
    from prober._patches import connector, interim, noretry
    from prober.model import Job, Target
    from prober.probes import probe_for
    from prober.probes.http.spec import HTTPSpec
    from prober.runtime.engine import Engine
    from prober.runtime.resources import Resources

    if variant == "no-connector":
        connector.HOOK_COMPATIBLE = False
    elif variant == "no-interim":
        interim.COMPATIBLE = False
    elif variant == "no-noretry":
        noretry.COMPATIBLE = False
    spec = HTTPSpec(name="web", url=f"http://127.0.0.1:{port}/", timeout=60.0, retries=0)
    jobs = tuple(Job(i, Target(f"h{i}", "127.0.0.1", "g"), spec) for i in range(probes))
    results: list[object] = []
    resources = Resources(concurrency=16)
    await resources.prepare(jobs)
    probe_for("http")
    await Engine(jobs, results.append, concurrency=16, probe_for=probe_for, resources=resources).run()
    await resources.aclose()
    failed = [r for r in results if getattr(r, "error", None) is not None]
    if failed:
        sys.exit(f"{len(failed)} probes failed: {failed[0]}")


def _count(port: int, probes: int, variant: str) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0")
    env.pop("PROBER_NO_PATCHES", None)
    if variant == "no-patches":
        env["PROBER_NO_PATCHES"] = "1"
    command = [sys.executable, __file__, "--client", str(port), "--probes", str(probes), "--variant", variant]
    valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    proc = subprocess.run([*valgrind, *command], capture_output=True, text=True, env=env, timeout=1800)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        sys.exit(f"{variant}: {proc.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probes", type=int, default=400)
    parser.add_argument("--variant", default="patched", choices=VARIANTS)
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)  # the measured child: port
    args = parser.parse_args()
    if args.client is not None:
        import uvloop

        uvloop.run(_client(args.client, args.probes, args.variant))
        return
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as addresses:
        addresses.write("127.0.0.1\n")
        addresses.flush()
        port = 20000 + os.getpid() % 20000
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "servers.py"), "http", addresses.name, str(port)],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            assert server.stdout is not None and server.stdout.readline().startswith("ready")
            per_probe = {}
            for variant in VARIANTS:  # interleaved: each variant's two runs back to back
                base, full = _count(port, 0, variant), _count(port, args.probes, variant)
                per_probe[variant] = (full - base) / args.probes
                print(f"{variant:12} {per_probe[variant]:>12,.0f} instructions per probe", flush=True)
        finally:
            server.terminate()
            server.wait()
    patched = per_probe["patched"]
    for variant, value in per_probe.items():
        print(f"{variant:12} {value / patched - 1:+7.1%} against patched")


if __name__ == "__main__":
    main()
