"""inventories/sources/: the shipped example with an Ansible INI (group_vars/ beside it) and a file_sd
file validates and plans as its comments say (never swept)."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import ROOT, run_cli
from tests.inventory.conftest import Outcome
from tests.inventory.sources.conftest import plan_records

EXAMPLE = ROOT / "inventories" / "sources" / "inventory.yaml"


def test_validate_from_the_repository_root() -> None:
    """`prober validate inventories/sources/inventory.yaml` exits 0 (paths read from its directory)."""
    done = run_cli("validate", "inventories/sources/inventory.yaml")
    assert done.returncode == 0, done.stderr
    assert "ok: 4 groups, 4 probes, 9 hosts, 14 planned probes; the sources know 6 groups" in done.stderr


def test_plan_as_documented(cli: Callable[..., Outcome]) -> None:
    """Ansible's addresses, ports, users and precedence (host var over [web:vars], group_vars/web), the
    file_sd targets' ports and labels, and the file's own group."""
    plan = {(r["host"], r["probe"]): r for r in plan_records(cli("plan", EXAMPLE))}
    assert plan[("web01.example.com", "health")]["params"]["url"] == "http://web01.example.com:8080/healthz"
    assert plan[("web04.example.com", "health")]["params"]["url"] == "http://10.0.3.4:80/healthz"
    ssh = plan[("web04.example.com", "ssh")]["params"]
    assert (ssh["port"], ssh["user"]) == (2222, "deploy")
    assert plan[("db01.example.com", "ssh")]["params"]["user"] == "postgres"
    node = plan[("10.0.4.3", "node")]
    assert node["params"]["url"] == "http://10.0.4.3:9100/metrics"
    assert node["labels"] == {"rack": "r2", "job": "node"}
    assert plan[("edge01.example.com", "health")]["params"]["url"] == "http://edge01.example.com:443/ping"


def test_limit_from_the_comment(cli: Callable[..., Outcome]) -> None:
    records = plan_records(cli("plan", EXAMPLE, "--limit", "prod:!web04.example.com"))
    assert sorted({r["host"] for r in records}) == [
        "db01.example.com", "web01.example.com", "web02.example.com", "web03.example.com",
    ]  # fmt: skip
