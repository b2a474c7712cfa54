"""The whole CLI against servers that redirect, echo and quote secrets: no secret, nor any 6-character
piece of one, in any stream (validate, plan, sweep stdout/stderr, -o FILE, --workers 2)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from prober.masking import basic_auth
from tests.leaks import assert_no_leaks, every_stream, new_secret, run_cli
from tests.probes.conftest import CertFactory
from tests.secrets.servers import EchoSSH, QuotingTCP, Recorder, echo, redirect

Start = Callable[..., Awaitable[Recorder]]


async def leak_into_location(request: web.Request) -> web.StreamResponse:
    """A redirect refused by prober whose Location quotes the API key it received."""
    return web.Response(status=302, headers={"Location": f"ftp://127.0.0.1/{request.headers['X-Api-Key']}"})


class TestEveryStream:
    async def test_no_secret_in_any_output(self, recorder: Start, certs: CertFactory, tmp_path: Path) -> None:
        """Credentials in URLs, headers, header variables, TCP payload and SSH password, sent to
        a redirector, an echo page, an https→http downgrade, a Redis-like TCP server and an SSH
        server saying the password back: none of them appears in any output, and the landing host
        of the cross-origin redirect received none of them."""
        s = {
            name: new_secret()
            for name in ("user", "pw", "jwt", "tok", "key", "ptok", "hasura", "env", "send", "ssh")
        }
        env = {"PROBER_S_JWT": s["env"], "PROBER_S_SEND": f"AUTH {s['send']}\r\n", "PROBER_S_PW": s["ssh"]}
        site, landing = await recorder(), await recorder()
        secure = await recorder(ssl_context=certs.leaf().server_context())
        site.answers["/start"] = redirect(302, landing.url("/land"))
        site.answers["/echo"] = echo(404)
        site.answers["/leak"] = leak_into_location
        secure.answers["/start"] = redirect(302, landing.url("/plain"))
        async with QuotingTCP() as tcp, EchoSSH(s["ssh"], tmp_path) as ssh:
            creds = f"{s['user']}:{s['pw']}@"
            inventory = tmp_path / "inventory.yaml"
            inventory.write_text(
                f"""
defaults: {{timeout: 5s, retries: 0}}
probes:
  cross:
    type: http
    url: "http://{creds}127.0.0.1:{site.port}/start?jwt={s["jwt"]}&page=2"
    headers: {{X-Api-Key: {s["key"]}, PRIVATE-TOKEN: {s["ptok"]}, Accept: text/plain}}
    headers_env: {{X-JWT: PROBER_S_JWT}}
    follow_redirects: true
  echo:
    type: http
    url: "http://127.0.0.1:{site.port}/echo?access_token={s["tok"]}"
    headers: {{X-Hasura-Admin-Pwd: {s["hasura"]}}}
    headers_env: {{X-JWT: PROBER_S_JWT}}
    expect_status: [404]
    body_regex: never there
  downgrade:
    type: http
    url: "https://127.0.0.1:{secure.port}/start"
    ca_file: {certs.ca_file}
    headers: {{X-Api-Key: {s["key"]}}}
    follow_redirects: true
  leak:
    type: http
    url: "http://127.0.0.1:{site.port}/leak"
    headers: {{X-Api-Key: {s["key"]}}}
    follow_redirects: true
  redis: {{type: tcp, port: {tcp.port}, send_env: PROBER_S_SEND, expect: "^[+]OK"}}
  said:
    type: ssh
    port: {ssh.port}
    user: tester
    known_hosts: {ssh.known_hosts}
    agent: false
    password_env: PROBER_S_PW
    command: echo-password 10
    stdout_max_bytes: 20
  plugin:
    type: ssh
    port: {ssh.port}
    user: tester
    known_hosts: {ssh.known_hosts}
    agent: false
    password_env: PROBER_S_PW
    check: nagios
    command: nagios-password
groups:
  all:
    hosts: {{lo1: {{address: 127.0.0.1}}, lo2: {{address: 127.0.0.1}}}}
    probes: [cross, echo, downgrade, leak, redis, said, plugin]
"""
            )
            streams = await every_stream(inventory, env, tmp_path)
            print(streams["sweep stdout"])
            print(streams["plan stdout"][:3000])
            print(streams["sweep stderr"][-1500:])
        records = [json.loads(line) for line in streams["sweep stdout"].splitlines()]
        outcome = {(r["host"], r["probe"]): (r["error"] or {}).get("kind", r["status"]) for r in records[:-1]}
        assert outcome == {
            (host, probe): kind
            for host in ("lo1", "lo2")
            for probe, kind in [
                ("cross", "ok"),
                ("echo", "assertion"),
                ("downgrade", "tls"),
                ("leak", "protocol"),
                ("redis", "assertion"),
                ("said", "ok"),
                ("plugin", "assertion"),
            ]
        }
        assert '"headers_env":{"X-JWT":"PROBER_S_JWT"}' in streams["plan stdout"]
        assert '"send_env":"PROBER_S_SEND"' in streams["plan stdout"]
        basic = basic_auth(s["user"], s["pw"]).removeprefix("Basic ")
        assert_no_leaks(streams, [*s.values(), basic])
        # The secrets did travel where they belong (the test would prove nothing otherwise) …
        assert site.received("/start")[0].headers["x-api-key"] == s["key"]
        assert site.received("/start")[0].headers["authorization"] == f"Basic {basic}"
        assert site.received("/echo")[0].headers["x-jwt"] == s["env"]
        # … and nowhere else: the landing host saw the cross-origin hops, the downgrade never came.
        landed = landing.seen
        assert {seen.path_qs for seen in landed} == {"/land"} and len(landed) == 8  # 2 hosts, 4 sweeps
        assert_no_leaks({"landing": json.dumps([seen.headers for seen in landed])}, [*s.values(), basic])
        assert all(seen.headers["accept"] == "text/plain" for seen in landed)

    async def test_missing_header_variable_is_auth(self, recorder: Start, tmp_path: Path) -> None:
        """A headers_env variable that is not set: validate and plan pass (they may run where the
        secrets are not), the sweep records kind auth naming the variable, and nothing is sent."""
        site = await recorder()
        inventory = tmp_path / "inventory.yaml"
        inventory.write_text(
            f"probes: {{h: {{type: http, url: 'http://127.0.0.1:{site.port}/', retries: 0,\n"
            "              headers_env: {X-Api-Key: PROBER_S_UNSET}}}\n"
            "groups: {g: {hosts: {lo: {address: 127.0.0.1}}, probes: [h]}}\n"
        )
        assert (await run_cli("validate", str(inventory)))[0] == 0
        code, out, _ = await run_cli("sweep", str(inventory))
        record = json.loads(out.splitlines()[0])
        assert code == 2 and record["error"] == {
            "kind": "auth",
            "message": "header X-Api-Key: environment variable PROBER_S_UNSET is not set",
        }
        assert site.seen == []
