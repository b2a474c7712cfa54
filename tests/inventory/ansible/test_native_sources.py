"""A native inventory with an `ansible:` source plans what ansible-core lists for the same input: the
hosts of each group (children included), each host's address, SSH port, user and key, and its vars; and
--limit chooses the hosts `ansible all --limit L --list-hosts` lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prober.inventory import load_inventory
from prober.inventory.sources._ansible.model import jsonable
from prober.inventory.sources.ansible import load_ansible
from prober.model import Job
from prober.plan import build_plan, settings_for
from tests.inventory.ansible.oracle import FIXTURES, Oracle

# INI (ranges, aliases of the connection vars), YAML, a directory with group_vars/ and host_vars/, a
# dynamic script with _meta and one answering --host, and INI with precedence conflicts.
SOURCES = {
    "ini": "ini_basic/hosts.ini",
    "yaml": "yaml_nested/inventory.yml",
    "json": "json_file/inventory.json",
    "directory": "dir_mixed",
    "script_meta": "script_meta/inventory.py",
    "script_host": "script_old/inventory.sh",
    "precedence": "precedence/hosts",
}
LIMITS = ["web:&prod:!web9", "~web0[15]", "web*", "prod[0:2]", "!db*", "db,lb", "europe:!paris", "all"]
# The ssh connection plugin's vars for each setting, the one listed last winning (as the reader reads).
ADDRESS, PORT = ("ansible_host", "ansible_ssh_host"), ("ansible_port", "ansible_ssh_port")
USER, KEY = ("ansible_user", "ansible_ssh_user"), ("ansible_private_key_file", "ansible_ssh_private_key_file")


@pytest.fixture(scope="module")
def answers(oracle: Oracle) -> dict[str, dict[str, Any]]:
    jobs = [
        {"sources": [str(FIXTURES / rel)], "list": True, "patterns": [["all", limit] for limit in LIMITS]}
        for rel in SOURCES.values()
    ]
    return dict(zip(SOURCES, oracle.batch(jobs), strict=True))


@pytest.fixture(autouse=True)
def home_with_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key files the fixtures name (`~/.ssh/lb`) exist: an ssh probe checks that it can read them."""
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "lb").write_text("not read, only opened\n")
    monkeypatch.setenv("HOME", str(tmp_path))


def native(tmp_path: Path, rel: str, groups: list[str]) -> Path:
    """An inventory reading the fixture, one group per Ansible group with an http probe of its own, and
    `all` with an ssh probe that sets neither port, user nor key (so the source's apply)."""
    probes = {f"p_{name}": {"type": "http", "url": "http://{address}/"} for name in groups}
    probes["ssh"] = {"type": "ssh", "command": "true"}
    spec = {
        "sources": [{"ansible": str(FIXTURES / rel)}],
        "probes": probes,
        "groups": {name: {"probes": [f"p_{name}", *(["ssh"] if name == "all" else [])]} for name in groups},
    }
    path = tmp_path / "inventory.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML
    return path


def planned(path: Path, limit: list[str] | None = None) -> tuple[Job, ...]:
    inventory = load_inventory(str(path))
    return build_plan(inventory, settings_for(inventory), limit)


def members(listing: dict[str, Any], group: str) -> set[str]:
    """A group's hosts with its children's, transitively, from `ansible-inventory --list`."""
    entry = listing.get(group, {})
    found = set(entry.get("hosts", ()))
    for child in entry.get("children", ()):
        found |= members(listing, child)
    return found


def last(hostvars: dict[str, Any], names: tuple[str, ...]) -> Any:
    values = [hostvars[name] for name in names if hostvars.get(name) is not None]
    return values[-1] if values else None


class TestSameAsAnsible:
    @pytest.mark.parametrize("name", SOURCES)
    def test_groups_plan_ansibles_hosts(self, name: str, answers: dict[str, Any], tmp_path: Path) -> None:
        """A group named after an Ansible group plans exactly that group's hosts, children included."""
        listing = answers[name]["list"]
        groups = [group for group in listing if group != "_meta"]
        jobs = planned(native(tmp_path, SOURCES[name], groups))
        for group in groups:
            got = {job.target.name for job in jobs if job.spec.name == f"p_{group}"}
            assert got == members(listing, group), group
        assert {job.target.name for job in jobs if job.spec.name == "ssh"} == members(listing, "all")

    @pytest.mark.parametrize("name", SOURCES)
    def test_address_ssh_settings_and_vars(self, name: str, answers: dict[str, Any], tmp_path: Path) -> None:
        """Each host: ansible_host is the address; ansible_port, ansible_user and the key file are the ssh
        probe's; every var ansible lists is a template var, with ansible's value."""
        listing = answers[name]["list"]
        hostvars = listing["_meta"]["hostvars"]
        jobs = [job for job in planned(native(tmp_path, SOURCES[name], ["all"])) if job.spec.name == "ssh"]
        assert jobs
        for job in jobs:
            host, mine = job.target.name, job.target
            theirs = hostvars.get(host, {})
            assert mine.address == (last(theirs, ADDRESS) or host), host
            port = last(theirs, PORT)
            port = int(port) if port is not None else 22
            assert job.spec.port == port, host  # type: ignore[attr-defined]
            assert job.spec.user == last(theirs, USER), host  # type: ignore[attr-defined]
            assert job.spec.key == last(theirs, KEY), host  # type: ignore[attr-defined]
            assert jsonable(dict(mine.vars)) == theirs, host

    @pytest.mark.parametrize("name", ["ini", "directory", "yaml"])
    def test_limit_chooses_ansibles_hosts(self, name: str, answers: dict[str, Any], tmp_path: Path) -> None:
        """--limit with Ansible patterns chooses the hosts `ansible all --limit L --list-hosts` lists."""
        path = native(tmp_path, SOURCES[name], ["all"])
        for limit, theirs in zip(LIMITS, answers[name]["hosts"], strict=True):
            assert isinstance(theirs, list), theirs
            if not theirs:
                continue  # nothing chosen: prober says so (tested with the CLI)
            got = {job.target.name for job in planned(path, [limit])}
            assert got == set(theirs), limit

    def test_the_reader_and_the_plan_agree(self, tmp_path: Path) -> None:
        """The plan's hosts are the reader's, in the reader's order (the `all` group's)."""
        rel = SOURCES["directory"]
        jobs = planned(native(tmp_path, rel, ["all"]))
        order = [job.target.name for job in jobs if job.spec.name == "ssh"]
        assert order == list(load_ansible(str(FIXTURES / rel)).groups["all"].all_hosts)
