"""OpenSSH servers for the bench: one host key, 16 listen addresses per sshd, a throwaway login.

As root the login is a throwaway system user (created here, deleted at teardown); otherwise sshd
runs unprivileged and only the current user can log in. Either way the authorized key lives in
the bench's work directory: no real user's ~/.ssh is read or written.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.fleet import Fleet

SSHD = "/usr/sbin/sshd"


def available() -> str | None:
    """None when sshd can run here, else the reason it cannot."""
    if not os.path.exists(SSHD):
        return "OpenSSH sshd not installed (apt-get install openssh-server)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen not installed"
    return None


USER_PREFIX = "proberbench-"


def _user(fleet: Fleet) -> str:
    """The login for this bench run: a throwaway system user named after this process, so two runs
    (`make bench` and the test suite's smoke run) never delete each other's user."""
    if os.geteuid() != 0:
        return getpass.getuser()
    _remove_stale_users()
    fleet_user = f"{USER_PREFIX}{os.getpid()}"
    options = ["--system", "--no-create-home", "--home-dir", "/", "--shell", "/bin/sh", "--password", "*"]
    subprocess.run(
        ["useradd", *options, fleet_user],
        check=True,
        capture_output=True,
        timeout=30,
    )
    fleet.stack.callback(subprocess.run, ["userdel", fleet_user], capture_output=True, timeout=30)
    return fleet_user


def _remove_stale_users() -> None:
    """Users left by bench runs that were killed before their teardown (their process is gone)."""
    for entry in pwd.getpwall():
        pid = entry.pw_name.removeprefix(USER_PREFIX)
        if entry.pw_name.startswith(USER_PREFIX) and pid.isdigit() and not _alive(int(pid)):
            subprocess.run(["userdel", entry.pw_name], capture_output=True, timeout=30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _keygen(path: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True, timeout=30)


def start(fleet: Fleet, addrs: list[str], port: int) -> dict[str, str]:
    from bench.fleet import SSHD_LISTEN_MAX, wait_listening

    root = fleet.workdir / "ssh"
    root.mkdir(mode=0o755, exist_ok=True)
    os.chmod(fleet.workdir, 0o755)  # sshd reads authorized_keys as the login user
    host_key, client_key = str(root / "host_ed25519"), str(root / "id_ed25519")
    _keygen(host_key)
    _keygen(client_key)
    user = _user(fleet)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    authorized = root / "authorized_keys"
    authorized.write_text((root / "id_ed25519.pub").read_text())
    os.chmod(authorized, 0o644)
    host_public = " ".join((root / "host_ed25519.pub").read_text().split()[:2])
    known_hosts = root / "known_hosts"
    known_hosts.write_text("".join(f"[{a}]:{port} {host_public}\n" for a in addrs))
    procs = []
    for start_at in range(0, len(addrs), SSHD_LISTEN_MAX):
        chunk = addrs[start_at : start_at + SSHD_LISTEN_MAX]
        conf = root / f"sshd-{start_at}.conf"
        conf.write_text(
            _config(chunk, port, host_key, str(authorized), user, str(root / f"sshd-{start_at}.pid"))
        )
        procs.append(
            (chunk[-1], fleet._spawn([SSHD, "-D", "-e", "-f", str(conf)], "sshd", stderr=subprocess.DEVNULL))
        )
    for address, proc in procs:
        wait_listening(address, port, proc, "sshd")
    return {"user": user, "key": client_key, "known_hosts": str(known_hosts), "port": str(port)}


def _config(addrs: list[str], port: int, host_key: str, authorized: str, user: str, pid: str) -> str:
    listens = "".join(f"ListenAddress {a}:{port}\n" for a in addrs)
    return (
        f"{listens}HostKey {host_key}\nPidFile {pid}\nAuthorizedKeysFile {authorized}\nAllowUsers {user}\n"
        # MaxStartups: OpenSSH's default 10:30:100 drops concurrent handshakes of a parallel sweep.
        "MaxStartups 1000:30:1000\nMaxSessions 10\nUsePAM no\nStrictModes no\nUseDNS no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PrintMotd no\nPrintLastLog no\nLogLevel ERROR\nPermitRootLogin prohibit-password\n"
        "Subsystem sftp internal-sftp\nLoginGraceTime 30\n"
    )
