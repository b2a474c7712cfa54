"""The reader against ansible-core: each fixture gives exactly what `ansible-inventory --list` prints."""

from __future__ import annotations

from typing import Any

import pytest

from prober.inventory.sources.ansible import AnsibleInventory, load_ansible
from tests.inventory.ansible.conftest import as_json
from tests.inventory.ansible.oracle import FIXTURES, Oracle

# name → sources; together they cover INI, YAML, JSON, directories with group_vars/ and host_vars/,
# ranges, nested children, precedence conflicts, dynamic scripts (with and without _meta), several sources.
SOURCES = {
    "ini_basic": ["ini_basic/hosts.ini"],
    "yaml_nested": ["yaml_nested/inventory.yml"],
    "json_file": ["json_file/inventory.json"],
    "dir_mixed": ["dir_mixed"],
    "precedence": ["precedence/hosts"],
    "script_meta": ["script_meta/inventory.py"],
    "script_old": ["script_old/inventory.sh"],
    "multi": ["multi/a.ini", "multi/b.yml"],
}


def paths(name: str) -> list[str]:
    return [str(FIXTURES / rel) for rel in SOURCES[name]]


@pytest.fixture(scope="module")
def answers(oracle: Oracle) -> dict[str, dict[str, Any]]:
    """ansible's --list and --list --export for every fixture, from one ansible process."""
    jobs = [{"sources": paths(name), "list": True, "export": True} for name in SOURCES]
    return dict(zip(SOURCES, oracle.batch(jobs), strict=True))


def graph(inventory: AnsibleInventory, name: str = "all", depth: int = 0) -> list[str]:
    """What `ansible-inventory --graph` draws, from the reader's groups."""
    indent = "  |" * depth + "--" if depth else ""
    lines = [f"{indent}@{name}:"]
    group = inventory.groups[name]
    for child in group.children:
        lines += graph(inventory, child, depth + 1)
    if name != "all":
        lines += ["  |" * (depth + 1) + "--" + host for host in group.hosts]
    return lines


class TestSameAsAnsibleInventoryList:
    @pytest.mark.parametrize("name", SOURCES)
    def test_hosts_groups_and_hostvars(self, name: str, answers: dict[str, dict[str, Any]]) -> None:
        """Groups (direct hosts, children, order) and every host's merged vars equal ansible's --list."""
        assert "error" not in answers[name], answers[name]
        assert as_json(load_ansible(paths(name)).as_list()) == answers[name]["list"]

    @pytest.mark.parametrize("name", SOURCES)
    def test_group_vars(self, name: str, answers: dict[str, dict[str, Any]]) -> None:
        """Each group's vars (inventory, then group_vars/ files) and priority equal ansible's --export."""
        mine = as_json(load_ansible(paths(name)).as_list(export=True))
        theirs = dict(answers[name]["export"])
        del mine["_meta"], theirs["_meta"]  # --export prints each host's own vars; compared above merged
        assert mine == theirs

    def test_the_batch_oracle_is_the_cli(self, oracle: Oracle, answers: dict[str, dict[str, Any]]) -> None:
        """The in-process oracle prints what the ansible-inventory command prints."""
        for name in ("dir_mixed", "script_meta"):
            assert oracle.inventory_list(*paths(name)) == answers[name]["list"]
        assert oracle.inventory_list(*paths("precedence"), export=True) == answers["precedence"]["export"]

    @pytest.mark.parametrize("name", ["yaml_nested", "dir_mixed", "multi"])
    def test_graph(self, name: str, oracle: Oracle) -> None:
        """The tree of groups, children and hosts is ansible-inventory --graph's."""
        assert "\n".join(graph(load_ansible(paths(name)))) == oracle.graph(*paths(name))


class TestPrecedence:
    """Checked values that the comparisons above also cover, spelled out: each rule of Ansible's order."""

    def test_child_group_beats_parent_and_all(self) -> None:
        host = load_ansible(paths("precedence")).hosts
        assert host["h_mid_b"].vars["x"] == "mid_b"  # mid_b (depth 2) over top (1) over all (0)
        assert host["h_mid_b"].vars["y"] == "top"
        assert host["h_leaf"].vars["y"] == "mid_a"

    def test_group_priority_orders_groups_of_the_same_depth(self) -> None:
        inventory = load_ansible(paths("precedence"))
        # sibling_hi has ansible_group_priority=10: it is applied after sibling_lo whatever the names.
        assert inventory.hosts["h_sib"].vars["y"] == "sibling_hi"
        assert inventory.groups["sibling_hi"].priority == 10
        # In a group_vars/ file the priority is only a var: it does not reorder anything.
        assert inventory.groups["mid_a"].priority == 1

    def test_group_vars_files_beat_inventory_group_vars_but_not_host_vars(self) -> None:
        host = load_ansible(paths("precedence")).hosts["h_leaf"]
        assert host.vars["z"] == "group_vars_all"  # group_vars/all beats [top:vars] of a deeper group
        assert host.vars["ff_mid"] == "group_vars_top"  # any group_vars file beats every [g:vars]
        assert host.vars["h_var"] == "host"  # the inventory's host var beats group_vars/mid_a
        assert host.vars["x"] == "host_vars"  # host_vars/ beats everything

    def test_hosts_in_two_groups_take_the_last_inline_value(self) -> None:
        host = load_ansible(paths("ini_basic")).hosts["db-01-node"]
        assert host.vars["role"] == "replica"
        assert host.vars["ansible_user"] == "postgres"


class TestConnectionSettings:
    def test_address_port_user_key_from_ansible_vars(self) -> None:
        hosts = load_ansible(paths("ini_basic")).hosts
        assert (hosts["web9"].address, hosts["web9"].port, hosts["web9"].user) == ("192.0.2.1", 2222, "root")
        assert hosts["web01.example.com"].user == "deploy"  # the host's value beats [all:vars]
        assert hosts["2001:db8::1"].port == 2201  # [v6]:port
        assert (hosts["loose1"].address, hosts["loose1"].port) == ("loose1", None)  # the name, no port

    def test_the_ssh_aliases_count_as_ansible_does(self) -> None:
        """ansible_ssh_host/_port/_user win over ansible_host/_port/_user, as in the ssh plugin."""
        lb1 = load_ansible(paths("ini_basic")).hosts["lb1"]
        assert (lb1.address, lb1.port, lb1.user, lb1.key_file) == ("192.0.2.50", 2022, "ops", "~/.ssh/lb")

    def test_port_as_a_string_and_from_host_vars_files(self) -> None:
        assert load_ansible(paths("yaml_nested")).hosts["bastion"].port == 2222  # "2222" in YAML
        inventory = load_ansible(paths("dir_mixed"))
        assert inventory.hosts["cache02"].port == 6390  # host_vars/cache02 beats the YAML inventory
        assert inventory.hosts["db01"].user == "dbadmin"

    def test_groups_are_group_names(self) -> None:
        host = load_ansible(paths("precedence")).hosts["h_leaf"]
        assert host.groups == ("leaf", "mid_a", "top")


class TestResultIsFrozen:
    def test_vars_cannot_change(self) -> None:
        inventory = load_ansible(paths("ini_basic"))
        web = inventory.groups["web"]
        with pytest.raises(TypeError):
            web.vars["http_port"] = 1  # type: ignore[index]
        assert inventory.hosts["web9"].vars["tags"] == ("a", "b")  # lists are tuples
        with pytest.raises(TypeError):
            inventory.hosts["web-a"].vars["mapping"]["k"] = "w"  # type: ignore[index]
        with pytest.raises(TypeError):
            inventory.hosts["new"] = inventory.hosts["web9"]  # type: ignore[index]
