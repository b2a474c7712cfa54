"""Bad input: every broken inventory gives exit 3 and file:line + key path on stderr, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from prober.inventory.yamlsafe import MAX_BYTES, MAX_DEPTH, guess_key_path
from prober.probes import registry
from tests.conftest import ROOT, cli_env, run_cli
from tests.inventory.conftest import DATA, Outcome


class Case(NamedTuple):
    file: str
    line: int
    key: str
    message: str


CASES = [
    Case("bad_indent.yaml", 3, "", "mapping values are not allowed"),
    Case("bad_indent_block.yaml", 8, "", "check the indentation"),
    Case("unclosed_quote.yaml", 2, "probes.health", "quoted scalar that starts on this line"),
    Case("unclosed_bracket.yaml", 5, "groups.db.hosts", "flow sequence that starts on this line"),
    Case("unknown_top_key.yaml", 5, "hosts",
         "unknown key (expected one of: defaults, groups, probes, sources)"),
    Case("unknown_probe_key.yaml", 4, "probes.pg.prot", "unknown key for a tcp probe (did you mean 'port'?)"),
    Case("unknown_group_key.yaml", 5, "groups.db.host", "unknown key (did you mean 'hosts'?)"),
    Case("unknown_host_key.yaml", 7, "groups.db.hosts.db01.adress", "unknown key (did you mean 'address'?)"),
    Case("timeout_bool.yaml", 2, "defaults.timeout", "expected a duration like 500ms or 2s, got True"),
    Case("retries_string.yaml", 3, "defaults.retries", "expected an integer, got 'x'"),
    Case("concurrency_negative.yaml", 2, "defaults.concurrency", "must be between 1 and 100000, got -1"),
    Case("hosts_number.yaml", 5, "groups.db.hosts", "expected a list or a mapping of hosts, got int (5)"),
    Case("unknown_probe_type.yaml", 3, "probes.files.type", "unknown probe type 'ftp'"),
    Case("probe_without_type.yaml", 4, "probes.web.type", "a probe needs 'type'"),
    Case("unknown_probe_in_group.yaml", 6, "groups.db.probes[1]", "unknown probe 'mysql' (known: pg)"),
    Case("range_reversed.yaml", 5, "groups.db.hosts[1]", "bad range [5:1]: range start 5 is after its end 1"),
    Case("range_mixed_ends.yaml", 6, "groups.db.hosts[0]", "bad range [a:9]: ends must be both numbers"),
    Case("range_open_end.yaml", 5, "groups.db.hosts[0]", "bad range [1:]: expected [start:end]"),
    Case(
        "range_unbalanced.yaml",
        7,
        "groups.db.hosts[1]",
        "unbalanced bracket in host pattern 'db[1:3.invalid'",
    ),
    Case("range_unbalanced_close.yaml", 5, "groups.db.hosts[0]", "unbalanced bracket"),
    Case("duplicate_top_key.yaml", 5, "probes", "duplicate key 'probes' (first on line 1)"),
    Case("duplicate_nested_key.yaml", 5, "probes.pg.port", "duplicate key 'port' (first on line 4)"),
    Case("empty.yaml", 1, "", "the file is empty"),
    Case("comments_only.yaml", 1, "", "the file is empty"),
    Case("non_utf8.yaml", 3, "", "not UTF-8 text: byte 0xe9"),
    Case("url_ftp.yaml", 2, "probes.files.url", "URL must start with http:// or https://"),
    Case("url_no_host.yaml", 2, "probes.health.url", "URL has no host"),
    Case("url_bad_port.yaml", 4, "probes.health.url", "URL has an invalid port"),
    Case("port_zero.yaml", 2, "probes.pg.port", "expected a port number from 1 to 65535, got 0"),
    Case("port_too_big.yaml", 4, "probes.pg.port", "expected a port number from 1 to 65535, got 70000"),
    Case("port_text.yaml", 3, "probes.up.port", "expected a port number from 1 to 65535, got 'abc'"),
    Case("template_unknown_var.yaml", 3, "probes.up.command", "unknown template variable {nope}"),
    Case("template_port_not_number.yaml", 2, "probes.up.port", "after templating: expected a port number"),
    Case("alias_bomb.yaml", 2, "b", "aliases (*name) are not allowed"),
    Case("merge_key.yaml", 3, "probes.pg", "merge keys (<<) are not allowed"),
    Case("yaml_python_tag.yaml", 3, "probes.evil", "could not determine a constructor"),
    Case("missing_groups.yaml", 1, "groups", "missing: an inventory needs a 'groups:' section"),
    Case("host_shell_chars.yaml", 5, "groups.db.hosts[1]", "host name 'db02;reboot' may only contain"),
    Case(
        "command_template_in_quotes.yaml", 2, "probes.check.command", "template field {dir} is inside quotes"
    ),
]


def expected_prefix(case: Case) -> str:
    """The exact start of the error line: 'error: FILE:LINE: KEY: '."""
    where = f"error: {DATA / case.file}:{case.line}: "
    return where + (f"{case.key}: " if case.key else "")


def assert_clean_error(outcome: Outcome, case: Case) -> None:
    assert outcome.code == 3, outcome
    assert "Traceback" not in outcome.err
    assert outcome.out == ""
    lines = [line for line in outcome.err.splitlines() if line.startswith("error: ")]
    matching = [line for line in lines if line.startswith(expected_prefix(case))]
    assert matching, f"no line starts with {expected_prefix(case)!r} in:\n{outcome.err}"
    assert any(case.message in line for line in matching), outcome.err


class TestBadInputFiles:
    @pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
    def test_validate_names_file_line_and_key(self, cli: Callable[..., Outcome], case: Case) -> None:
        """`prober validate` on a broken file exits 3 with 'FILE:LINE: KEY: message' and no traceback."""
        assert_clean_error(cli("validate", DATA / case.file), case)

    @pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
    def test_sweep_refuses_before_probing(self, cli: Callable[..., Outcome], case: Case) -> None:
        """`prober sweep` on a broken file exits 3 with the same message and writes no record."""
        assert cli("validate", DATA / case.file).code == 3  # never sweep a file that might be valid
        assert_clean_error(cli("sweep", DATA / case.file), case)

    def test_every_data_file_is_covered(self) -> None:
        """Each file under data/ (other than the valid base) has a case, so none is silently untested."""
        files = {p.name for p in DATA.glob("*.yaml")} - {"valid.yaml", "five_problems.yaml"}
        assert files == {c.file for c in CASES}

    def test_valid_base_file_validates(self, cli: Callable[..., Outcome]) -> None:
        """The base the bad cases vary is itself valid, so each case fails for its own reason."""
        outcome = cli("validate", DATA / "valid.yaml")
        assert outcome.code == 0, outcome.err
        assert "7 planned probes" in outcome.err


class TestSubprocess:
    @pytest.mark.parametrize(
        "case",
        [c for c in CASES if c.file in {"unclosed_quote.yaml", "alias_bomb.yaml", "range_reversed.yaml"}],
        ids=lambda c: c.file,
    )
    @pytest.mark.parametrize("command", ["validate", "sweep"])
    def test_real_process_exits_3_cleanly(self, case: Case, command: str) -> None:
        """A real `python -m prober` child reports the problem the same way and exits 3."""
        proc = run_cli(command, str(DATA / case.file))
        assert_clean_error(Outcome(proc.returncode, proc.stdout, proc.stderr), case)


class TestFileLevelProblems:
    def test_missing_file(self, cli: Callable[..., Outcome], tmp_path: Path) -> None:
        """A path that does not exist is reported by name with the OS reason, exit 3."""
        path = tmp_path / "nope.yaml"
        for command in ("validate", "sweep", "plan"):
            outcome = cli(command, path)
            assert outcome.code == 3
            assert outcome.err.startswith(f"error: {path}: cannot read: No such file or directory")
            assert "Traceback" not in outcome.err

    def test_directory_instead_of_file(self, cli: Callable[..., Outcome], tmp_path: Path) -> None:
        """A directory is refused with a message saying so, exit 3."""
        for command in ("validate", "sweep"):
            outcome = cli(command, tmp_path)
            assert outcome.code == 3
            assert outcome.err.startswith(f"error: {tmp_path}: is a directory, not an inventory file")

    def test_unreadable_file(self, cli: Callable[..., Outcome], tmp_path: Path) -> None:
        """A file without read permission is reported, not a traceback. As root (CI), prober runs
        without the two capabilities that let root read any file, so the check still runs there."""
        path = tmp_path / "secret.yaml"
        path.write_text("probes: {}\n")
        path.chmod(0)
        for command in ("validate", "sweep"):
            code, err = _without_read_override(cli, command, path)
            assert code == 3
            assert err.startswith(f"error: {path}: cannot read: Permission denied")
            assert "Traceback" not in err

    def test_oversized_file(self, cli: Callable[..., Outcome], tmp_path: Path) -> None:
        """A file over 16 MiB is refused before it is parsed."""
        path = tmp_path / "big.yaml"
        with path.open("w") as handle:
            handle.write("probes:\n")
            handle.write("# padding\n" * (MAX_BYTES // 10 + 1))
        assert path.stat().st_size > MAX_BYTES
        for command in ("validate", "sweep"):
            outcome = cli(command, path)
            assert outcome.code == 3
            assert outcome.err.startswith(f"error: {path}: file is over 16 MiB")

    def test_oversized_stream_without_a_size(self, cli: Callable[..., Outcome]) -> None:
        """/dev/zero reports size 0 yet never ends; the read cap still refuses it."""
        outcome = cli("validate", "/dev/zero")
        assert outcome.code == 3
        assert "file is over 16 MiB" in outcome.err

    def test_deep_nesting(self, cli: Callable[..., Outcome], tmp_path: Path) -> None:
        """Thousands of nested brackets are refused with the line where the limit was hit."""
        path = tmp_path / "deep.yaml"
        path.write_text("probes:\n  x: " + "[" * 5000 + "]" * 5000 + "\n")
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert outcome.err.startswith(
            f"error: {path}:2: probes.x: YAML: nested more than {MAX_DEPTH} levels deep"
        )


class TestEveryProblemReported:
    def test_five_problems_five_lines(self, cli: Callable[..., Outcome]) -> None:
        """A file with five distinct problems gets five error lines, each with its own line number."""
        path = DATA / "five_problems.yaml"
        outcome = cli("validate", path)
        assert outcome.code == 3
        lines = outcome.err.splitlines()
        assert [line.split(": ", 2)[1] for line in lines] == [
            f"{path}:2",
            f"{path}:5",
            f"{path}:6",
            f"{path}:10",
            f"{path}:11",
        ]
        keys = [line.split(": ")[2] for line in lines]
        assert keys == [
            "defaults.timeout",
            "probes.pg.port",
            "probes.web.url",
            "groups.db.hosts[0]",
            "groups.db.probes[1]",
        ]

    def test_cap_at_100_problems(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """150 problems print as 100 lines then '... and 50 more'."""
        probes = "".join(f"  p{i}: {{type: tcp, port: {70000 + i}}}\n" for i in range(150))
        path = inventory_file("probes:\n" + probes + "groups:\n  g: {hosts: [h.invalid], probes: [p0]}\n")
        outcome = cli("validate", path)
        assert outcome.code == 3
        lines = outcome.err.splitlines()
        assert len(lines) == 101
        assert (
            lines[0] == f"error: {path}:2: probes.p0.port: expected a port number from 1 to 65535, got 70000"
        )
        assert lines[-1] == "error: ... and 50 more"

    def test_template_problem_reported_once_for_many_hosts(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """An unknown template var used by 200 hosts is one error line that counts the hosts."""
        path = inventory_file(
            """
            probes:
              up: {type: ssh, command: "uptime {nope}"}
            groups:
              g: {hosts: ["h[1:200].invalid"], probes: [up]}
            """
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert outcome.err.splitlines() == [
            f"error: {path}:2: probes.up.command: unknown template variable {{nope}} "
            "(known: address, group, host) (for hosts h1.invalid, h2.invalid, h3.invalid and 197 more)"
        ]

    def test_broken_probe_is_not_reported_again_where_used(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """A probe with a bad type is one problem; the groups using it do not add 'unknown probe' noise."""
        path = inventory_file(
            """
            probes:
              files: {type: ftp}
            groups:
              a: {hosts: [a.invalid], probes: [files], overrides: {files: {port: 1}}}
              b: {hosts: [b.invalid], probes: [files]}
            """
        )
        outcome = cli("validate", path)
        assert outcome.err.splitlines() == [
            f"error: {path}:2: probes.files.type: unknown probe type 'ftp' (expected {registry.names()})"
        ]


class TestArgumentErrors:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ["sweep", "x.yaml", "--concurrency", "abc"],
                "argument --concurrency: expected a whole number, got 'abc'",
            ),
            (
                ["sweep", "x.yaml", "--concurrency", "0"],
                "argument --concurrency: must be between 1 and 1000000, got 0",
            ),
            (["sweep", "x.yaml", "--retries", "-1"], "argument --retries: expected a whole number, got '-1'"),
            (
                ["sweep", "x.yaml", "--timeout", "soon"],
                "argument --timeout: expected a duration like 500ms or 2s",
            ),
            (
                ["sweep", "x.yaml", "--max-fail", "nan%"],
                "argument --max-fail: expected a count of hosts (0, 3) or a percentage of the group's hosts",
            ),
            (["plan", "x.yaml", "--limit", "web,,db"], "argument --limit: expected group or host names"),
            (["plan"], "the following arguments are required: inventory"),
            (["frobnicate"], "invalid choice: 'frobnicate'"),
        ],
    )
    def test_bad_arguments_exit_3(self, cli: Callable[..., Outcome], args: list[str], message: str) -> None:
        """A bad command-line argument is a usage error with exit 3 (2 means 'probes failed')."""
        outcome = cli(*args)
        assert outcome.code == 3
        assert message in outcome.err
        assert "Traceback" not in outcome.err


class TestGuessedKeyPath:
    @pytest.mark.parametrize(
        ("line", "path"),
        [
            (1, "probes"),
            (3, "probes.pg.port"),
            (6, "groups.db.hosts"),
            (7, "groups.db.hosts"),
            (9, "groups.db.probes"),
            (11, "groups.db.vars.quoted key"),
        ],
    )
    def test_syntax_error_lines_get_a_key_path(self, line: int, path: str) -> None:
        """For a line that does not parse, the key path is read from the indentation of the lines above."""
        text = """probes:
  pg:
    port: 5432
groups:
  db:
    hosts:
      - db01.invalid
      # a comment
    probes: [pg
    vars:
      "quoted key": 1
"""
        assert guess_key_path(text.split("\n"), line) == path


class TestNothingHappensOnBadInput:
    def test_sweep_output_file_not_created(self, cli: Callable[..., Outcome], tmp_path: Path) -> None:
        """With bad input, `sweep -o FILE` exits 3 before creating or truncating FILE."""
        out = tmp_path / "results.jsonl"
        outcome = cli("sweep", DATA / "range_reversed.yaml", "-o", out)
        assert outcome.code == 3
        assert not out.exists()
        out.write_text("previous results\n")
        assert cli("sweep", DATA / "range_reversed.yaml", "-o", out).code == 3
        assert out.read_text() == "previous results\n"


class TestStructureAndTemplateProblemsTogether:
    def test_both_kinds_in_one_run(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """A structural problem does not hide a template problem: both are reported, in line order."""
        path = inventory_file(
            """
            defaults: {retries: many}
            probes:
              up: {type: ssh, command: "uptime {nope}"}
              pg: {type: tcp}
            groups:
              g: {hosts: [a.invalid], probes: [up, pg]}
            """
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert outcome.err.splitlines() == [
            f"error: {path}:1: defaults.retries: expected an integer, got 'many'",
            f"error: {path}:3: probes.up.command: unknown template variable {{nope}} "
            "(known: address, group, host) (for host a.invalid)",
            f"error: {path}:4: probes.pg.port: missing: a tcp probe needs 'port'",
        ]


def _without_read_override(cli: Callable[..., Outcome], command: str, path: Path) -> tuple[int, str]:
    """(exit code, stderr) of `prober COMMAND PATH` by a process that mode 000 stops: this one
    unless it is root; as root, a child without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH."""
    if os.geteuid() != 0:
        outcome = cli(command, path)
        return outcome.code, outcome.err
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root without setpriv (util-linux) reads a file with mode 000")
    drop = "-dac_override,-dac_read_search"
    proc = subprocess.run(
        [setpriv, "--bounding-set", drop, "--", sys.executable, "-m", "prober", command, str(path)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=60,
    )
    return proc.returncode, proc.stderr


class TestLibyamlLoader:
    def test_libyaml_parser_is_used(self) -> None:
        """PyYAML's C parser reads inventories (10x faster on explicit host lists) when it is built in."""
        import yaml

        from prober.inventory import yamlsafe

        if not yaml.__with_libyaml__:
            pytest.skip("PyYAML was built without libyaml")
        assert yamlsafe._BASE_LOADER is yaml.CSafeLoader

    def test_alias_to_a_scalar_is_refused_at_its_line(
        self, cli: Callable[..., Outcome], tmp_path: Path
    ) -> None:
        """An alias of a plain value is refused too, at the line of the alias, not of the anchor."""
        path = tmp_path / "alias.yaml"
        path.write_text(
            "defaults:\n  vars: {a: &port '22'}\nprobes:\n  pg: {type: tcp, port: *port}\n"
            "groups: {db: {hosts: [db01.invalid], probes: [pg]}}\n"
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert outcome.err.startswith(f"error: {path}:4: ")
        assert "aliases (*name) are not allowed" in outcome.err

    def test_anchor_without_alias_is_accepted(self, cli: Callable[..., Outcome], tmp_path: Path) -> None:
        """An anchor nobody refers to expands nothing: it is harmless and accepted."""
        path = tmp_path / "anchor.yaml"
        path.write_text(
            "probes:\n  pg: &pg {type: tcp, port: 5432}\n"
            "groups: {db: {hosts: [db01.invalid], probes: [pg]}}\n"
        )
        assert cli("validate", path).code == 0
