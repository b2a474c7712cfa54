"""Lay out, start and describe a simulated fleet; write its inventory, key and known_hosts."""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Role(StrEnum):
    """How a simulated host behaves."""

    HTTP_OK = "http_ok"
    HTTP_503 = "http_503"
    HTTP_SLOW = "http_slow"
    REFUSED = "refused"
    HUNG = "hung"
    TCP_BANNER = "tcp_banner"
    SSH_OK = "ssh_ok"
    SSH_FAIL = "ssh_fail"


# Share of the fleet per role (the rest is HTTP_OK); every role gets at least one host.
MIX = {
    Role.HTTP_503: 0.05,
    Role.HTTP_SLOW: 0.05,
    Role.REFUSED: 0.05,
    Role.HUNG: 0.05,
    Role.TCP_BANNER: 0.10,
    Role.SSH_OK: 0.10,
    Role.SSH_FAIL: 0.005,
}
GROUP_OF = {
    Role.HTTP_OK: "web",
    Role.HTTP_503: "web",
    Role.HTTP_SLOW: "web",
    Role.REFUSED: "web",
    Role.HUNG: "web",
    Role.TCP_BANNER: "mail",
    Role.SSH_OK: "app",
    Role.SSH_FAIL: "app",
}
HTTP_ROLES = {Role.HTTP_OK, Role.HTTP_503, Role.HTTP_SLOW}


@dataclass(frozen=True)
class SimHost:
    name: str
    address: str
    role: Role


def layout(size: int, block: int) -> list[SimHost]:
    """`size` hosts on 127.<block>.y.z, roles mixed as MIX says, names by group."""
    counts = {role: max(1, round(size * share)) for role, share in MIX.items()}
    counts[Role.HTTP_OK] = max(1, size - sum(counts.values()))
    hosts, serial = [], {"web": 0, "mail": 0, "app": 0}
    for index, role in enumerate(r for r, n in counts.items() for _ in range(n)):
        group = GROUP_OF[role]
        serial[group] += 1
        address = f"127.{block}.{index // 250}.{index % 250 + 1}"
        hosts.append(SimHost(f"{group}{serial[group]:03d}", address, role))
    return hosts


def free_ports(address: str, count: int) -> list[int]:
    """`count` distinct ports free on address (held open together so none repeats)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind((address, 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class Fleet:
    """A running simulated fleet; use `async with Fleet(...)`, then `write_inventory()`."""

    size: int = 200
    workdir: Path = field(default_factory=lambda: Path("."))
    block: int = field(default_factory=lambda: random.randint(100, 250))
    hosts: list[SimHost] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    _servers: list[Any] = field(default_factory=list)
    _http: Any = None
    _known_hosts: list[str] = field(default_factory=list)

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def by_role(self, role: Role) -> list[SimHost]:
        return [h for h in self.hosts if h.role == role]

    async def start(self) -> None:
        import asyncssh

        from prober.sim import servers, sshd
        from prober.sim.httpd import HttpFleet

        self.hosts = layout(self.size, self.block)
        first = self.hosts[0].address
        self.ports = dict(zip(("http", "tcp", "ssh"), free_ports(first, 3), strict=True))
        self.workdir.mkdir(parents=True, exist_ok=True)
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        key_path = self.workdir / "id_ed25519"
        client_key.write_private_key(str(key_path))
        os.chmod(key_path, 0o600)
        client_public = client_key.export_public_key().decode()
        http_hosts = [h for h in self.hosts if h.role in HTTP_ROLES]
        self._http = HttpFleet({h.address: h.role.value for h in http_hosts})
        await self._http.start([h.address for h in http_hosts], self.ports["http"])
        starts = []
        for host in self.hosts:
            if host.role == Role.HUNG:
                starts.append(servers.start_black_hole(host.address, self.ports["http"]))
            elif host.role == Role.TCP_BANNER:
                banner = f"220 {host.name}.sim ESMTP ready\r\n".encode()
                starts.append(servers.start_banner(host.address, self.ports["tcp"], banner))
            elif host.role in (Role.SSH_OK, Role.SSH_FAIL):
                key = asyncssh.generate_private_key("ssh-ed25519")
                public = key.export_public_key().decode().split()[:2]
                self._known_hosts.append(f"[{host.address}]:{self.ports['ssh']} {' '.join(public)}")
                fail = 3 if host.role == Role.SSH_FAIL else None
                starts.append(sshd.start_sshd(host.address, self.ports["ssh"], key, client_public, fail))
        self._servers = list(await asyncio.gather(*starts))
        (self.workdir / "known_hosts").write_text("\n".join(self._known_hosts) + "\n")

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        if self._http is not None:
            await self._http.stop()
        await asyncio.gather(*(_wait_closed(s) for s in self._servers), return_exceptions=True)
        self._servers = []

    def write_inventory(self, name: str = "fleet.yaml", checks: bool = False) -> Path:
        path = self.workdir / name
        path.write_text(render_inventory(self, checks))
        return path


async def _wait_closed(server: Any) -> None:
    await asyncio.wait_for(server.wait_closed(), 2)


def render_inventory(fleet: Fleet, checks: bool = False) -> str:
    """A native inventory that exercises every probe kind against the fleet; with `checks`, the SSH
    hosts also get disk and load checks (run for real by the simulator's shell, over the host's one
    shared SSH connection)."""
    ports = fleet.ports
    key, known = json.dumps(str(fleet.workdir / "id_ed25519")), json.dumps(str(fleet.workdir / "known_hosts"))
    login = f"port: {ports['ssh']}, user: prober, key: {key}, known_hosts: {known}"
    lines = [
        "# Generated by prober's simulator: every host lives on loopback.",
        "defaults:",
        "  timeout: 1s",
        "  retries: 1",
        "  concurrency: 256",
        "probes:",
        f'  health: {{type: http, url: "http://{{address}}:{ports["http"]}/healthz", '
        'expect_status: [200], body_regex: "ok", latency_warn: 200ms}',
        f'  smtp:   {{type: tcp, port: {ports["tcp"]}, expect: "^220 "}}',
        f'  uptime: {{type: ssh, {login}, command: "uptime", stdout_regex: "load average"}}',
    ]
    if checks:
        lines += [
            f"  disk:   {{type: ssh, {login}, check: disk, path: /, warn: 90, crit: 98}}",
            f"  load:   {{type: ssh, {login}, check: load, warn: 4, crit: 8, per_cpu: true}}",
        ]
    lines.append("groups:")
    probes = {"web": "health", "mail": "smtp", "app": "uptime, disk, load" if checks else "uptime"}
    for group in ("web", "mail", "app"):
        members = [h for h in fleet.hosts if GROUP_OF[h.role] == group]
        if not members:
            continue
        lines += [f"  {group}:", f"    probes: [{probes[group]}]", "    hosts:"]
        lines += [
            f"      {h.name}: {{address: {h.address}, vars: {{role: {h.role.value}}}}}" for h in members
        ]
    return "\n".join(lines) + "\n"
