"""Peer: parallel-ssh's ParallelSSHClient with host keys checked against a known_hosts file.

parallel-ssh checks no host keys by itself. This is what a user who wants them checked would add:
the file is read once by libssh2's knownhost parser (C), and each connection's key is checked right
after the key exchange, before authenticating (as OpenSSH does); a host whose key does not match
fails. The same file as prober's, so both pay for the same 50,000 lines.
"""

from __future__ import annotations

import argparse
import json

from pssh.clients import ParallelSSHClient
from pssh.clients.native.single import SSHClient
from ssh2 import knownhost as kh
from ssh2 import session as ssh2session

# libssh2's host key type (from the key exchange) → its knownhost key type.
KEY_TYPES = {
    ssh2session.LIBSSH2_HOSTKEY_TYPE_ED25519: kh.LIBSSH2_KNOWNHOST_KEY_ED25519,
    ssh2session.LIBSSH2_HOSTKEY_TYPE_RSA: kh.LIBSSH2_KNOWNHOST_KEY_SSHRSA,
    ssh2session.LIBSSH2_HOSTKEY_TYPE_ECDSA_256: kh.LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
}
MASK = kh.LIBSSH2_KNOWNHOST_TYPE_PLAIN | kh.LIBSSH2_KNOWNHOST_KEYENC_RAW


class KnownHosts:
    """One libssh2 knownhost store, read once, that every connection's key is checked against."""

    def __init__(self, path: str) -> None:
        self._session = ssh2session.Session()  # owns the store's memory; never connected
        self.store = self._session.knownhost_init()
        self.lines = self.store.readfile(path)

    def check(self, host: str, port: int, session: ssh2session.Session) -> None:
        key, key_type = session.hostkey()
        mask = MASK | KEY_TYPES.get(key_type, kh.LIBSSH2_KNOWNHOST_KEY_UNKNOWN)
        self.store.checkp(host.encode(), port, key, mask)  # raises unless the key matches


def checked_client(known: KnownHosts) -> type[SSHClient]:
    class Checked(SSHClient):  # type: ignore[misc]
        def _init_session(self, retries: int = 1) -> None:
            super()._init_session(retries)
            known.check(self.host, self.port, self.session)

    return Checked


def use_checked_clients(known: KnownHosts) -> None:
    """ParallelSSHClient builds its clients from the module's `SSHClient` name (in greenlets that
    yield while connecting, so the name is replaced once, for the whole process)."""
    import pssh.clients.native.parallel as native

    native.SSHClient = checked_client(known)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("hosts", help="file with one address per line")
    parser.add_argument("--known-hosts", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port", type=int, default=22)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--command", default="uptime")
    args = parser.parse_args()
    with open(args.hosts) as handle:
        hosts = [line.strip() for line in handle if line.strip()]
    known = KnownHosts(args.known_hosts)
    use_checked_clients(known)
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
    print(json.dumps({"ok": ok, "fail": len(hosts) - ok, "known_hosts_lines": known.lines}))


if __name__ == "__main__":
    main()
