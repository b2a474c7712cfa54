"""Bad Ansible inventories: an InventoryError naming file:line and what is wrong, never a traceback or a
silently partial inventory; secrets never in the message."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from prober.errors import InventoryError, Problem
from prober.inventory.sources.ansible import load_ansible
from tests.inventory.ansible.conftest import write
from tests.inventory.ansible.oracle import Oracle


def problems(source: Path | list[Path], **kwargs: float) -> list[Problem]:
    with pytest.raises(InventoryError) as caught:
        load_ansible([str(p) for p in source] if isinstance(source, list) else str(source), **kwargs)
    assert caught.value.problems
    return caught.value.problems


def one(source: Path, **kwargs: float) -> Problem:
    found = problems(source, **kwargs)
    assert len(found) == 1, found
    return found[0]


# file name → (text, line, words the message must contain); every one of these ansible refuses too.
BAD_FILES = {
    "undefined_child.ini": ("[web]\nh1\n[prod:children]\nweb\nmissing\n", 5, "'missing' is never declared"),
    "vars_undefined.ini": ("[web]\nh1\n[nope:vars]\nx=1\n", 3, "[nope:vars]"),
    "unknown_section.ini": ("[web]\nh1\n[web:hostz]\nh2\n", 3, "unknown type 'hostz'"),
    "spaced_section.ini": ("[web]\nh1\n[web servers]\n", 3, "invalid section header"),
    "bad_range.ini": ("[web]\nweb[1:x]\n", 2, "bad range [1:x]"),
    "padded_range.ini": ("[web]\nweb[01:100]\n", 2, "same width"),
    "alpha_backwards.ini": ("[web]\nweb[c:a]\n", 2, "start comes after the end"),
    "colon_end.ini": ("[web]\nweb1:\n", 2, "ends in ':'"),
    "unclosed_quote.ini": ('[web]\nh1 note="hello\n', 2, "No closing quotation"),
    "not_key_value.ini": ("[web]\nh1 a=1 stray\n", 2, "word 3 of the host line is not key=value"),
    "vars_not_kv.ini": ("[web]\nh1\n[web:vars]\nlonely\n", 4, "expected key=value"),
    "loop.ini": ("[a:children]\nb\n[b:children]\na\n", 4, "dependency loop"),
    "self_child.ini": ("[a:children]\na\n", 2, "child of itself"),
    "bad_priority.ini": ("[web]\nh1\n[web:vars]\nansible_group_priority=high\n", 4, "must be an integer"),
    "yaml_marker.ini": ("---\n", 1, "YAML"),
    "literal_crash.ini": ('[web]\nh1 x="{[1]: 2}"\n', 2, "Python literal Ansible cannot read"),
    "syntax.yml": ("all:\n  hosts:\n    h1: {a: [1, 2}\n", 3, "flow sequence"),
    "hosts_list.yml": ("all:\n  hosts:\n    - h1\n", 2, "'hosts' of group 'all' must be a mapping"),
    "host_vars_list.yml": ("all:\n  hosts:\n    h1: [1, 2]\n", 3, "the vars of host 'h1' must be a mapping"),
    "int_host.yml": ("all:\n  hosts:\n    1234:\n", 3, "must be a string"),
    "int_group.yml": ("all:\n  children:\n    123:\n", 3, "a group name must be a string"),
    "not_mapping.yml": ("- all\n- web\n", 1, "must be a mapping of groups"),
    "plugin.yml": (
        "plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n",
        1,
        "inventory plugin 'amazon.aws.aws_ec2'",
    ),
    "yaml_range.yml": ("all:\n  hosts:\n    web[1:2:0]:\n", 3, "bad range"),
}


class TestBadFiles:
    @pytest.mark.parametrize("name", BAD_FILES)
    def test_file_line_and_what(self, name: str, tmp_path: Path) -> None:
        text, line, words = BAD_FILES[name]
        problem = one(write(tmp_path, {name: text}) / name)
        assert (problem.file, problem.line) == (str(tmp_path / name), line)
        assert words in problem.message

    def test_ansible_refuses_them_too(self, tmp_path: Path, oracle: Oracle) -> None:
        """Each bad file is bad for ansible as well (with every unparsable source an error)."""
        write(tmp_path, {name: text for name, (text, _, _) in BAD_FILES.items()})
        answers = oracle.batch([{"sources": [str(tmp_path / name)], "list": True} for name in BAD_FILES])
        accepted = [name for name, answer in zip(BAD_FILES, answers, strict=True) if "error" not in answer]
        assert accepted == []

    def test_missing_file_and_empty_directory(self, tmp_path: Path) -> None:
        assert one(tmp_path / "nope.ini").message == "no such file or directory"
        write(tmp_path, {"inv/group_vars/all.yml": "x: 1\n", "inv/README.md": "# notes\n"})
        assert "no inventory file" in one(tmp_path / "inv").message

    def test_one_bad_file_in_a_directory_fails_the_directory(self, tmp_path: Path) -> None:
        """Ansible skips an unparsable file with a warning; prober refuses, not probing part of a fleet."""
        write(tmp_path, {"inv/a.ini": "[web]\nh1\n", "inv/b.ini": "[db]\nh2 oops\n"})
        problem = one(tmp_path / "inv")
        assert (problem.file, problem.line) == (str(tmp_path / "inv/b.ini"), 2)

    def test_a_symlink_loop_in_a_directory(self, tmp_path: Path) -> None:
        write(tmp_path, {"inv/hosts.ini": "[web]\nh1\n"})
        (tmp_path / "inv/again").symlink_to(tmp_path / "inv")
        problem = one(tmp_path / "inv")
        assert problem.file == str(tmp_path / "inv/again") and "symlink loop" in problem.message

    def test_a_directory_linked_twice_is_read_twice(self, tmp_path: Path) -> None:
        """Not a loop: as Ansible, both links are read (the same hosts twice change nothing)."""
        write(tmp_path, {"shared/hosts.ini": "[web]\nh1\n", "inv/local.ini": "[db]\nh2\n"})
        (tmp_path / "inv/a").symlink_to(tmp_path / "shared")
        (tmp_path / "inv/b").symlink_to(tmp_path / "shared")
        assert list(load_ansible(str(tmp_path / "inv")).hosts) == ["h1", "h2"]

    def test_a_file_that_is_not_utf8(self, tmp_path: Path) -> None:
        path = tmp_path / "hosts.ini"
        path.write_bytes(b"# caf\xe9 is fine in a comment\n[web]\nh\xe91\n")
        problem = one(path)
        assert problem.line == 3 and "not UTF-8" in problem.message

    def test_unknown_yaml_keys_are_warnings(self, tmp_path: Path) -> None:
        """Ansible skips them with a warning; prober keeps the warning for its caller to show."""
        path = write(tmp_path, {"inv.yml": "all:\n  host:\n    h1:\n  hosts:\n    h2:\n"}) / "inv.yml"
        inventory = load_ansible(str(path))
        assert list(inventory.hosts) == ["h2"]
        assert [(w.line, "unexpected key 'host'" in w.message) for w in inventory.warnings] == [(2, True)]


class TestVault:
    def test_encrypted_file(self, tmp_path: Path) -> None:
        path = write(tmp_path, {"hosts.yml": "$ANSIBLE_VAULT;1.1;AES256\n6162636465\n"}) / "hosts.yml"
        problem = one(path)
        assert problem.line == 1 and "encrypted with ansible-vault" in problem.message

    def test_encrypted_group_vars_file(self, tmp_path: Path) -> None:
        write(tmp_path, {"hosts.ini": "[web]\nh1\n", "group_vars/web.yml": "$ANSIBLE_VAULT;1.1;AES256\n61\n"})
        problem = one(tmp_path / "hosts.ini")
        assert problem.file == str(tmp_path / "group_vars/web.yml") and problem.line == 1

    def test_vault_tag(self, tmp_path: Path) -> None:
        text = "all:\n  vars:\n    db_password: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162\n"
        problem = one(write(tmp_path, {"hosts.yml": text}) / "hosts.yml")
        assert (problem.line, problem.key) == (3, "all.vars.db_password")
        assert "vault-encrypted value" in problem.message and "6162" not in str(problem)

    def test_vault_tag_in_host_vars(self, tmp_path: Path) -> None:
        text = "user: app\npassword: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n"
        write(tmp_path, {"hosts.ini": "h1\n", "host_vars/h1.yml": text})
        problem = one(tmp_path / "hosts.ini")
        assert (problem.file, problem.line) == (str(tmp_path / "host_vars/h1.yml"), 2)

    def test_vault_value_from_a_script(self, tmp_path: Path) -> None:
        output = (
            '{"web": {"hosts": ["a"], "vars": {"pw": {"__ansible_vault": "x"}}}, "_meta": {"hostvars": {}}}'
        )
        path = write(tmp_path, {"inv.sh": f"#!/bin/sh\necho '{output}'\n"}, executable=("inv.sh",)) / "inv.sh"
        assert "vault-encrypted value" in one(path).message


class TestConnectionSettings:
    def test_bad_port_names_where_it_was_set(self, tmp_path: Path) -> None:
        write(tmp_path, {"hosts.ini": "[web]\nh1\nh2 ansible_port=22\n[web:vars]\nansible_port=http\n"})
        problem = one(tmp_path / "hosts.ini")
        assert (problem.line, problem.key) == (5, "ansible_port")
        assert "host 'h1'" in problem.message and "port number" in problem.message

    def test_bad_value_in_a_group_vars_file(self, tmp_path: Path) -> None:
        write(tmp_path, {"hosts.ini": "[web]\nh1\n", "group_vars/all.yml": "x: 1\nansible_port: 70000\n"})
        problem = one(tmp_path / "hosts.ini")
        assert (problem.file, problem.line) == (str(tmp_path / "group_vars/all.yml"), 2)

    def test_templated_address_is_refused_without_showing_it(self, tmp_path: Path) -> None:
        text = "all:\n  hosts:\n    h1:\n      ansible_host: \"{{ lookup('vault', 'token=abc123') }}\"\n"
        problem = one(write(tmp_path, {"inv.yml": text}) / "inv.yml")
        assert problem.line == 4 and "Jinja2 template" in problem.message and "abc123" not in str(problem)

    def test_every_bad_host_is_listed(self, tmp_path: Path) -> None:
        write(tmp_path, {"hosts.ini": "h1 ansible_port=0\nh2 ansible_user=''\nh3 ansible_host=[1]\n"})
        assert [p.line for p in problems(tmp_path / "hosts.ini")] == [1, 2, 3]


class TestScripts:
    def script(self, tmp_path: Path, body: str) -> Path:
        return write(tmp_path, {"inv.sh": f"#!/bin/sh\n{body}\n"}, executable=("inv.sh",)) / "inv.sh"

    def test_non_zero_exit_names_the_script_and_its_last_error(self, tmp_path: Path) -> None:
        path = self.script(tmp_path, "echo 'GET https://admin:s3cret@cmdb.test/api: 401' >&2\nexit 3")
        problem = one(path)
        assert problem.file == str(path) and "exited with status 3" in problem.message
        assert "cmdb.test" in problem.message and "s3cret" not in problem.message

    def test_bad_json(self, tmp_path: Path) -> None:
        problem = one(self.script(tmp_path, 'echo \'{"web": {"hosts": ["a",]}}\''))
        assert "did not print valid JSON" in problem.message and "column 24" in problem.message

    def test_json_that_is_no_inventory(self, tmp_path: Path) -> None:
        assert "must print a JSON object" in one(self.script(tmp_path, "echo '[1]'")).message
        path = self.script(tmp_path, 'echo \'{"web": {"hosts": "a"}, "_meta": {"hostvars": {}}}\'')
        assert one(path).key == "web.hosts"

    def test_timeout_kills_the_script_and_its_children(self, tmp_path: Path) -> None:
        pid_file = tmp_path / "child.pid"
        path = self.script(tmp_path, f"sleep 60 &\necho $! > {pid_file}\nsleep 60")
        started = time.monotonic()
        problem = one(path, timeout=0.5)
        assert time.monotonic() - started < 10  # 0.5 s plus a loaded machine's start-up; never 60 s
        assert "did not finish within 0.5 s" in problem.message
        assert _gone(int(pid_file.read_text()))

    def test_killed_by_a_signal(self, tmp_path: Path) -> None:
        assert "killed by signal 9" in one(self.script(tmp_path, "kill -9 $$")).message

    def test_an_executable_ini_file_is_read_as_ini(self, tmp_path: Path) -> None:
        """As Ansible: a file with the x bit that is no program falls back to the other readers."""
        path = write(tmp_path, {"hosts": "[web]\nh1\n"}, executable=("hosts",)) / "hosts"
        assert list(load_ansible(str(path)).hosts) == ["h1"]


def _gone(pid: int) -> bool:
    """True once pid has exited (a zombie waiting for init counts as exited), within 5 s."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    os.kill(pid, 9)  # ours (the test's script started it): do not leave it behind
    return False
