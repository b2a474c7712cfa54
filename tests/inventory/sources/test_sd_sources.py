"""file_sd and http_sd sources in the native inventory: targets as hosts, `{port}`, labels as vars and
record labels, real loopback servers for http_sd (answers, HTTP 500, timeouts, TLS and the token), and a
sweep that probes what discovery listed."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.cli.conftest import Lab, probes, records
from tests.inventory.conftest import Outcome
from tests.inventory.sources.conftest import by_host, errors, plan_records
from tests.leaks import assert_no_leaks, new_secret, run_cli
from tests.probes.conftest import AppServer, CertFactory

NODES = [
    {"targets": ["127.0.0.5:9100", "127.0.0.6:9101"], "labels": {"job": "node", "team": "infra"}},
    {"targets": ["127.0.0.7"], "labels": {"job": "db", "__meta_zone": "a"}},
]
PROBES = """
probes:
  metrics: {type: http, url: "http://{address}:{port}/metrics/{team}"}
  up: {type: tcp, port: 1}
"""
TOKEN = new_secret("sd-")


def sd_inventory(source: str, groups: str) -> str:
    return f"sources:\n{source}{PROBES}groups:\n{groups}"


class TestFileSD:
    def test_targets_labels_and_port(self, cli: Callable[..., Outcome], tree: Callable[..., Path]) -> None:
        """Each target is a host (its host part the name and address); its port is {port}; its labels are
        vars and record labels; `__` labels are neither; group_label picks the group."""
        text = sd_inventory(
            '  - file_sd: "sd/*.json"\n    group_label: job\n', "  node: {probes: [metrics]}\n"
        )
        root = tree({"sd/nodes.json": json.dumps(NODES), "inv.yaml": text})
        got = by_host(plan_records(cli("plan", root / "inv.yaml")))
        assert list(got) == ["127.0.0.5", "127.0.0.6"]
        assert got["127.0.0.6"]["params"]["url"] == "http://127.0.0.6:9101/metrics/infra"
        assert got["127.0.0.6"]["labels"] == {"job": "node", "team": "infra"}
        assert got["127.0.0.6"]["group"] == "node"

    def test_port_missing_for_a_template(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path]
    ) -> None:
        """A target without a port has no {port}: a template using it names the host."""
        text = sd_inventory('  - file_sd: "sd/*.json"\n    group_label: job\n', "  db: {probes: [metrics]}\n")
        root = tree({"sd/nodes.json": json.dumps(NODES), "inv.yaml": text})
        (line,) = errors(cli("validate", root / "inv.yaml"))
        assert line.startswith(
            f"{root / 'inv.yaml'}:6: probes.metrics.url: unknown template variable {{port}}"
        )
        assert line.endswith("(for host 127.0.0.7)")

    def test_fixed_group_and_labels_with_group_labels(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path]
    ) -> None:
        """A fixed group takes every target; the group's `labels:` add the file's vars to the targets'."""
        text = sd_inventory(
            "  - file_sd: sd/nodes.yml\n    group: fleet\n",
            "  fleet: {probes: [up], vars: {dc: eu-1}, labels: [dc]}\n",
        )
        yaml_sd = "- targets: ['127.0.0.8:22']\n  labels: {rack: 7}\n"
        root = tree({"sd/nodes.yml": yaml_sd, "inv.yaml": text})
        (record,) = plan_records(cli("plan", root / "inv.yaml"))
        assert (record["group"], record["labels"]) == ("fleet", {"dc": "eu-1", "rack": "7"})

    def test_an_empty_fixed_group_is_fine(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path]
    ) -> None:
        """A source with a fixed group that lists no target yet is no error: the group plans nothing."""
        text = sd_inventory("  - file_sd: sd/none.json\n    group: later\n", "  later: {probes: [up]}\n")
        outcome = cli("validate", tree({"sd/none.json": "[]", "inv.yaml": text}) / "inv.yaml")
        assert outcome.code == 0 and "0 hosts, 0 planned probes" in outcome.err, outcome.err

    @pytest.mark.parametrize(
        ("content", "detail"),
        [
            ('[{"targets": ["a:1"],}]', "sd/nodes.json:1: JSON: Expecting property name"),
            (
                '[{"targets": ["http://a/"]}]',
                "sd/nodes.json:1: [0].targets[0]: target 'http://a/' is not host[:port]",
            ),
            (None, "sd/*.json: matches no file"),
        ],
    )
    def test_failures_name_the_source(
        self, cli: Callable[..., Outcome], tree: Callable[..., Path], content: str | None, detail: str
    ) -> None:
        text = sd_inventory('  - file_sd: "sd/*.json"\n    group: node\n', "  node: {probes: [up]}\n")
        files = {"inv.yaml": text, **({"sd/nodes.json": content} if content else {})}
        root = tree(files)
        lines = errors(cli("plan", root / "inv.yaml"))
        assert lines[0] == (
            f"{root / 'inv.yaml'}:2: sources[0].file_sd: cannot read {root / 'sd/*.json'} "
            "(nothing is probed); why:"
        )
        assert any(line.startswith(f"{root}/{detail}") for line in lines[1:]), lines


def sd_app(hits: Counter[str], answer: list[Any]) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        hits[name] += 1
        if name == "sd":
            return web.json_response(answer)
        if name == "auth":
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return web.Response(status=401, text="no")
            return web.json_response(answer)
        if name == "echo500":  # an error page echoing the request, token included
            return web.Response(status=500, text=str(dict(request.headers)))
        if name == "slow":
            await asyncio.sleep(30)
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{name}", handle)
    return app


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFactory:
    return CertFactory(tmp_path_factory.mktemp("certs"))


@pytest.fixture
async def server(certs: CertFactory) -> AsyncIterator[tuple[AppServer, Counter[str], list[Any]]]:
    """An https http_sd endpoint on 127.0.0.1 (certificate from the test CA); the answer list may change."""
    leaf = certs.leaf()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(leaf.cert, leaf.key)
    hits: Counter[str] = Counter()
    answer: list[Any] = list(NODES)
    async with AppServer(sd_app(hits, answer), context) as srv:
        yield srv, hits, answer


def http_inventory(tmp_path: Path, url: str, ca: Path, extra: str = "") -> Path:
    source = f"  - http_sd: {url}\n    group_label: job\n    ca_file: {ca}\n    retries: 0\n{extra}"
    path = tmp_path / "inv.yaml"
    path.write_text(sd_inventory(source, "  node: {probes: [metrics]}\n"))
    return path


class TestHttpSD:
    async def test_answer_planned(self, server: Any, certs: CertFactory, tmp_path: Path) -> None:
        """The answer's targets are planned, with the token sent (over verified TLS) and never shown."""
        srv, hits, _ = server
        path = http_inventory(
            tmp_path, f"https://127.0.0.1:{srv.port}/auth", certs.ca_file, "    token_env: SD_TOKEN\n"
        )
        code, out, err = await run_cli("plan", str(path), env={"SD_TOKEN": TOKEN})
        assert code == 0, err
        assert [json.loads(line)["host"] for line in out.splitlines()] == ["127.0.0.5", "127.0.0.6"]
        assert hits["auth"] == 1

    async def test_http_500_exits_3_without_secrets(
        self, server: Any, certs: CertFactory, tmp_path: Path
    ) -> None:
        """HTTP 500 (an error page echoing the request, token included): exit 3 naming the entry and the
        URL as shown, nothing planned, and no piece of the token, the URL's password or its query token
        in any output of validate, plan or sweep."""
        srv, hits, _ = server
        password, query = new_secret("pw-"), new_secret("qt-")
        base = f"127.0.0.1:{srv.port}/echo500?access_token="
        streams = {}
        for url, shown, token in [  # a bearer token, or basic auth in the URL (not both: refused)
            (f"https://{base}{query}", f"https://{base}<redacted>", "    token_env: SD_TOKEN\n"),
            (f"https://sd:{password}@{base}{query}", f"https://<redacted>:<redacted>@{base}<redacted>", ""),
        ]:
            path = http_inventory(tmp_path, url, certs.ca_file, token)
            for command in ("validate", "plan", "sweep"):
                code, out, err = await run_cli(command, str(path), env={"SD_TOKEN": TOKEN})
                assert (code, out) == (3, ""), err
                assert f"sources[0].http_sd: cannot read {shown} (nothing is probed)" in err
                assert f"error: {shown}: server answered HTTP 500 Internal Server Error" in err
                streams[f"{command} stderr {'token' if token else 'password'}"] = err
        assert hits["echo500"] == 6
        assert_no_leaks(streams, [TOKEN, password, query])

    async def test_timeout_exits_3(self, server: Any, certs: CertFactory, tmp_path: Path) -> None:
        srv, _, _ = server
        path = http_inventory(
            tmp_path, f"https://127.0.0.1:{srv.port}/slow", certs.ca_file, "    timeout: 300ms\n"
        )
        code, _, err = await run_cli("validate", str(path))
        assert code == 3 and "timeout: no complete answer within 0.3 s" in err, err

    async def test_unverified_certificate_exits_3(self, server: Any, tmp_path: Path) -> None:
        """Without the test CA, the server's certificate does not verify: exit 3 (TLS is never skipped)."""
        srv, hits, _ = server
        path = tmp_path / "inv.yaml"
        source = f"  - http_sd: https://127.0.0.1:{srv.port}/sd\n    group_label: job\n    retries: 0\n"
        path.write_text(sd_inventory(source, "  node: {probes: [metrics]}\n"))
        code, _, err = await run_cli("validate", str(path))
        assert code == 3 and "tls" in err.lower(), err
        assert hits["sd"] == 0


def test_sweep_probes_what_file_sd_lists(lab: Lab, tmp_path: Path) -> None:
    """A sweep of file_sd targets reaches each at its own address and port (HTTP servers on loopback),
    and every record carries the target's labels; a target nobody listens on fails as refused."""
    up = [f"127.{lab.block}.0.{i}" for i in (1, 2)]
    for address in up:
        lab.thread.serve("http_ok", address, lab.port)
    down = f"127.{lab.block}.0.3"
    targets = [f"{address}:{lab.port}" for address in (*up, down)]
    (tmp_path / "sd.json").write_text(
        json.dumps([{"targets": targets, "labels": {"job": "web", "rack": "r1"}}])
    )
    text = "sources: [{file_sd: sd.json, group_label: job}]\n"
    text += "probes: {h: {type: http, url: 'http://{address}:{port}/', timeout: 2s, retries: 0}}\n"
    text += "groups: {web: {probes: [h], max_fail: 1}}\n"
    (tmp_path / "inv.yaml").write_text(text)
    from tests.conftest import run_cli as run

    done = run("sweep", str(tmp_path / "inv.yaml"))
    assert done.returncode == 0, done.stderr
    got = {r["host"]: r for r in probes(records(done.stdout))}
    assert set(got) == {*up, down}
    assert all(got[a]["status"] == "ok" for a in up)
    assert got[down]["error"]["kind"] == "refused"
    assert all(r["labels"] == {"job": "web", "rack": "r1"} for r in got.values())
