"""Write the inputs every tool reads: prober inventories, URL/target lists, an Ansible inventory."""

from __future__ import annotations

import json
from pathlib import Path

from bench.fleet import ADDRS_PER_OCTET, addresses

PER_BLOCK = 256 * ADDRS_PER_OCTET  # addresses fleet.addresses places in one 127.B.0.0/16


def patterns(block: int, count: int, start: int = 0) -> list[str]:
    """Host range patterns covering the same addresses as fleet.addresses(block, count, start)."""
    out: list[str] = []
    index, end = start, start + count
    while index < end:
        octet, first = divmod(index, ADDRS_PER_OCTET)
        if first == 0 and end - index >= ADDRS_PER_OCTET:
            full = (end - index) // ADDRS_PER_OCTET
            out.append(f"127.{block}.[{octet}:{octet + full - 1}].[1:{ADDRS_PER_OCTET}]")
            index += full * ADDRS_PER_OCTET
        else:
            last = min(ADDRS_PER_OCTET, first + end - index)
            out.append(f"127.{block}.{octet}.[{first + 1}:{last}]")
            index += last - first
    return out


def addresses_across(first_block: int, count: int) -> list[str]:
    """`count` distinct canonical IPv4 loopback addresses 127.B.y.z, filling 127.<first_block>.0.0/16
    and the blocks after it: never an octet over 255, so no name can fall back to DNS."""
    out: list[str] = []
    for done in range(0, count, PER_BLOCK):
        out += addresses(first_block + done // PER_BLOCK, min(PER_BLOCK, count - done))
    return out


def patterns_across(first_block: int, count: int) -> list[str]:
    """Range patterns covering exactly addresses_across(first_block, count), in the same order."""
    out: list[str] = []
    for done in range(0, count, PER_BLOCK):
        out += patterns(first_block + done // PER_BLOCK, min(PER_BLOCK, count - done))
    return out


def prober_inventory(
    path: Path,
    probes: dict[str, str],
    hosts: list[str],
    *,
    timeout: str = "5s",
    retries: int = 0,
    concurrency: int = 256,
) -> Path:
    """One group `bench` running every probe on every host pattern (YAML in flow style)."""
    lines = [
        "defaults:",
        f"  timeout: {timeout}",
        f"  retries: {retries}",
        f"  concurrency: {concurrency}",
        "probes:",
        *(f"  {name}: {spec}" for name, spec in probes.items()),
        "groups:",
        "  bench:",
        f"    probes: [{', '.join(probes)}]",
        "    hosts:",
        *(f"      - {json.dumps(h)}" for h in hosts),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def ansible_inventory(path: Path, addrs: list[str], ssh: dict[str, str]) -> Path:
    """INI inventory; host key checking stays on against the generated known_hosts."""
    args = (
        f"-F /dev/null -o UserKnownHostsFile={ssh['known_hosts']} -o StrictHostKeyChecking=yes "
        "-o BatchMode=yes -o ControlMaster=no -o ControlPath=none"
    )
    lines = ["[bench]", *addrs, "", "[bench:vars]"]
    lines += [
        f"ansible_user={ssh['user']}",
        f"ansible_port={ssh['port']}",
        f"ansible_ssh_private_key_file={ssh['key']}",
        f"ansible_ssh_common_args='{args}'",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
