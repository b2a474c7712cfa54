"""An `ansible:` source in the native inventory: addresses, SSH settings below the file's, var precedence,
templates and labels of Ansible vars, refined hosts, paths, and sources that fail (exit 3, nothing probed)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, cli_env
from tests.inventory.conftest import Outcome
from tests.inventory.sources.conftest import by_host, errors, plan_records

INI = """
[web]
web01 ansible_host=127.0.0.1 http_port=8080
web02 ansible_host=127.0.0.2 ansible_port=2222 ansible_user=ansible_admin ansible_ssh_private_key_file=id_web
[web:vars]
tier=web
http_port=80
[db]
db01 ansible_host=127.0.0.3 tags="['a', 'b']" settings="{'k': 'v'}" ok=True
[prod:children]
web
db
[all:vars]
dc=eu-1
"""


def ansible_inventory(groups: str, probes: str = "", defaults: str = "") -> str:
    base = "probes:\n  ssh: {type: ssh, command: 'true'}\n"
    base += "  http: {type: http, url: 'http://{address}:{http_port}/'}\n"
    return "sources:\n  - ansible: hosts.ini\n" + defaults + base + probes + "groups:\n" + groups


@pytest.fixture
def keyed(tree: Callable[..., Path]) -> Callable[..., Path]:
    """The INI beside an inventory, with the key file it names (relative to the current directory, as
    Ansible reads ansible_ssh_private_key_file: the tests run in tmp_path)."""

    def write(text: str) -> Path:
        root = tree({"hosts.ini": INI, "inv.yaml": text, "id_web": "key\n", "id_probe": "key\n"})
        return root / "inv.yaml"

    return write


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


class TestAddressesAndSSHSettings:
    def test_ansible_host_port_user_key(
        self, cli: Callable[..., Outcome], keyed: Callable[..., Path]
    ) -> None:
        """ansible_host is the address; ansible_port, ansible_user and the key file are the ssh probe's
        when the file sets none; a host without them keeps the probe kind's defaults."""
        records = by_host(plan_records(cli("plan", keyed(ansible_inventory("  prod: {probes: [ssh]}\n")))))
        assert records["web02"]["address"] == "127.0.0.2"
        assert (records["web02"]["params"]["port"], records["web02"]["params"]["user"]) == (
            2222,
            "ansible_admin",
        )
        assert records["web02"]["params"]["key"] == "id_web"
        assert (records["web01"]["params"]["port"], records["web01"]["params"]["user"]) == (22, None)
        assert records["db01"]["address"] == "127.0.0.3" and records["db01"]["group"] == "prod"

    @pytest.mark.parametrize(
        ("where", "text"),
        [
            (
                "probe",
                "probes:\n  s2: {type: ssh, command: 'true', port: 22, user: probe_user, key: id_probe}\n",
            ),
            (
                "group",
                "  prod: {probes: [s2], overrides: {s2: {port: 22, user: probe_user, key: id_probe}}}\n",
            ),
            (
                "host",
                "  prod:\n    probes: [s2]\n    hosts:\n"
                "      web02: {overrides: {s2: {port: 22, user: probe_user, key: id_probe}}}\n",
            ),
        ],
    )
    def test_the_file_wins_over_ansible(
        self, cli: Callable[..., Outcome], keyed: Callable[..., Path], where: str, text: str
    ) -> None:
        """Port, user and key set by the probe, the group's override or the host's override win over
        ansible_port, ansible_user and ansible_ssh_private_key_file."""
        probe = "  s2: {type: ssh, command: 'true'}\n" if where != "probe" else text.split("\n", 1)[1]
        groups = text if where != "probe" else "  prod: {probes: [s2]}\n"
        records = by_host(plan_records(cli("plan", keyed(ansible_inventory(groups, probe)))), "s2")
        params = records["web02"]["params"]
        assert (params["port"], params["user"], params["key"]) == (22, "probe_user", "id_probe")
        assert records["web02"]["address"] == "127.0.0.2"

    def test_missing_key_file_only_matters_to_ssh(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path]
    ) -> None:
        """An Ansible key file that cannot be read fails an ssh probe's plan at the source's line (for
        the hosts it names), and is no concern of an http probe."""
        root = tree({"hosts.ini": INI, "inv.yaml": ansible_inventory("  prod: {probes: [ssh]}\n")})
        lines = errors(cli("validate", root / "inv.yaml"))
        assert lines == [
            f"{root / 'inv.yaml'}:2: sources[0].ansible.ansible_ssh_private_key_file: cannot read id_web: "
            "No such file or directory (for host web02)"
        ]
        http = ansible_inventory("  web: {probes: [http]}\n")
        assert cli("validate", tree({"inv.yaml": http}) / "inv.yaml").code == 0

    def test_bad_ansible_host(self, cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
        """An ansible_host prober cannot use (octal-looking IPv4) is refused at its INI line."""
        root = tree(
            {
                "hosts.ini": "[web]\nw1 ansible_host=10.0.0.010\n",
                "inv.yaml": ansible_inventory("  web: {probes: [ssh]}\n"),
            }
        )
        lines = errors(cli("validate", root / "inv.yaml"))
        assert lines[0].startswith(f"{root / 'inv.yaml'}:2: sources[0].ansible: cannot read")
        assert lines[1].startswith(
            f"{root / 'hosts.ini'}:2: ansible_host: host 'w1': '10.0.0.010' is not a canonical"
        )


class TestVars:
    def test_precedence(self, cli: Callable[..., Outcome], keyed: Callable[..., Path]) -> None:
        """defaults.vars < Ansible's vars (its own precedence inside) < the group's vars < the host's."""
        probes = "  show: {type: ssh, command: 'echo {dc} {tier} {http_port} {x}'}\n"
        groups = "  web:\n    probes: [show]\n    vars: {tier: file-group}\n"
        groups += "    hosts:\n      web02: {vars: {http_port: 9}}\n"
        defaults = "defaults: {vars: {dc: default, tier: default, x: default-x}}\n"
        records = by_host(
            plan_records(cli("plan", keyed(ansible_inventory(groups, probes, defaults)))), "show"
        )
        assert records["web01"]["params"]["command"] == "echo eu-1 file-group 8080 default-x"
        assert records["web02"]["params"]["command"] == "echo eu-1 file-group 9 default-x"
        assert records["web02"]["address"] == "127.0.0.2"  # refined, not replaced

    def test_a_refining_host_may_change_the_address(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path]
    ) -> None:
        groups = "  web:\n    probes: [http]\n    hosts:\n"
        groups += "      web01: {address: 127.0.0.50}\n      extra: {vars: {http_port: 1}}\n"
        root = tree({"hosts.ini": INI, "inv.yaml": ansible_inventory(groups)})
        records = by_host(plan_records(cli("plan", root / "inv.yaml")))
        assert [r["host"] for r in records.values()] == ["web01", "web02", "extra"]
        assert records["web01"]["params"]["url"] == "http://127.0.0.50:8080/"

    def test_a_range_refines_the_source_hosts_it_names(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path]
    ) -> None:
        """A range of the file's own refines each source host it names (its vars win) and adds the rest."""
        groups = "  web:\n    probes: [http]\n    hosts:\n      'web0[1:3]': {vars: {http_port: 7}}\n"
        root = tree({"hosts.ini": INI, "inv.yaml": ansible_inventory(groups)})
        records = by_host(plan_records(cli("plan", root / "inv.yaml")))
        assert {host: r["params"]["url"] for host, r in records.items()} == {
            "web01": "http://127.0.0.1:7/",
            "web02": "http://127.0.0.2:7/",
            "web03": "http://web03:7/",
        }

    @pytest.mark.parametrize(
        ("var", "what"),
        [("tags", "a list"), ("settings", "a mapping"), ("ok", "true (a boolean or null)")],
    )
    def test_non_scalar_var_in_a_template(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path], var: str, what: str
    ) -> None:
        """A list, mapping or boolean in a template is refused with the var, the host and the line."""
        probes = f"  t: {{type: http, url: 'http://{{address}}/?v={{{var}}}'}}\n"
        root = tree({"hosts.ini": INI, "inv.yaml": ansible_inventory("  db: {probes: [t]}\n", probes)})
        assert errors(cli("validate", root / "inv.yaml")) == [
            f"{root / 'inv.yaml'}:6: probes.t.url: var {{{var}}} is {what}: only text and numbers go into a "
            "template (for host db01)"
        ]

    def test_labels_of_ansible_vars(self, cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
        """Ansible vars listed under `labels:` are in records as text; lists and mappings as JSON."""
        groups = "  db: {probes: [ssh], labels: [dc, tags, settings, ok]}\n"
        root = tree({"hosts.ini": INI, "inv.yaml": ansible_inventory(groups)})
        (record,) = plan_records(cli("plan", root / "inv.yaml"))
        assert record["labels"] == {
            "dc": "eu-1",
            "tags": '["a", "b"]',
            "settings": '{"k": "v"}',
            "ok": "true",
        }


class TestPaths:
    def test_relative_to_the_inventory_file(self, tree: Callable[..., Path]) -> None:
        """A relative source path is read from the inventory file's directory, wherever prober runs."""
        root = tree({"conf/hosts.ini": INI, "conf/inv.yaml": ansible_inventory("  web: {probes: [http]}\n")})
        done = subprocess.run(
            [sys.executable, "-m", "prober", "validate", str(root / "conf" / "inv.yaml")],
            capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "2 hosts, 2 planned probes" in done.stderr

    def test_standard_input_reads_from_the_current_directory(self, tree: Callable[..., Path]) -> None:
        root = tree({"hosts.ini": INI})
        done = subprocess.run(
            [sys.executable, "-m", "prober", "validate", "-"],
            input=ansible_inventory("  web: {probes: [http]}\n"),
            capture_output=True, text=True, env=cli_env(), cwd=root, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


class TestFailingSources:
    """Each failure: exit 3, the source's entry named at its line, then the reader's own problems."""

    def check(self, cli: Callable[..., Outcome], root: Path, detail: str) -> None:
        for command in ("validate", "plan", "sweep"):
            lines = errors(cli(command, root / "inv.yaml"))
            assert lines[0].startswith(f"{root / 'inv.yaml'}:2: sources[0].ansible: cannot read "), lines
            assert lines[0].endswith("(nothing is probed); why:")
            assert any(detail in line for line in lines[1:]), lines

    def test_missing_file(self, cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
        self.check(
            cli,
            tree({"inv.yaml": ansible_inventory("  web: {probes: [http]}\n")}),
            "no such file or directory",
        )

    def test_vault_encrypted_value(self, cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
        vaulted = "all:\n  hosts:\n    web01:\n      password: !vault |\n"
        vaulted += "        $ANSIBLE_VAULT;1.1;AES256\n        6162\n"
        root = tree(
            {
                "hosts.ini": "",
                "hosts.yml": vaulted,
                "inv.yaml": ansible_inventory("  all: {probes: [ssh]}\n").replace("hosts.ini", "hosts.yml"),
            }
        )
        self.check(cli, root, "vault")

    def test_script_exiting_non_zero(self, cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
        script = "#!/bin/sh\necho 'cannot reach the CMDB' >&2\nexit 4\n"
        text = ansible_inventory("  web: {probes: [http]}\n").replace("hosts.ini", "inventory.sh")
        self.check(
            cli,
            tree({"inventory.sh": script, "inv.yaml": text}, executable=("inventory.sh",)),
            "cannot reach the CMDB",
        )

    def test_script_past_its_timeout(self, cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
        script = "#!/bin/sh\nsleep 30\n"
        text = ansible_inventory("  web: {probes: [http]}\n").replace(
            "hosts.ini", "inventory.sh\n    timeout: 300ms"
        )
        root = tree({"inventory.sh": script, "inv.yaml": text}, executable=("inventory.sh",))
        lines = errors(cli("validate", root / "inv.yaml"))
        assert "0.3" in " ".join(lines) and "inventory.sh" in lines[1], lines

    def test_a_working_script(self, cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
        """An executable dynamic inventory is run (--list) and its hosts planned."""
        listing = {
            "web": {"hosts": ["s1"]},
            "_meta": {"hostvars": {"s1": {"ansible_host": "127.0.0.4", "http_port": 81}}},
        }
        script = f"#!/bin/sh\necho '{json.dumps(listing)}'\n"
        text = ansible_inventory("  web: {probes: [http]}\n").replace("hosts.ini", "inventory.sh")
        root = tree({"inventory.sh": script, "inv.yaml": text}, executable=("inventory.sh",))
        (record,) = plan_records(cli("plan", root / "inv.yaml"))
        assert (record["host"], record["params"]["url"]) == ("s1", "http://127.0.0.4:81/")


def test_nothing_probed_when_a_source_fails(tree: Callable[..., Path]) -> None:
    """A sweep whose second source fails probes none of the first's hosts (a listener counts connections)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    text = "sources:\n  - ansible: hosts.ini\n  - ansible: missing.ini\n"
    text += f"probes: {{t: {{type: tcp, port: {port}}}}}\ngroups:\n  web: {{probes: [t]}}\n"
    root = tree({"hosts.ini": "[web]\nw1 ansible_host=127.0.0.1\n", "inv.yaml": text})
    done = subprocess.run(
        [sys.executable, "-m", "prober", "sweep", str(root / "inv.yaml")],
        capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3 and done.stdout == ""
    assert "sources[1].ansible: cannot read" in done.stderr
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()
    alone = subprocess.run(  # the same inventory without the failing source plans w1
        [sys.executable, "-m", "prober", "validate", "-"],
        input=text.replace("  - ansible: missing.ini\n", ""),
        capture_output=True, text=True, env=cli_env(), cwd=root, timeout=120,
    )  # fmt: skip
    assert alone.returncode == 0 and "1 hosts, 1 planned probes" in alone.stderr, alone.stderr


def test_what_ansible_skips_is_said(cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
    """What Ansible warns about and skips (an unknown key in a YAML group) is skipped too, and said on
    stderr with its file:line; the inventory is still good."""
    inventory = "all:\n  hosts:\n    w1: {ansible_host: 127.0.0.1, http_port: 80}\n  colour: red\n"
    text = ansible_inventory("  all: {probes: [http]}\n").replace("hosts.ini", "hosts.yml")
    root = tree({"hosts.yml": inventory, "inv.yaml": text})
    outcome = cli("validate", root / "inv.yaml")
    assert outcome.code == 0, outcome.err
    assert "ansible source: skipped as Ansible skips it" in outcome.err
    assert f"{root / 'hosts.yml'}:4: all.colour: unexpected key 'colour'" in outcome.err
