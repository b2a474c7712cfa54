"""file_sd: Prometheus target-group files (JSON, YAML, globs) read into a frozen inventory."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from prober.errors import InventoryError
from prober.inventory.sources.file_sd import load_file_sd
from prober.inventory.sources.sd import MAX_PROBLEMS

GROUPS = [
    {"targets": ["web01:9100", "web02:9100"], "labels": {"job": "node", "dc": "eu-1"}},
    {"targets": ["[::1]:9187", "10.0.0.5"], "labels": {"job": "db"}},
]
YAML = """\
- targets: ["web01:9100", "web02:9100"]
  labels: {job: node, dc: eu-1}
- targets:
    - "[::1]:9187"
    - 10.0.0.5
  labels:
    job: db
"""


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text))
    return str(path)


def problems(*args: object, **kwargs: object) -> list[str]:
    """The problems load_file_sd reports, as `file:line: key: message` lines."""
    with pytest.raises(InventoryError) as caught:
        load_file_sd(*args, **kwargs)  # type: ignore[arg-type]
    return str(caught.value).splitlines()


class TestRead:
    def test_json(self, tmp_path: Path) -> None:
        """Each target gives a host (name and address), its port, its group's labels; group_label groups."""
        path = write(tmp_path / "a.json", json.dumps(GROUPS))
        inventory = load_file_sd(path, group_label="job")
        assert list(inventory.groups) == ["node", "db"]
        web = inventory.groups["node"].hosts["web01"]
        assert (web.address, web.port, dict(web.labels)) == ("web01", 9100, {"job": "node", "dc": "eu-1"})
        assert dict(web.meta) == {"__meta_filepath": path}
        assert (web.target, web.source, web.key) == ("web01:9100", path, "[0].targets[0]")
        assert list(inventory.groups["db"].hosts) == ["::1", "10.0.0.5"]
        assert inventory.groups["db"].hosts["::1"].port == 9187
        assert inventory.groups["db"].hosts["10.0.0.5"].port is None
        assert [h.name for h in inventory.hosts] == ["web01", "web02", "::1", "10.0.0.5"]
        assert inventory.sources == (path,)

    def test_yaml_reads_like_json(self, tmp_path: Path) -> None:
        """The same groups as YAML give the same hosts, ports, labels and groups."""
        from_json = load_file_sd(write(tmp_path / "a.json", json.dumps(GROUPS)), group="all")
        from_yaml = load_file_sd(write(tmp_path / "a.yml", YAML), group="all")

        def shape(inventory: object) -> list[tuple[object, ...]]:
            return [(h.name, h.port, dict(h.labels), h.group, h.key) for h in inventory.hosts]  # type: ignore[attr-defined]

        assert shape(from_json) == shape(from_yaml)
        assert [h.line for h in from_yaml.hosts] == [1, 1, 4, 5]

    def test_fixed_group_and_fallback(self, tmp_path: Path) -> None:
        """`group` puts every target in one group; with group_label it is the group of unlabelled ones."""
        path = write(tmp_path / "a.json", json.dumps([*GROUPS, {"targets": ["lone:1"]}]))
        assert list(load_file_sd(path, group="sd").groups) == ["sd"]
        both = load_file_sd(path, group_label="job", group="other")
        assert list(both.groups) == ["node", "db", "other"]

    def test_glob_in_name_order_each_file_once(self, tmp_path: Path) -> None:
        """A glob reads its files in name order (hidden ones too, as Go's glob does); a file two patterns
        match is read once; YAML and JSON mix."""
        write(tmp_path / "b.json", '[{"targets": ["b:1"]}]')
        write(tmp_path / "a.yaml", "- targets: [a:1]\n")
        write(tmp_path / ".c.json", '[{"targets": ["c:1"]}]')
        write(tmp_path / "skip.txt", "not read")
        patterns = [str(tmp_path / "*.json"), str(tmp_path / "b.json"), str(tmp_path / "*.yaml")]
        inventory = load_file_sd(patterns, group="g")
        assert [h.name for h in inventory.hosts] == ["c", "b", "a"]
        assert [Path(s).name for s in inventory.sources] == [".c.json", "b.json", "a.yaml"]

    def test_prometheus_label_rules(self, tmp_path: Path) -> None:
        """A target's own address wins over an `__address__` label; other `__` labels are meta, not labels;
        an empty or null value is no label; YAML numbers and booleans are text."""
        path = write(
            tmp_path / "a.yml",
            """\
            - targets: [web01:80]
              labels:
                __address__: elsewhere:1
                __meta_rack: r1
                __scheme__: https
                empty: ""
                nothing: null
                port: 8080
                canary: true
                ratio: 0.5
            """,
        )
        (host,) = load_file_sd(path, group="g").hosts
        assert (host.address, host.port) == ("web01", 80)
        assert dict(host.labels) == {"port": "8080", "canary": "true", "ratio": "0.5"}
        assert dict(host.meta) == {"__meta_rack": "r1", "__scheme__": "https", "__meta_filepath": path}

    def test_same_host_twice(self, tmp_path: Path) -> None:
        """The same target twice in a group is one host; in two groups it is in both."""
        groups = [
            {"targets": ["web01:80", "web01:80"], "labels": {"job": "a"}},
            {"targets": ["web01:80"], "labels": {"job": "a"}},
            {"targets": ["web01:9100"], "labels": {"job": "b"}},
        ]
        inventory = load_file_sd(write(tmp_path / "a.json", json.dumps(groups)), group_label="job")
        assert [(h.group, h.port) for h in inventory.hosts] == [("a", 80), ("b", 9100)]

    @pytest.mark.parametrize(
        ("name", "text"), [("a.yml", ""), ("a.yml", "# none\n"), ("a.json", "null"), ("a.json", "[]")]
    )
    def test_empty_file_has_no_targets(self, tmp_path: Path, name: str, text: str) -> None:
        """An empty file (or `[]`, or null) lists no target, as in Prometheus: not an error."""
        assert load_file_sd(write(tmp_path / name, text), group="g").hosts == ()

    def test_result_is_frozen(self, tmp_path: Path) -> None:
        """Hosts, their labels and the group mappings cannot be changed by whoever reads them."""
        inventory = load_file_sd(write(tmp_path / "a.json", json.dumps(GROUPS)), group_label="job")
        host = inventory.hosts[0]
        with pytest.raises(TypeError):
            host.labels["job"] = "x"  # type: ignore[index]
        with pytest.raises(TypeError):
            inventory.groups["node"].hosts["x"] = host  # type: ignore[index]
        with pytest.raises(AttributeError):
            host.port = 1  # type: ignore[misc]

    def test_needs_group_or_group_label(self, tmp_path: Path) -> None:
        """Calling without group nor group_label is a programming error, said at once."""
        with pytest.raises(ValueError, match="group_label"):
            load_file_sd(str(tmp_path / "a.json"))

    def test_ten_thousand_targets(self, tmp_path: Path) -> None:
        """10,000 targets in 100 groups read in well under a second of CPU (measured ~0.05 s)."""
        groups = [
            {"targets": [f"h{g}-{i}.example.com:9100" for i in range(100)], "labels": {"job": f"j{g % 7}"}}
            for g in range(100)
        ]
        path = write(tmp_path / "big.json", json.dumps(groups, indent=1))
        start = time.process_time()
        inventory = load_file_sd(path, group_label="job")
        assert time.process_time() - start < 1.0
        assert len(inventory.hosts) == 10_000


class TestErrors:
    def test_missing_file_and_empty_glob(self, tmp_path: Path) -> None:
        """A file that does not exist, and a glob matching nothing, are errors naming the pattern."""
        assert problems(str(tmp_path / "nope.json"), group="g") == [f"{tmp_path}/nope.json: no such file"]
        assert problems(str(tmp_path / "*.yml"), group="g") == [f"{tmp_path}/*.yml: matches no file"]

    @pytest.mark.parametrize("pattern", ["sd/targets", "sd/*.txt", "*/x.json", "sd/a.json.bak"])
    def test_pattern_rule(self, pattern: str) -> None:
        """Patterns follow Prometheus's rule: .json/.yml/.yaml names, '*' only in the last part."""
        (line,) = problems(pattern, group="g")
        assert line.startswith(f"{pattern}: ") and "'*' only in its last part" in line

    def test_bad_json_names_its_line(self, tmp_path: Path) -> None:
        """A JSON syntax error names file:line and column."""
        path = write(tmp_path / "a.json", '[\n  {"targets": ["a:1"]},\n  {"targets": ["b:1"],}\n]\n')
        (line,) = problems(path, group="g")
        assert line.startswith(f"{path}:3: JSON: ") and "column" in line

    def test_nan_is_not_json(self, tmp_path: Path) -> None:
        """NaN, which Python's json would take, is refused as Go's (Prometheus's) parser refuses it."""
        path = write(tmp_path / "a.json", '[{"targets": ["a:1"], "labels": {"x": NaN}}]')
        assert "NaN is not JSON" in problems(path, group="g")[0]

    def test_not_utf8(self, tmp_path: Path) -> None:
        """Bytes that are not UTF-8 are an error with their line."""
        path = tmp_path / "a.json"
        path.write_bytes(b'[\n{"targets": ["a:1"], "labels": {"x": "\xff"}}]')
        assert problems(str(path), group="g") == [f"{path}:2: not UTF-8 text (byte 40)"]

    def test_structure_problems_with_lines(self, tmp_path: Path) -> None:
        """Each bad part is reported at its own line with its key path; good groups do not hide them."""
        path = write(
            tmp_path / "a.json",
            """\
            [
              {"targets": ["ok:1"], "labels": {"job": "a"}},
              null,
              "text",
              {"target": ["a:1"]},
              {"targets": "a:1"},
              {"targets": ["a:1",
                           "http://b:2/x",
                           7]},
              {"targets": ["c:1"], "labels": {"bad-name": "x",
                                              "ok": ["list"]}},
              {"targets": ["d:1"], "labels": ["job"]},
              {"targets": ["e:1"], "labels": {"job": "no spaces allowed"}}
            ]
            """,
        )
        got = problems(path, group_label="job", group="default")
        expected = [
            (3, "[1]: a target group must be a mapping"),
            (4, "[2]: a target group must be a mapping"),
            (5, "[3].target: unknown key 'target' (did you mean 'targets'?)"),
            (6, "[4].targets: expected a list of 'host[:port]' strings"),
            (8, "[5].targets[1]: target 'http://b:2/x' is not host[:port]"),
            (9, "[5].targets[2]: a target must be a 'host[:port]' string, got int"),
            (10, "[6].labels.bad-name: 'bad-name' is not a valid label name"),
            (11, "[6].labels.ok: a label value must be a string, got a list"),
            (12, "[7].labels: expected a mapping of label names to values"),
            (13, "[8].labels: group 'no spaces allowed' is not a group name"),
        ]
        assert len(got) == len(expected), got
        for line, (number, start) in zip(got, expected, strict=True):
            assert line.startswith(f"{path}:{number}: {start}"), (line, number, start)

    def test_yaml_problems_with_lines(self, tmp_path: Path) -> None:
        """YAML files report the same problems at their lines."""
        path = write(
            tmp_path / "a.yaml",
            """\
            - targets:
                - ok:1
                - "bad host:1"
              labels:
                job: a
                9lives: x
            """,
        )
        got = problems(path, group="g")
        assert got == [
            f"{path}:6: [0].labels.9lives: '9lives' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)",
            f"{path}:3: [0].targets[1]: target 'bad host:1' is not host[:port]: host name 'bad host' may "
            "only contain letters, digits, '.', '_' and '-' (not first), or be an IPv6 address",
        ]

    def test_yaml_is_strict(self, tmp_path: Path) -> None:
        """Duplicate keys (refused by Prometheus's strict YAML too) and aliases are errors with lines."""
        dup = write(tmp_path / "a.yml", "- targets: [a:1]\n  targets: [b:1]\n")
        assert problems(dup, group="g")[0].startswith(f"{dup}:2: ")
        alias = write(tmp_path / "b.yml", "- targets: &t [a:1]\n- targets: *t\n")
        assert "aliases" in problems(alias, group="g")[0]

    def test_duplicate_json_key_points_at_the_one_used(self, tmp_path: Path) -> None:
        """With a key given twice, JSON's last value counts (as in Go), and the line is the last one's."""
        path = write(tmp_path / "a.json", '[{"targets": ["ok:1"],\n  "targets": ["bad host"]}]')
        assert problems(path, group="g")[0].startswith(f"{path}:2: [0].targets[0]: ")

    def test_same_host_other_port_in_one_group(self, tmp_path: Path) -> None:
        """One host with two ports in one group cannot be probed as one host: both places are named."""
        path = write(tmp_path / "a.json", '[{"targets": ["db01:9100",\n "db01:9187"]}]')
        (line,) = problems(path, group="db")
        assert line.startswith(f"{path}:2: [0].targets[1]: db01 is already in group 'db' with another port")
        assert f"'db01:9100', {path}:1)" in line

    def test_every_file_reports(self, tmp_path: Path) -> None:
        """Problems of every file are reported together; past MAX_PROBLEMS they are counted."""
        write(tmp_path / "a.json", "[")
        write(
            tmp_path / "b.json", json.dumps([{"targets": [f"bad host{i}" for i in range(MAX_PROBLEMS + 5)]}])
        )
        got = problems(str(tmp_path / "*.json"), group="g")
        assert got[0].startswith(f"{tmp_path}/a.json:1: JSON: ")
        assert len(got) == MAX_PROBLEMS + 1 and got[-1].endswith("... and 6 more problems")

    def test_directory_named_like_a_file(self, tmp_path: Path) -> None:
        """A directory the glob matches is an error, not a crash."""
        (tmp_path / "d.json").mkdir()
        assert problems(str(tmp_path / "*.json"), group="g") == [
            f"{tmp_path}/d.json: is a directory, not a file_sd file"
        ]

    def test_json_label_values_are_strings(self, tmp_path: Path) -> None:
        """In JSON a number or boolean label value is refused, as Prometheus's decoder refuses it (YAML
        scalars are text); null is no label."""
        path = write(
            tmp_path / "a.json", '[{"targets": ["a:1"],\n "labels": {"port": 8080, "on": true, "x": null}}]'
        )
        assert problems(path, group="g") == [
            f"{path}:2: [0].labels.port: a label value must be a string, got int (8080)",
            f"{path}:2: [0].labels.on: a label value must be a string, got a boolean (True)",
        ]
