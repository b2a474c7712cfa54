"""Network namespaces for fault injection: private links and addresses that never leave this machine.

Every namespace, veth pair, qdisc and nftables rule lives inside namespaces these fixtures create,
so deleting the namespaces (always, in the finalizer) removes all of it; nothing touches the host's
own network namespace.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.hostile import ServerProcess
from tests.conftest import ROOT, cli_env

_serial = itertools.count()


def require_root_and_ip() -> None:
    if sys.platform != "linux":
        pytest.skip("network namespaces need Linux")
    if os.geteuid() != 0:
        pytest.skip("creating network namespaces needs root")
    if shutil.which("ip") is None:
        pytest.skip("the `ip` binary (iproute2) is not installed")


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc


class Netns:
    """One network namespace with its loopback up."""

    def __init__(self, name: str) -> None:
        self.name = name
        sh("ip", "netns", "add", name)
        self.exec("ip", "link", "set", "lo", "up")

    @property
    def prefix(self) -> tuple[str, ...]:
        return ("ip", "netns", "exec", self.name)

    def exec(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh(*self.prefix, *cmd, check=check)

    def prober(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `python -m prober ARGS` inside this namespace."""
        return subprocess.run(
            [*self.prefix, sys.executable, "-m", "prober", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=cli_env(),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )

    def nft(self, *rule: str) -> subprocess.CompletedProcess[str]:
        return self.exec("nft", *rule)


class Lab:
    """Creates namespaces, veth links and servers; `close()` removes every one of them."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.tag = f"{os.getpid() % 100000}x{next(_serial)}"
        self.namespaces: list[Netns] = []
        self.servers: list[ServerProcess] = []
        self.links: list[str] = []

    def netns(self) -> Netns:
        """A new namespace; skips the test if this host (e.g. an unprivileged container) forbids it."""
        name = f"prober-{self.tag}-{len(self.namespaces)}"
        try:
            ns = Netns(name)
        except RuntimeError as exc:
            sh("ip", "netns", "del", name, check=False)
            pytest.skip(f"cannot create a usable network namespace here: {exc}")
        self.namespaces.append(ns)
        return ns

    def link(self, a: Netns, a_addr: str, b: Netns, b_addr: str) -> tuple[str, str]:
        """A veth pair created directly inside namespaces a and b (never in the host's), addressed /30."""
        index = len(self.links)
        name_a, name_b = f"pv{self.tag}{index}a"[:15], f"pv{self.tag}{index}b"[:15]
        self.links.append(name_a)
        sh(
            "ip",
            "link",
            "add",
            name_a,
            "netns",
            a.name,
            "type",
            "veth",
            "peer",
            "name",
            name_b,
            "netns",
            b.name,
        )
        for ns, name, addr in ((a, name_a, a_addr), (b, name_b, b_addr)):
            ns.exec("ip", "addr", "add", f"{addr}/30", "dev", name)
            ns.exec("ip", "link", "set", name, "up")
        return name_a, name_b

    def serve(self, ns: Netns, plan: list[list[Any]]) -> None:
        self.servers.append(ServerProcess(plan, self.tmp_path, prefix=ns.prefix))

    def close(self) -> None:
        for server in self.servers:
            server.close()
        for ns in self.namespaces:
            sh("ip", "netns", "del", ns.name, check=False)  # takes its links, qdiscs and rules along
        for name in self.links:  # only if creation failed half-way and left one in the host namespace
            if Path(f"/sys/class/net/{name}").exists():
                sh("ip", "link", "del", name, check=False)


@pytest.fixture
def netlab(tmp_path: Path) -> Iterator[Lab]:
    """Namespaces for one test, always removed afterwards (even when the test fails)."""
    require_root_and_ip()
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()
        leftovers = [
            n for n in sh("ip", "netns", "list").stdout.split() if n.startswith(f"prober-{lab.tag}-")
        ]
        assert not leftovers, f"namespaces left behind: {leftovers}"


def require_nft(ns: Netns) -> None:
    """Skip unless nftables works inside `ns` (binary installed and nf_tables in the kernel)."""
    if shutil.which("nft") is None:
        pytest.skip("the `nft` binary (nftables) is not installed")
    probe = ns.exec("nft", "add", "table", "inet", "probe", check=False)
    if probe.returncode != 0:
        pytest.skip(f"nftables unusable in a namespace: {probe.stderr.strip()}")
    ns.exec("nft", "delete", "table", "inet", "probe")


def require_netem(ns: Netns, dev: str) -> None:
    """Skip unless `tc ... netem` works on dev (some kernels are built without sch_netem)."""
    if shutil.which("tc") is None:
        pytest.skip("the `tc` binary (iproute2) is not installed")
    probe = ns.exec("tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", "1ms", check=False)
    if probe.returncode != 0:
        pytest.skip(
            f"tc netem unavailable: `tc qdisc add ... netem` says {probe.stderr.strip()!r} "
            f"(kernel {os.uname().release} {netem_config()})"
        )
    ns.exec("tc", "qdisc", "del", "dev", dev, "root")


def netem_config() -> str:
    """What /proc/config.gz says about sch_netem, if the kernel exposes its config."""
    import gzip

    try:
        with gzip.open("/proc/config.gz", "rt") as config:
            for line in config:
                if "CONFIG_NET_SCH_NETEM" in line:
                    return line.strip()
    except OSError:
        return "has no /proc/config.gz"
    return "does not mention CONFIG_NET_SCH_NETEM"
