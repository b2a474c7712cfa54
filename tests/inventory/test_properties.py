"""Property tests: any inventory text, however broken, gives exit 0 or a clean exit 3 with file:line."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.inventory.conftest import DATA, call_cli

VALID = (DATA / "valid.yaml").read_text()
VOCABULARY = [
    "defaults",
    "probes",
    "groups",
    "hosts",
    "vars",
    "overrides",
    "address",
    "type",
    "http",
    "tcp",
    "ssh",
    "url",
    "port",
    "command",
    "timeout",
    "retries",
    "concurrency",
    "expect_status",
    "body_regex",
    "send",
    "expect",
    "user",
    "key",
    "known_hosts",
    "password_env",
    "headers",
    "health",
    "pg",
    "up",
    "web",
    "db",
    "latency_warn",
    "deadline",
    "max_fail",
    "verify_tls",
    "cert_min_days",
    "expect_exit",
    "stdout_regex",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "2s",
            "500ms",
            "{address}",
            "{nope}",
            "{ssh_port}",
            "http://{address}:8080/",
            "web[1:3]",
            "h[5:1]",
            "[",
            "ftp://x/",
            "0",
            "70000",
            "abc",
            "2xx",
            "health",
            "tcp",
            "",
            " ",
            "~",
        ]
    ),
    st.text(max_size=12),
)
KEYS = st.one_of(st.sampled_from(VOCABULARY), st.text(min_size=1, max_size=8))
STRUCTURES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS, children, max_size=4),
    ),
    max_leaves=25,
)
INSERTS = [*":[]{}\"'&*!|>-#%@`,?\n\t ", "\n  ", ": ", "- ", "<<: ", "&a ", "*a", "!!str ", "{", "\\x"]
EXPECTED_LINE = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+): ")


def check_clean(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    """validate exits 0 or 3; on 3 every error line names FILE:LINE; never a traceback."""
    for command in ("validate", "plan"):
        outcome = call_cli(capsys, command, str(path))
        assert outcome.code in (0, 3), outcome
        assert "Traceback" not in outcome.err
        if outcome.code == 0:
            if command == "validate":
                assert outcome.err.startswith(f"{path}: ok: ")
            continue
        lines = outcome.err.splitlines()
        assert lines, "exit 3 without a message"
        for line in lines:
            if line.startswith("error: ... and "):
                continue
            match = EXPECTED_LINE.match(line)
            assert match, f"no file:line in {line!r}"
            assert match["file"] == str(path) and int(match["line"]) >= 1
        return  # plan on a file validate rejected would only repeat the same errors


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """The valid inventory with a few random character-level edits: inserts, deletes, line shuffles."""
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "dup_line", "drop_line", "indent"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(INSERTS)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 6)) :]
        else:
            lines = text.split("\n")
            index = draw(st.integers(0, len(lines) - 1))
            if action == "dup_line":
                lines.insert(index, lines[index])
            elif action == "drop_line":
                del lines[index]
            else:
                lines[index] = " " * draw(st.integers(1, 3)) + lines[index]
            text = "\n".join(lines)
    return text


def _set_path(data: Any, path: list[Any], value: Any) -> Any:
    """Replace the node at `path` (indices into nested dicts/lists, taken modulo their size)."""
    if not path or not isinstance(data, dict | list) or not data:
        return value
    if isinstance(data, dict):
        key = list(data)[path[0] % len(data)]
        return {**data, key: _set_path(data[key], path[1:], value)}
    index = path[0] % len(data)
    return [*data[:index], _set_path(data[index], path[1:], value), *data[index + 1 :]]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("props")


def examples(default: int) -> settings:
    """Bounded so the four properties take well under 20 s; PROBER_PROPERTY_EXAMPLES=N hunts longer."""
    count = int(os.environ.get("PROBER_PROPERTY_EXAMPLES", default))
    return settings(
        max_examples=count, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )


class TestRandomInventories:
    @examples(80)
    @given(data=STRUCTURES)
    def test_random_yaml_structures(
        self, capsys: pytest.CaptureFixture[str], workdir: Path, data: Any
    ) -> None:
        """Any YAML document built from inventory words and random values is accepted or cleanly refused."""
        path = workdir / "random.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        check_clean(capsys, path)

    @examples(80)
    @given(text=mutated_text())
    def test_mutated_valid_inventory_text(
        self, capsys: pytest.CaptureFixture[str], workdir: Path, text: str
    ) -> None:
        """The valid inventory with random edits (quotes, brackets, indents, lines) never crashes prober."""
        path = workdir / "mutated.yaml"
        path.write_text(text)
        check_clean(capsys, path)

    @examples(50)
    @given(
        where=st.lists(st.integers(0, 20), min_size=1, max_size=5),
        value=STRUCTURES,
    )
    def test_mutated_valid_inventory_values(
        self, capsys: pytest.CaptureFixture[str], workdir: Path, where: list[int], value: Any
    ) -> None:
        """The valid inventory with one node replaced by a random value is accepted or cleanly refused."""
        data = _set_path(yaml.safe_load(VALID), where, value)
        path = workdir / "replaced.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        check_clean(capsys, path)

    @examples(60)
    @given(raw=st.binary(max_size=200))
    def test_random_bytes(self, capsys: pytest.CaptureFixture[str], workdir: Path, raw: bytes) -> None:
        """Arbitrary bytes (binary junk, bad UTF-8, control characters) give a clean error, not a crash."""
        path = workdir / "bytes.yaml"
        path.write_bytes(raw)
        check_clean(capsys, path)


NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)


@st.composite
def valid_inventories(draw: st.DrawFn) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """A random valid inventory and the (host, probe) pairs its plan must contain, each once."""
    kinds = draw(st.dictionaries(NAMES, st.sampled_from(["tcp", "http", "ssh"]), min_size=1, max_size=3))
    probes: dict[str, Any] = {}
    for name, kind in kinds.items():
        if kind == "tcp":
            probes[name] = {"type": "tcp", "port": draw(st.one_of(st.integers(1, 65535), st.just("{p}")))}
        elif kind == "http":
            probes[name] = {"type": "http", "url": "http://{address}:{p}/" + draw(NAMES)}
        else:
            probes[name] = {"type": "ssh", "command": "echo {host} {v}", "port": "{p}"}
    groups: dict[str, Any] = {}
    expected: set[tuple[str, str]] = set()
    for group in draw(st.lists(NAMES, min_size=1, max_size=3, unique=True)):
        patterns = draw(st.lists(st.tuples(NAMES, st.integers(0, 4)), min_size=1, max_size=3))
        hosts = [f"{p}[1:{n}].invalid" if n else f"{p}.invalid" for p, n in patterns]
        chosen = draw(st.lists(st.sampled_from(sorted(probes)), min_size=1, max_size=3, unique=True))
        groups[group] = {"hosts": hosts, "probes": chosen}
        for prefix, n in patterns:
            names = [f"{prefix}{i}.invalid" for i in range(1, n + 1)] if n else [f"{prefix}.invalid"]
            expected |= {(host, probe) for host in names for probe in chosen}
    # Any text but NUL (a var with NUL is refused: no shell can carry it).
    text = st.text(
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=10
    )
    defaults = {"vars": {"p": draw(st.integers(1, 65535)), "v": draw(text)}}
    return {"defaults": defaults, "probes": probes, "groups": groups}, expected


class TestValidInventories:
    @examples(50)
    @given(case=valid_inventories())
    def test_valid_inventory_plans_each_pair_once(
        self, capsys: pytest.CaptureFixture[str], workdir: Path, case: tuple[dict[str, Any], set]
    ) -> None:
        """Any valid inventory validates, and its plan holds exactly the expected (host, probe) pairs."""
        data, expected = case
        path = workdir / "valid.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        assert call_cli(capsys, "validate", str(path)).code == 0
        outcome = call_cli(capsys, "plan", str(path))
        assert outcome.code == 0, outcome.err
        # split on "\n" only: str.splitlines() would also split inside values at \x85 or \u2028.
        records = [json.loads(line) for line in outcome.out.split("\n") if line]
        assert len(records) == len(expected)
        assert {(r["host"], r["probe"]) for r in records} == expected
        port = data["defaults"]["vars"]["p"]
        for record in records:
            if record["type"] == "ssh":
                assert record["params"]["port"] == port
                assert record["params"]["command"].startswith(f"echo {record['host']} ")
