"""The bench fleet on loopback, in child processes: nginx or Python servers, sshd, nftables drops.

Everything started is registered on an ExitStack, so `Fleet.close()` (run on Ctrl-C and SIGTERM
too) stops servers, deletes the nftables table and the throwaway user. Children also get
PR_SET_PDEATHSIG, so they die with the bench even if it is killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ADDRS_PER_OCTET = 250
PER_SERVER = 5000  # listeners per Python server process: 2 fds budgets stay far under ulimit -n
SSHD_LISTEN_MAX = 16  # OpenSSH's MAX_LISTEN_SOCKS
READY_TIMEOUT = 60.0


def addresses(block: int, count: int, start: int = 0) -> list[str]:
    """`count` distinct addresses 127.<block>.y.z (z in 1..250), from the start-th one."""
    if not 0 < block < 255 or start + count > 256 * ADDRS_PER_OCTET:
        raise ValueError(f"cannot place {count} addresses in 127.{block}.0.0/16")
    out = []
    for index in range(start, start + count):
        out.append(f"127.{block}.{index // ADDRS_PER_OCTET}.{index % ADDRS_PER_OCTET + 1}")
    return out


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def port_open(address: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((address, port)) == 0


def wait_listening(address: str, port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    """Poll until address:port accepts, the process died, or READY_TIMEOUT passed."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        if port_open(address, port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not listening on {address}:{port} after {READY_TIMEOUT:.0f}s")


class Fleet:
    """Owns every process, rule and user the bench creates; close() undoes all of it."""

    def __init__(self, workdir: Path, use_nginx: bool = True) -> None:
        self.workdir = workdir
        self.use_nginx = use_nginx
        self.stack = contextlib.ExitStack()
        self.nft_table: str | None = None
        self._sshd: dict[tuple[tuple[str, ...], int], dict[str, str]] = {}

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stack.close()

    def _spawn(self, cmd: list[str], what: str, **kwargs: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cmd, preexec_fn=_die_with_parent, stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
        self.stack.callback(_stop, proc, what)
        return proc

    # --- plain servers -------------------------------------------------------------------
    def python_servers(self, mode: str, addrs: list[str], port: int) -> None:
        """`mode` (http, tcp, hold) on every address, PER_SERVER listeners per child process."""
        procs = []
        for start in range(0, len(addrs), PER_SERVER):
            chunk = addrs[start : start + PER_SERVER]
            path = self.workdir / f"{mode}-{start}.addrs"
            path.write_text("\n".join(chunk) + "\n")
            cmd = [sys.executable, str(HERE / "servers.py"), mode, str(path), str(port)]
            procs.append(self._spawn(cmd, f"{mode} server", stdout=subprocess.PIPE))
        for proc in procs:
            line = _readline(proc, READY_TIMEOUT)
            if not line.startswith(b"ready"):
                raise RuntimeError(f"{mode} server failed to start: {line!r}")

    def nginx(self, addrs: list[str], port: int) -> bool:
        """nginx answering 200 on every address; False when nginx is not installed."""
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if binary is None or not self.use_nginx:
            return False
        root = self.workdir / "nginx"
        root.mkdir(exist_ok=True)
        listens = "\n".join(f"    listen {a}:{port} backlog=64;" for a in addrs)
        conf = root / "nginx.conf"
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"{user}worker_processes 1;\ndaemon off;\npid {root}/nginx.pid;\n"
            f"error_log {root}/error.log error;\n"
            "worker_rlimit_nofile 20000;\nevents { worker_connections 16384; multi_accept on; }\n"
            f"http {{\n  access_log off;\n  client_body_temp_path {root}/body;\n"
            f"  proxy_temp_path {root}/proxy;\n  fastcgi_temp_path {root}/fastcgi;\n"
            f"  uwsgi_temp_path {root}/uwsgi;\n  scgi_temp_path {root}/scgi;\n"
            f'  server {{\n{listens}\n    location / {{ return 200 "ok\\n"; }}\n  }}\n}}\n'
        )
        proc = self._spawn([binary, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")], "nginx")
        wait_listening(addrs[-1], port, proc, "nginx")
        return True

    # --- nftables --------------------------------------------------------------------------
    def drop_syns(self, cidr: str) -> None:
        """Silently drop SYNs to `cidr` (an unresponsive range); needs root and nft."""
        if not cidr.startswith("127."):
            raise ValueError("drop rules only for 127.0.0.0/8")
        if self.nft_table is None:
            table = f"proberbench{os.getpid()}"
            _run(["nft", "add", "table", "ip", table])
            self.nft_table = table
            self.stack.callback(_run_quiet, ["nft", "delete", "table", "ip", table])
            _run(
                [
                    "nft",
                    "add",
                    "chain",
                    "ip",
                    table,
                    "input",
                    "{ type filter hook input priority -10 ; policy accept ; }",
                ]
            )
        _run(
            [
                "nft",
                "add",
                "rule",
                "ip",
                self.nft_table,
                "input",
                "ip",
                "daddr",
                cidr,
                "tcp",
                "flags",
                "syn",
                "drop",
            ]
        )

    # --- OpenSSH -----------------------------------------------------------------------------
    def sshd(self, addrs: list[str], port: int) -> dict[str, str]:
        """sshd on every address (16 per daemon); returns user, key and known_hosts paths. Started
        once per (addresses, port): the ssh and knownhosts scenarios share it."""
        from bench import sshfleet

        key = (tuple(addrs), port)
        if key not in self._sshd:
            self._sshd[key] = sshfleet.start(self, addrs, port)
        return self._sshd[key]


def _readline(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return b"(no answer)"
    return proc.stdout.readline()


def _stop(proc: subprocess.Popen[bytes], what: str) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


def _run_quiet(cmd: list[str]) -> None:
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        subprocess.run(cmd, capture_output=True, timeout=30)
