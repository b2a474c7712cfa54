"""Generated inventories against ansible-core: random groups, children, hosts, ranges, vars (INI, YAML,
directories with group_vars/ and host_vars/) and random INI-ish text, each read by both and compared."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prober.errors import InventoryError
from prober.inventory.sources.ansible import PatternError, load_ansible, select_hosts
from tests.inventory.ansible.conftest import as_json
from tests.inventory.ansible.generate import INI_LINES, random_ini_text, write_case
from tests.inventory.ansible.oracle import Oracle

STRUCTURED = 120  # ~0.1 s of ansible each on an idle core
FUZZED = 120
PATTERNS = [["all", None], ["web:&prod", None], ["g*:!h1", None], ["db[0:1],app", None], ["~h[0-9]", None]]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory, oracle: Oracle) -> list[tuple[str, str, dict[str, Any]]]:
    """(case id, source, ansible's answer) for every generated inventory, from one ansible process."""
    root = tmp_path_factory.mktemp("generated")
    made = [(f"seed {seed}", str(write_case(seed, root / f"s{seed}"))) for seed in range(STRUCTURED)]
    for seed in range(FUZZED):
        path = root / f"fuzz{seed}.ini"
        path.write_text(random_ini_text(random.Random(seed)))
        made.append((f"fuzz seed {seed}", str(path)))
    answers = oracle.batch([{"sources": [source], "list": True, "patterns": PATTERNS} for _, source in made])
    return [(name, source, answer) for (name, source), answer in zip(made, answers, strict=True)]


def compare(source: str, answer: dict[str, Any]) -> str | None:
    """None if prober reads source as ansible does, else what differs."""
    try:
        inventory = load_ansible(source)
    except InventoryError as exc:
        return None if "error" in answer else f"prober refused what ansible read: {exc}"
    if "error" in answer:
        return f"prober read what ansible refused: {answer['error'][:300]}"
    if as_json(inventory.as_list()) != answer["list"]:
        return "different --list"
    for (pattern, limit), theirs in zip(PATTERNS, answer["hosts"], strict=True):
        try:
            ours: Any = list(select_hosts(inventory, pattern, limit))
        except PatternError:
            ours = "error"
        # Ansible orders the hosts of grandchild groups by set iteration (memory addresses): compare sorted.
        if (ours == "error") != isinstance(theirs, dict) or (
            ours != "error" and sorted(ours) != sorted(theirs)
        ):
            return f"pattern {pattern!r}: {ours} != {theirs}"
    return None


class TestGeneratedAgainstAnsible:
    def test_structured(self, cases: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Random INI, YAML and directory inventories with vars files: same hosts, groups, vars, patterns."""
        failures = [(n, why) for n, s, a in cases if n.startswith("seed") and (why := compare(s, a))]
        assert failures == [], f"rebuild with generate.write_case(seed, dir): {failures[:5]}"

    def test_fuzzed_ini(self, cases: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Random INI-ish lines: prober accepts exactly what ansible accepts, and reads it the same."""
        failures = [(n, why) for n, s, a in cases if n.startswith("fuzz") and (why := compare(s, a))]
        assert failures == [], f"rebuild with generate.random_ini_text(Random(seed)): {failures[:5]}"

    def test_the_generator_covers_what_it_should(self, cases: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Enough accepted and refused cases that the comparisons above mean something."""
        accepted = [a for n, _, a in cases if n.startswith("fuzz") and "error" not in a]
        assert 0.2 * FUZZED < len(accepted) < 0.9 * FUZZED
        structured = [a for n, _, a in cases if n.startswith("seed")]
        assert all("error" not in a for a in structured)
        assert sum(len(a["list"]["_meta"]["hostvars"]) for a in structured) > 5 * STRUCTURED


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.sampled_from(INI_LINES) | st.text(max_size=30), max_size=15))
def test_any_text_is_an_inventory_or_an_inventory_error(tmp_path: Path, lines: list[str]) -> None:
    """Whatever the text, the reader returns an inventory or raises InventoryError with a line; no
    other exception (no traceback for the user)."""
    path = tmp_path / "hosts"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    try:
        load_ansible(str(path))
    except InventoryError as exc:
        assert all(p.file == str(path) and (p.line is None or p.line >= 1) for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(pattern=st.text(alphabet="web*?~[]0123:!&,.-^$()|\\", max_size=20))
def test_any_pattern_selects_or_raises_pattern_error(pattern: str) -> None:
    inventory = _small_inventory()
    try:
        selected = select_hosts(inventory, pattern)
    except PatternError:
        return
    assert set(selected) <= set(inventory.hosts) and len(set(selected)) == len(selected)


_CACHE: dict[str, Any] = {}


def _small_inventory() -> Any:
    if "inventory" not in _CACHE:
        from tests.inventory.ansible.oracle import FIXTURES

        _CACHE["inventory"] = load_ansible(str(FIXTURES / "ini_basic/hosts.ini"))
    return _CACHE["inventory"]
