"""The example inventories shipped in inventories/ validate and plan as documented (never swept)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from tests.inventory.conftest import Outcome

INVENTORIES = ROOT / "inventories"
EXAMPLE = INVENTORIES / "example.yaml"
ISSUE_EXAMPLE = """\
defaults:
  timeout: 2s          # per-probe deadline; "500ms", "2s" or a number of seconds
  retries: 1           # extra attempts on transient failure (timeout, refused, reset), never on a wrong answer
  concurrency: 256
probes:
  health: {type: http, url: "http://{address}:8080/healthz", expect_status: [200], body_regex: "ok"}
  pg:     {type: tcp, port: 5432}
  uptime: {type: ssh, port: 22, user: deploy, key: ~/.ssh/id_ed25519, known_hosts: ~/.ssh/known_hosts, command: "uptime"}
groups:
  web:
    hosts: ["web[01:40].example.com", "10.0.3.[1:20]"]
    probes: [health, uptime]
  db:
    hosts:
      db01: {address: 10.0.0.5}
      db02: {address: 10.0.0.6, vars: {ssh_port: 2222}}
    probes: [pg]
"""  # noqa: E501 - the issue's text, verbatim


@pytest.fixture(autouse=True)
def ssh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME holding the files example.yaml names (~/.ssh/id_ed25519, ~/.ssh/known_hosts): validate
    checks that they can be read, and the machine running the tests may have neither."""
    ssh = tmp_path / "home" / ".ssh"
    ssh.mkdir(parents=True)
    (ssh / "id_ed25519").write_text("not read by validate\n")
    (ssh / "known_hosts").write_text("")
    monkeypatch.setenv("HOME", str(ssh.parent))
    return ssh.parent


def plan_of(cli: Callable[..., Outcome], path: Path, *args: str) -> list[dict]:
    outcome = cli("plan", path, *args)
    assert outcome.code == 0, outcome.err
    return [json.loads(line) for line in outcome.out.split("\n") if line]


class TestExampleInventory:
    def test_example_is_exactly_the_issue_text(self) -> None:
        """inventories/example.yaml is, byte for byte, the inventory shape issue 2 requires."""
        assert EXAMPLE.read_text() == ISSUE_EXAMPLE

    def test_validate_subprocess(self) -> None:
        """`prober validate inventories/example.yaml` exits 0 and summarises the plan on stderr."""
        proc = run_cli("validate", "inventories/example.yaml")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == ""
        assert "inventories/example.yaml: ok: 2 groups, 3 probes, 62 hosts, 122 planned probes" in proc.stderr

    def test_missing_key_files_refused(self, cli: Callable[..., Outcome], ssh_home: Path) -> None:
        """Without ~/.ssh/id_ed25519 the example is bad input (exit 3, file:line, key, the expanded
        path), not a sweep in which every uptime probe fails as auth."""
        (ssh_home / ".ssh" / "id_ed25519").unlink()
        for command in ("validate", "plan", "sweep"):
            outcome = cli(command, EXAMPLE)
            assert outcome.code == 3, outcome
            assert outcome.out == ""
            assert outcome.err.splitlines() == [
                f"error: {EXAMPLE}:8: probes.uptime.key: cannot read ~/.ssh/id_ed25519 "
                f"({ssh_home}/.ssh/id_ed25519): No such file or directory"
            ]

    def test_plan_has_122_jobs(self, cli: Callable[..., Outcome]) -> None:
        """40 web hosts x 2 + 20 addresses x 2 + 2 db hosts = 122 planned probes, each once."""
        records = plan_of(cli, EXAMPLE)
        assert len(records) == 122
        assert [r["index"] for r in records] == list(range(122))
        assert Counter(r["probe"] for r in records) == {"health": 60, "uptime": 60, "pg": 2}
        assert len({(r["host"], r["probe"]) for r in records}) == 122

    def test_plan_ranges_and_addresses(self, cli: Callable[..., Outcome]) -> None:
        """[01:40] keeps zero padding, [1:20] does not, and db hosts use their address."""
        records = plan_of(cli, EXAMPLE)
        hosts = list(dict.fromkeys(r["host"] for r in records))
        assert hosts[0] == "web01.example.com" and hosts[39] == "web40.example.com"
        assert hosts[40] == "10.0.3.1" and hosts[59] == "10.0.3.20"
        db = {r["host"]: r for r in records if r["group"] == "db"}
        assert db["db01"]["address"] == "10.0.0.5"
        assert db["db02"]["params"]["port"] == 5432

    def test_plan_resolves_url_and_ssh_params(self, cli: Callable[..., Outcome]) -> None:
        """The health URL is templated with each address; ssh keeps user, key and known_hosts."""
        records = plan_of(cli, EXAMPLE, "--limit", "web07.example.com")
        by_probe = {r["probe"]: r for r in records}
        assert set(by_probe) == {"health", "uptime"}
        health = by_probe["health"]
        assert health["type"] == "http"
        assert health["params"]["url"] == "http://web07.example.com:8080/healthz"
        assert health["params"]["expect_status"] == [200]
        assert health["params"]["body_regex"] == "ok"
        assert health["params"]["timeout"] == 2.0 and health["params"]["retries"] == 1
        uptime = by_probe["uptime"]["params"]
        assert (uptime["user"], uptime["key"], uptime["command"], uptime["port"]) == (
            "deploy",
            "~/.ssh/id_ed25519",
            "uptime",
            22,
        )


class TestAllShippedInventories:
    @pytest.mark.parametrize("path", sorted(INVENTORIES.glob("*.yaml")), ids=lambda p: p.name)
    def test_validates_and_plans(self, cli: Callable[..., Outcome], path: Path) -> None:
        """Every inventory in inventories/ validates (exit 0) and plans at least one probe."""
        outcome = cli("validate", path)
        assert outcome.code == 0, outcome.err
        assert plan_of(cli, path)

    def test_there_are_examples(self) -> None:
        """The directory holds the issue's example and the overrides example."""
        assert {p.name for p in INVENTORIES.glob("*.yaml")} >= {"example.yaml", "overrides.yaml"}


class TestOverridesExample:
    def test_vars_and_overrides_resolve(self, cli: Callable[..., Outcome]) -> None:
        """overrides.yaml: host vars move the ssh port; group and host overrides change timeouts."""
        records = {(r["host"], r["probe"]): r["params"] for r in plan_of(cli, INVENTORIES / "overrides.yaml")}
        assert records[("web01.example.com", "ssh_banner")]["port"] == 22
        assert records[("web05.example.com", "ssh_banner")]["port"] == 2222
        assert records[("web05.example.com", "disk")]["port"] == 2222
        assert records[("web05.example.com", "health")]["url"] == "http://web05.example.com:8080/status"
        assert records[("web01.example.com", "health")]["timeout"] == 5.0
        assert records[("old01.example.com", "health")]["timeout"] == 2.0
        assert records[("old02.example.com", "health")]["timeout"] == 10.0
        assert records[("old02.example.com", "health")]["expect_status"] == [200, 503]
        assert records[("old02.example.com", "disk")]["command"] == "df -P / /var"
        assert records[("old01.example.com", "disk")]["retries"] == 0
