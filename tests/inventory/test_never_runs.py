"""Inventories that could never probe anything as written are bad input (exit 3, file:line, key), not a
sweep whose every record fails alike: missing or unreadable files, parameters that exclude each other."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.inventory.conftest import Outcome
from tests.inventory.test_bad_input import _without_read_override

GROUPS = "groups: {g: {hosts: [h.invalid], probes: [p]}}\n"
FILE_KEYS = [
    ("ssh", "key"),
    ("ssh", "known_hosts"),
    ("http", "ca_file"),
]


def probe_line(kind: str, key: str, value: str) -> str:
    if kind == "ssh":
        return f"p: {{type: ssh, command: uptime, agent: false, {key}: {value!r}}}"
    return f"p: {{type: http, url: 'https://{{address}}/', {key}: {value!r}}}"


def problem_lines(outcome: Outcome) -> list[str]:
    assert outcome.code == 3, outcome
    assert outcome.out == "" and "Traceback" not in outcome.err
    return outcome.err.splitlines()


class TestFiles:
    @pytest.mark.parametrize(("kind", "key"), FILE_KEYS)
    def test_missing_file(
        self,
        cli: Callable[..., Outcome],
        inventory_file: Callable[..., Path],
        tmp_path: Path,
        kind: str,
        key: str,
    ) -> None:
        """A key, known_hosts or ca_file that does not exist: validate, plan and sweep exit 3 at its line."""
        missing = tmp_path / "nope"
        path = inventory_file(f"probes:\n  {probe_line(kind, key, str(missing))}\n{GROUPS}")
        for command in ("validate", "plan", "sweep"):
            assert problem_lines(cli(command, path)) == [
                f"error: {path}:2: probes.p.{key}: cannot read {missing}: No such file or directory"
            ]

    @pytest.mark.parametrize(("kind", "key"), FILE_KEYS)
    def test_unreadable_file_also_as_root(
        self,
        cli: Callable[..., Outcome],
        inventory_file: Callable[..., Path],
        tmp_path: Path,
        kind: str,
        key: str,
    ) -> None:
        """A file with mode 000 is refused by validate and sweep. As root (CI), prober runs without the
        capabilities that let root read any file, so the check runs there too."""
        locked = tmp_path / "locked"
        locked.write_text("x\n")
        locked.chmod(0)
        path = inventory_file(f"probes:\n  {probe_line(kind, key, str(locked))}\n{GROUPS}")
        for command in ("validate", "sweep"):
            code, err = _without_read_override(cli, command, path)
            assert code == 3, err
            assert err.splitlines() == [
                f"error: {path}:2: probes.p.{key}: cannot read {locked}: Permission denied"
            ]

    def test_directory_and_tilde(
        self,
        cli: Callable[..., Outcome],
        inventory_file: Callable[..., Path],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """`~` is expanded as the probes expand it (the message shows both forms); a directory is no file."""
        monkeypatch.setenv("HOME", str(tmp_path))
        (tmp_path / ".ssh").mkdir()
        path = inventory_file(
            "probes:\n"
            "  s: {type: ssh, command: uptime, key: ~/.ssh/id_x, known_hosts: ~/.ssh}\n"
            "groups: {g: {hosts: [h.invalid], probes: [s]}}\n"
        )
        assert problem_lines(cli("validate", path)) == [
            f"error: {path}:2: probes.s.key: cannot read ~/.ssh/id_x ({tmp_path}/.ssh/id_x): "
            "No such file or directory",
            f"error: {path}:2: probes.s.known_hosts: ~/.ssh ({tmp_path}/.ssh) is a directory, not a file",
        ]
        (tmp_path / ".ssh" / "id_x").write_text("")
        (tmp_path / ".ssh" / "known_hosts").write_text("")
        fixed = inventory_file(
            path.read_text().replace("known_hosts: ~/.ssh}", "known_hosts: ~/.ssh/known_hosts}")
        )
        assert cli("validate", fixed).code == 0

    def test_fifo_does_not_block_and_override_lines(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], tmp_path: Path
    ) -> None:
        """A FIFO with no writer is opened without blocking; a file named in a host override is reported
        at the override's line and key."""
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        path = inventory_file(
            f"""
            probes:
              s: {{type: ssh, command: uptime, known_hosts: {fifo}}}
            groups:
              g:
                probes: [s]
                hosts:
                  h1.invalid: {{overrides: {{s: {{key: {tmp_path}/gone}}}}}}
            """
        )
        assert problem_lines(cli("validate", path)) == [
            f"error: {path}:7: groups.g.hosts.h1.invalid.overrides.s.key: cannot read {tmp_path}/gone: "
            "No such file or directory"
        ]


class TestCombinations:
    @pytest.mark.parametrize(
        ("probe", "key", "message"),
        [
            (
                "{type: http, url: 'http://u:pw@{address}/', headers: {authorization: Basic eDp5}}",
                "headers",
                "a URL with user:password@ and an Authorization header cannot both be sent",
            ),
            (
                "{type: http, url: 'http://u@{address}/', headers: {Authorization: x}}",
                "headers",
                "cannot both",
            ),
            ("{type: http, url: 'http://{address}/', method: HEAD, body_regex: ok}", "body_regex", "no body"),
            ("{type: http, url: 'http://{address}/', cert_min_days: 14}", "cert_min_days", "no certificate"),
            ("{type: ssh, check: disk, stdout_regex: '%'}", "stdout_regex", "check: disk judges its own"),
            (
                "{type: ssh, check: nagios, command: x, expect_exit: 1}",
                "expect_exit",
                "only used with a command",
            ),
            ("{type: ssh, command: uptime, warn: 80}", "warn", "only used by check: disk or check: memory"),
            ("{type: ssh, check: memory, path: /srv}", "path", "'path' is only used by check: disk"),
            ("{type: ssh, check: disk, name: nginx}", "name", "'name' is only used by check: process"),
            ("{type: ssh, check: process, name: nginx, min: 3, max: 1}", "min", "min (3) is above max (1)"),
        ],
    )
    def test_refused_at_the_key(
        self,
        cli: Callable[..., Outcome],
        inventory_file: Callable[..., Path],
        probe: str,
        key: str,
        message: str,
    ) -> None:
        """Each combination would fail every probe alike (or be silently ignored): exit 3 at the key."""
        path = inventory_file(f"probes:\n  p: {probe}\ngroups: {{g: {{hosts: [h.invalid], probes: [p]}}}}\n")
        (line,) = problem_lines(cli("validate", path))
        assert line.startswith(f"error: {path}:2: probes.p.{key}: ")
        assert message in line and line.endswith("(for host h.invalid)")

    def test_combination_made_by_an_override(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """The probe alone is fine; a group override adding an Authorization header makes it impossible
        for that group only, and the override's line is the one reported."""
        path = inventory_file(
            """
            probes:
              api: {type: http, url: "http://svc:{token}@{address}/"}
            groups:
              a: {hosts: [a.invalid], probes: [api], vars: {token: t}}
              b:
                hosts: ["b[1:4].invalid"]
                probes: [api]
                vars: {token: t}
                overrides: {api: {headers: {Authorization: "Bearer x"}}}
            """
        )
        assert problem_lines(cli("validate", path)) == [
            f"error: {path}:9: groups.b.overrides.api.headers: a URL with user:password@ and an "
            "Authorization header cannot both be sent: keep one "
            "(for hosts b1.invalid, b2.invalid, b3.invalid and 1 more)"
        ]

    def test_compatible_parameters_pass(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """The keys each kind of probe does use are accepted together."""
        path = inventory_file(
            """
            probes:
              a: {type: http, url: "https://{address}/", headers: {Authorization: x}, cert_min_days: 7}
              b: {type: http, url: "http://u:p@{address}/", method: HEAD, follow_redirects: true,
                  cert_min_days: 7}
              c: {type: ssh, command: uptime, stdout_regex: load, expect_exit: 0}
              d: {type: ssh, check: disk, path: /, warn: 80, crit: 90, inodes: true}
              e: {type: ssh, check: process, name: nginx, min: 1, max: 4}
              f: {type: ssh, check: systemd, unit: nginx.service}
              g: {type: ssh, check: load, warn: 2, crit: 4, per_cpu: true}
            groups: {g: {hosts: [h.invalid], probes: [a, b, c, d, e, f, g]}}
            """
        )
        outcome = cli("validate", path)
        assert outcome.code == 0, outcome.err
