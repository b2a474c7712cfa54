"""Install the system tools the bench compares against (nmap, nginx, sshd, nft) when root on Debian."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# binary → Debian package; a missing one only skips its rows (with the reason) if it cannot be installed.
WANTED = {
    "nmap": "nmap",
    "nginx": "nginx-light",
    "sshd": "openssh-server",
    "nft": "nftables",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",  # the watch scenario's peer
}
APT_TIMEOUT_S = 600


def _present(binary: str) -> bool:
    return shutil.which(binary) is not None or os.path.exists(f"/usr/sbin/{binary}")


def missing() -> list[str]:
    return [package for binary, package in WANTED.items() if not _present(binary)]


def ensure() -> str | None:
    """apt-get install what is missing; None when all is there, else what is still missing and why."""
    need = missing()
    if not need:
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"not installed: {', '.join(need)} (needs root and apt-get)"
    print(f"… apt-get install {' '.join(need)}", file=sys.stderr, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=APT_TIMEOUT_S)
        cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *need]
        subprocess.run(cmd, env=env, capture_output=True, timeout=APT_TIMEOUT_S, check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"apt-get install {' '.join(need)} failed: {type(exc).__name__}"
    still = missing()
    return f"still missing after apt-get: {', '.join(still)}" if still else None
