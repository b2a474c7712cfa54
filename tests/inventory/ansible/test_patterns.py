"""Host patterns (--limit) against ansible-core: the same hosts, in the same order, or the same refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prober.inventory.sources.ansible import PatternError, load_ansible, select_hosts, split_patterns
from tests.inventory.ansible.oracle import FIXTURES, Oracle

INVENTORIES = ["ini_basic/hosts.ini", "yaml_nested/inventory.yml", "dir_mixed", "precedence/hosts"]
# (pattern, limit): unions, intersections, exclusions, regexes, globs, subscripts, built-in groups, IPv6
# names, ':' and ',' separators, and patterns that match nothing or are invalid.
PATTERNS: list[tuple[str, str | None]] = [
    ("all", None), ("*", None), ("ungrouped", None), ("all:!ungrouped", None),
    ("web:&prod:!web9", None), ("web,db", None), ("web:db", None), ("!web", None), ("&prod", None),
    ("~web0[15]", None), ("~(par|ber)-web", None), ("~[", None), ("web*", None), ("*.example.com", None),
    ("10.0.*", None), ("web-[a:b]", None), ("2001:db8::1", None), ("[2001:db8::1]", None),
    ("prod[0:2]", None), ("prod[1]", None), ("prod[-1]", None), ("web[2:]", None), ("web[2:0]", None),
    ("web[1-2]", None), ("web[99]", None), ("cache[1]", None), ("paris[0]:ber*", None),
    ("web:&*0[12]*", None), ("prod:&web[0:1]", None), ("europe:&webservers", None), ("europe:!paris", None),
    ("top", None), ("mid_*", None), ("leaf,sibling_hi", None), ("h_*:!h_sib", None), ("nonexistent", None),
    ("all", "web:!web9"), ("prod", "db*"), ("all", "nothing"), ("web,db", "~.*1$"), ("*", "europe[1:]"),
]  # fmt: skip


@pytest.fixture(scope="module")
def answers(oracle: Oracle) -> dict[str, list[Any]]:
    jobs = [{"sources": [str(FIXTURES / rel)], "patterns": PATTERNS} for rel in INVENTORIES]
    return {rel: answer["hosts"] for rel, answer in zip(INVENTORIES, oracle.batch(jobs), strict=True)}


def mine(rel: str, pattern: str, limit: str | None) -> Any:
    try:
        return list(select_hosts(load_ansible(str(FIXTURES / rel)), pattern, limit))
    except PatternError as exc:
        return {"error": str(exc)}


class TestSameHostsAsAnsible:
    @pytest.mark.parametrize("rel", INVENTORIES)
    def test_every_pattern(self, rel: str, answers: dict[str, list[Any]]) -> None:
        """Each pattern selects ansible's hosts in ansible's order, or both refuse it."""
        for (pattern, limit), theirs in zip(PATTERNS, answers[rel], strict=True):
            got = mine(rel, pattern, limit)
            if isinstance(theirs, dict):
                assert isinstance(got, dict), (pattern, limit, got, theirs)
            else:
                assert got == theirs, (pattern, limit)

    @pytest.mark.parametrize(
        ("pattern", "limit"), [("web:&prod:!web9", None), ("~web0[15]", None), ("prod[1:]", "!db*")]
    )
    def test_the_ansible_command_agrees(self, oracle: Oracle, pattern: str, limit: str | None) -> None:
        """`ansible PATTERN --limit L --list-hosts` lists what select_hosts returns."""
        source = str(FIXTURES / "ini_basic/hosts.ini")
        theirs = oracle.list_hosts(source, pattern, limit)
        assert theirs and list(select_hosts(load_ansible(source), pattern, limit)) == theirs

    def test_localhost_is_never_implicit(self, answers: dict[str, list[Any]]) -> None:
        """Unlike Ansible, `localhost` selects nothing unless the inventory has such a host: prober must
        not probe a host the inventory does not list."""
        inventory = load_ansible(str(FIXTURES / "ini_basic/hosts.ini"))
        assert select_hosts(inventory, "localhost") == ()
        assert select_hosts(inventory, "localhost,web9") == ("web9",)


class TestPatternRules:
    def test_split(self) -> None:
        assert split_patterns("a,b[1], c[2:3] , d") == ["a", "b[1]", "c[2:3]", "d"]
        assert split_patterns("web:&prod:!web03") == ["web", "&prod", "!web03"]
        assert split_patterns("fe80::1") == ["fe80::1"]  # an IPv6 address is one pattern
        assert split_patterns("web[1:3]") == ["web[1:3]"]  # so is a range
        assert split_patterns(["a:b", "c"]) == ["a", "b", "c"]

    def test_exclusions_and_intersections_apply_after_unions(self) -> None:
        inventory = load_ansible(str(FIXTURES / "ini_basic/hosts.ini"))
        assert select_hosts(inventory, "!web9:web") == select_hosts(inventory, "web:!web9")
        assert "web9" not in select_hosts(inventory, "!web9:web")
        everything_but_web = set(inventory.hosts) - set(inventory.groups["web"].hosts)
        assert set(select_hosts(inventory, "!web")) == everything_but_web  # alone, '!' starts from all

    def test_bad_patterns_are_pattern_errors(self) -> None:
        inventory = load_ansible(str(FIXTURES / "ini_basic/hosts.ini"))
        with pytest.raises(PatternError, match="invalid host pattern"):
            select_hosts(inventory, "~(unclosed")
        with pytest.raises(PatternError, match="past the end"):
            select_hosts(inventory, "web[50]")

    def test_limit_from_a_file(self, tmp_path: Path) -> None:
        """--limit @FILE reads one pattern a line, as ansible's --limit does."""
        inventory = load_ansible(str(FIXTURES / "ini_basic/hosts.ini"))
        limit = tmp_path / "retry"
        limit.write_text("web9\nlb1\n\n")
        assert select_hosts(inventory, "all", f"@{limit}") == ("web9", "lb1")
        with pytest.raises(PatternError, match="cannot read"):
            select_hosts(inventory, "all", f"@{tmp_path / 'missing'}")
        with pytest.raises(PatternError, match="is a directory"):
            select_hosts(inventory, "all", f"@{tmp_path}")
