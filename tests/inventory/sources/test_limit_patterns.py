"""--limit takes Ansible host patterns over the inventory's groups, the sources' groups and the hosts;
a chosen host gets every probe the inventory plans for it. Bad patterns are exit 3."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.inventory.conftest import Outcome
from tests.inventory.sources.conftest import errors, plan_records

FLEET = """
probes: {a: {type: tcp, port: 1}, b: {type: tcp, port: 2}}
groups:
  web: {probes: [a], hosts: [web01, web02, web03]}
  prod: {probes: [a], hosts: [web01, web02, db01]}
  db: {probes: [b], hosts: [db01]}
  cache: {probes: [a], hosts: [redis1]}
"""
INI = "[web]\nw1 ansible_host=127.0.0.1\nw2 ansible_host=127.0.0.2\n[db]\nd1\n"
INI += "[prod:children]\nweb\ndb\n[stage]\ns1\n"
SOURCED = """
sources: [{ansible: hosts.ini}]
probes: {a: {type: tcp, port: 1}}
groups:
  web: {probes: [a]}
  db: {probes: [a]}
  stage: {probes: [a]}
"""


def hosts(outcome: Outcome) -> list[str]:
    return list(dict.fromkeys(record["host"] for record in plan_records(outcome)))


class TestPatterns:
    @pytest.mark.parametrize(
        ("limit", "chosen"),
        [
            ("web:&prod:!web02", ["web01"]),
            ("web,db", ["web01", "web02", "web03", "db01"]),
            ("~web0[13]", ["web01", "web03"]),
            ("!web", ["db01", "redis1"]),  # `all` is every planned host, though no group is named all
            ("all:!prod", ["web03", "redis1"]),
            ("web[0]", ["web01"]),
            ("web[1:]", ["web02", "web03"]),
            ("*1", ["web01", "db01", "redis1"]),
            ("prod:&db", ["db01"]),
        ],
    )
    def test_ansible_patterns(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], limit: str, chosen: list[str]
    ) -> None:
        assert hosts(cli("plan", inventory_file(FLEET), "--limit", limit)) == chosen

    def test_a_chosen_host_gets_all_its_probes(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """db01 is in prod (probe a) and db (probe b): --limit db plans both of its probes."""
        records = plan_records(cli("plan", inventory_file(FLEET), "--limit", "db"))
        assert [(r["host"], r["group"], r["probe"]) for r in records] == [
            ("db01", "prod", "a"),
            ("db01", "db", "b"),
        ]

    def test_limit_file(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], tmp_path: Path
    ) -> None:
        """@FILE reads one pattern a line, as Ansible's --limit does."""
        listed = tmp_path / "retry.txt"
        listed.write_text("web02\nredis1\n")
        assert hosts(cli("plan", inventory_file(FLEET), "--limit", f"@{listed}")) == ["web02", "redis1"]

    def test_source_groups_not_under_groups(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path]
    ) -> None:
        """An Ansible group that no group of the file names (prod: web and db's parent) still selects."""
        root = tree({"hosts.ini": INI, "inv.yaml": SOURCED})
        assert hosts(cli("plan", root / "inv.yaml", "--limit", "prod:!w2")) == ["w1", "d1"]
        assert hosts(cli("plan", root / "inv.yaml", "--limit", "ungrouped,stage")) == ["s1"]


class TestRefused:
    @pytest.mark.parametrize(
        ("limit", "message"),
        [
            ("~(web", "--limit: invalid host pattern '~(web'"),
            ("web[7]", "--limit: no host matched the subscripted pattern 'web[7]': index 7 is past the end"),
            ("@/nonexistent/file", "--limit: limit '@/nonexistent/file': cannot read /nonexistent/file"),
            ("nosuch:&web", "--limit: 'nosuch:&web' matches no group or host (groups: cache, db, prod, web)"),
        ],
    )
    def test_bad_limits(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], limit: str, message: str
    ) -> None:
        path = inventory_file(FLEET)
        for command in ("plan", "validate", "sweep"):
            (line,) = errors(cli(command, path, "--limit", limit))
            assert line.startswith(f"{path}: {message}"), (command, line)

    def test_watch_refuses_before_listening(self, inventory_file: Callable[..., Path]) -> None:
        path = inventory_file(FLEET)
        done = run_cli("watch", str(path), "--listen", "127.0.0.1:0", "--limit", "web:&db", timeout=60)
        assert done.returncode == 3, done.stderr
        assert "--limit: 'web:&db' matches no group or host" in done.stderr
        assert "watch listening" not in done.stderr
