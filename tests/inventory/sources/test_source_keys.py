"""`sources:` entries and groups that name source groups: every mistake is file:line: key: message, exit 3."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.inventory.conftest import Outcome
from tests.inventory.sources.conftest import errors

INI = "[web]\nweb01 ansible_host=127.0.0.1\n[db]\ndb01\n"
SD = '[{"targets": ["127.0.0.9:9100"], "labels": {"job": "node"}}]\n'
HEAD = "sources: [{ansible: hosts.ini}]\nprobes: {p: {type: tcp, port: 1}}\ngroups:\n"
PROBES = "probes: {p: {type: tcp, port: 1}}\ngroups: {web: {probes: [p]}}\n"


def inventory(sources: str) -> str:
    return "sources:\n" + sources + PROBES


H = "  - http_sd: http://127.0.0.1/sd\n    group: g\n"
HS = H.replace("http:", "https:")
# (the `sources:` text, the line, key and message expected); the inventory's line 1 is `sources:`.
CASES = [
    ("  - ansible: hosts.ini\n    group: web\n", "3", "sources[0].group",
     "unknown key (expected one of: ansible, timeout)"),
    ("  - file_sd: sd.json\n", "2", "sources[0].file_sd",
     "give group_label (the label naming each target's group) or group"),
    ("  - file_sd: sd.json\n    group_lable: job\n", "3", "sources[0].group_lable",
     "unknown key (did you mean 'group_label'?)"),
    ("  - file_sd: sd.json\n    group_label: 9job\n", "3", "sources[0].file_sd.group_label",
     "expected a label name"),
    ("  - file_sd: sd.json\n    group: 'a b'\n", "3", "sources[0].file_sd.group", "group names use letters"),
    ("  - file_sd: [sd.json, 3]\n    group: g\n", "2", "sources[0].file_sd",
     "expected a glob or a list of them, got a list"),
    ("  - ansible: {path: x}\n", "2", "sources[0].ansible",
     "expected a path or a list of them, got a mapping"),
    ("  - ansible: hosts.ini\n    timeout: soon\n", "3", "sources[0].ansible.timeout", "expected a duration"),
    ("  - http_sd: ftp://127.0.0.1/sd\n    group: g\n", "2", "sources[0].http_sd",
     "URL must start with http:// or https://"),
    (H + "    token_env: TOKEN\n", "4", "sources[0].http_sd.token_env",
     "a token is only sent over https"),
    (HS + "    token_env: 'A-B'\n", "4", "sources[0].http_sd.token_env",
     "expected an environment variable name"),
    (HS.replace("//", "//u:p@") + "    token_env: T\n", "4", "sources[0].http_sd.token_env",
     "the URL has user:password@ already: give one way to authenticate"),
    (HS + "    retries: 11\n", "4", "sources[0].http_sd.retries",
     "must be between 0 and 10, got 11"),
    (HS + "    ca_file: nosuch.pem\n", "4", "sources[0].http_sd.ca_file",
     "cannot read"),
    (HS + "    tiemout: 1s\n", "4", "sources[0].tiemout",
     "unknown key (did you mean 'timeout'?)"),
    ("  - ansible: hosts.ini\n    file_sd: sd.json\n", "2", "sources[0]",
     "exactly one of ansible, file_sd or http_sd, got both ansible and file_sd"),
    ("  - consul: x\n", "2", "sources[0].consul", "unknown key (expected one of: ansible, file_sd, http_sd)"),
    ("  - hosts.ini\n", "2", "sources[0]", "expected a mapping, got a string ('hosts.ini')"),
    ("  []\n", "1", "sources", "expected a list of sources (ansible, file_sd, http_sd), got an empty list"),
]  # fmt: skip


class TestSourceEntries:
    @pytest.mark.parametrize(("sources", "line", "key", "message"), CASES)
    def test_bad_entry(
        self,
        cli: Callable[..., Outcome],
        tree: Callable[..., Path],
        sources: str,
        line: str,
        key: str,
        message: str,
    ) -> None:
        """A wrong entry is reported at its line with its key path, for validate, plan and sweep alike."""
        root = tree({"inv.yaml": inventory(sources), "hosts.ini": INI, "sd.json": SD})
        for command in ("validate", "plan", "sweep"):
            lines = errors(cli(command, root / "inv.yaml"))
            wanted = f"{root / 'inv.yaml'}:{line}: {key}: "
            assert any(x.startswith(wanted) and message in x for x in lines), (command, lines)

    def test_every_problem_at_once(self, cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
        """Wrong entries, a probe problem and a group naming nothing are all reported in one run."""
        text = """
            sources:
              - ansible: hosts.ini
                group: web
              - file_sd: sd.json
            probes: {p: {type: tcp, port: 0}}
            groups: {web: {probes: [p]}}
            """
        root = tree({"inv.yaml": text, "hosts.ini": INI, "sd.json": SD})
        keys = [line.split(": ")[1] for line in errors(cli("validate", root / "inv.yaml"))]
        assert keys == ["sources[0].group", "sources[1].file_sd", "probes.p.port"]


class TestGroupsNamingSources:
    def test_a_group_neither_listed_nor_known(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path]
    ) -> None:
        """A group without hosts whose name no source knows is an error at its line, with the near miss."""
        text = f"{HEAD}  wbe: {{probes: [p]}}\n"
        root = tree({"inv.yaml": text, "hosts.ini": INI})
        assert errors(cli("validate", root / "inv.yaml")) == [
            f"{root / 'inv.yaml'}:4: groups.wbe.hosts: no hosts, and no source has a group 'wbe' "
            "(source groups: all, db, ungrouped, web)"
        ]

    def test_near_miss_suggested(self, cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
        text = f"{HEAD}  webb: {{probes: [p]}}\n"
        root = tree({"inv.yaml": text, "hosts.ini": INI})
        (line,) = errors(cli("validate", root / "inv.yaml"))
        assert line.endswith("no hosts, and no source has a group 'webb' (did you mean 'web'?)")

    def test_without_sources_a_group_needs_hosts(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        path = inventory_file("probes: {p: {type: tcp, port: 1}}\ngroups:\n  web: {probes: [p]}\n")
        (line,) = errors(cli("validate", path))
        assert (
            line
            == f"{path}:3: groups.web.hosts: a group needs 'hosts' (or a source group of its name: sources:)"
        )

    def test_a_group_with_own_hosts_needs_no_source_group(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path]
    ) -> None:
        """A group that lists hosts is fine whether or not a source knows its name."""
        text = HEAD + "  web: {probes: [p]}\n  extra: {probes: [p], hosts: [127.0.0.7]}\n"
        root = tree({"inv.yaml": text, "hosts.ini": INI})
        outcome = cli("validate", root / "inv.yaml")
        assert outcome.code == 0, outcome.err
        assert "2 groups, 1 probes, 2 hosts, 2 planned probes; the sources know 4 groups" in outcome.err

    def test_unknown_names_not_reported_when_a_source_failed(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path]
    ) -> None:
        """When a source cannot be read, a group it might have listed is not called unknown: the source's
        failure is the one problem."""
        text = HEAD.replace("hosts.ini", "missing.ini") + "  web: {probes: [p]}\n"
        root = tree({"inv.yaml": text})
        lines = errors(cli("validate", root / "inv.yaml"))
        assert lines == [
            f"{root / 'inv.yaml'}:1: sources[0].ansible: cannot read {root / 'missing.ini'} "
            "(nothing is probed); why:",
            f"{root / 'missing.ini'}: no such file or directory",
        ]
