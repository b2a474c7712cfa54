"""Servers that echo what they were sent: the secrets are masked out of every text a record carries,
before any cut, and a secret's start left at a cut edge is masked too."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from prober.model import Target
from prober.probes.ssh.spec import SSHSpec
from prober.probes.tcp import TCPSpec
from prober.runtime.resources import Resources
from tests.leaks import assert_no_leaks, new_secret
from tests.probes.conftest import run_probe
from tests.probes.httpapp import spec
from tests.secrets.servers import EchoSSH, QuotingTCP, Recorder, echo
from tests.ssh.conftest import run_one

Start = Callable[..., Awaitable[Recorder]]
R = "<redacted>"


def everything(record: dict[str, Any]) -> dict[str, str]:
    return {"record": json.dumps(record)}


class TestHTTPEcho:
    async def test_echoed_headers_query_and_credentials_masked(
        self, recorder: Start, resources: Resources, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A 404 page quoting the request: header values (literal and from the environment), the
        query token, the URL's user and password and their Basic form never reach the record."""
        server = await recorder()
        server.answers["/api"] = echo(404)
        token, key, env_key, user, password = (new_secret() for _ in range(5))
        monkeypatch.setenv("PROBER_T_KEY", env_key)
        url = server.url(f"/api?access_token={token}&page=2").replace("://", f"://{user}:{password}@")
        probe_spec = spec(
            url,
            headers=(("X-Api-Key", key), ("Authorization-Extra", f"Bearer {key}x")),
            headers_env=(("X-Goog-Iap-Jwt-Assertion", "PROBER_T_KEY"),),
            expect_status=((404, 404),),
            body_regex="never there",
            body_max_bytes=65536,
        )
        _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "assertion"
        body = record["http"]["body"]
        assert body.startswith(f"no page at GET /api?access_token={R}&page=2")
        # The excerpt is 200 characters: the environment header's line is echoed at its very end.
        assert f"X-Api-Key: {R}" in body and "X-Goog-Iap-Jwt-Ass" in body
        seen = server.received("/api")[0].headers
        assert seen["x-goog-iap-jwt-assertion"] == env_key  # the value was sent, then masked
        assert_no_leaks(everything(record), [token, key, env_key, user, password, seen["authorization"]])

    async def test_three_character_secret_is_masked(self, recorder: Start, resources: Resources) -> None:
        """A 3-character header value echoed back is masked (MIN_SECRET is 3, not 4)."""
        server = await recorder()
        server.answers["/api"] = echo(200)
        probe_spec = spec(server.url("/api"), headers=(("X-Pin", "Zq9"),), body_regex="^never")
        _, record = await run_probe(probe_spec, resources)
        assert f"X-Pin: {R}" in record["http"]["body"]
        assert "Zq9" not in json.dumps(record)

    async def test_masked_before_the_200_character_cut(self, recorder: Start, resources: Resources) -> None:
        """A token echoed across the record's 200-character cut leaves no piece behind (the mask runs
        before the cut, not after)."""
        server = await recorder()
        server.answers["/" + "a" * 170] = echo(200)
        token = new_secret(size=24)
        probe_spec = spec(server.url("/" + "a" * 170 + f"?sig={token}"), body_regex="^never")
        _, record = await run_probe(probe_spec, resources)
        body = record["http"]["body"]
        assert body.endswith(f"?sig{R}…") and len(body) == 201  # the mask whole, within the cut
        assert_no_leaks(everything(record), [token])

    async def test_body_cap_inside_a_secret(self, recorder: Start, resources: Resources) -> None:
        """body_max_bytes ending inside an echoed token: the fragment at the edge is masked."""
        server = await recorder()
        server.answers["/x"] = echo(200)
        token = new_secret(size=24)
        cap = len("no page at GET /x?t=") + 10  # 10 characters of the token fit under the cap
        probe_spec = spec(server.url(f"/x?t={token}"), body_regex="^never", body_max_bytes=cap)
        _, record = await run_probe(probe_spec, resources)
        assert record["http"]["body"] == f"no page at GET /x?t={R}"
        assert_no_leaks(everything(record), [token])


class TestErrorMessages:
    async def test_secret_echoed_into_an_error_message(self, recorder: Start, resources: Resources) -> None:
        """A server putting the API key into a refused Location: the engine masks the probe's secrets
        in the error message, before cutting it to 300 characters (the key straddles the cut)."""
        server = await recorder()

        async def leak(request: web.Request) -> web.StreamResponse:
            key = request.headers["X-Api-Key"]
            # 83 characters of message before the path: the key starts at character 290 of it.
            return web.Response(status=302, headers={"Location": f"ftp://127.0.0.1/{'p' * 206}/{key}"})

        server.answers["/start"] = leak
        key = new_secret(size=32)
        probe_spec = spec(server.url("/start"), headers=(("X-Api-Key", key),), follow_redirects=True)
        _, record = await run_probe(probe_spec, resources)
        message = record["error"]["message"]
        assert record["error"]["kind"] == "protocol" and message.startswith("redirect to a ftp: URL refused")
        assert message.endswith(f"{'p' * 206}/{R[:-1]}…") or message.endswith(f"{'p' * 205}{R}…"), message
        assert len(message) == 300
        assert_no_leaks(everything(record), [key])


class TestTCPEcho:
    @pytest.mark.parametrize("read_max_bytes", [4096, 30])
    async def test_banner_quoting_the_payload(
        self, resources: Resources, monkeypatch: pytest.MonkeyPatch, read_max_bytes: int
    ) -> None:
        """A server refusing `AUTH <password>` with an error that quotes it: the banner in the record
        is masked, also when read_max_bytes ends inside the password."""
        password = new_secret(size=24)
        monkeypatch.setenv("PROBER_T_SEND", f"AUTH {password}\r\n")
        async with QuotingTCP() as server:
            probe_spec = TCPSpec(
                name="t",
                port=server.port,
                send_env="PROBER_T_SEND",
                expect=r"^\+OK",
                read_max_bytes=read_max_bytes,
                retries=0,
            )
            _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "assertion"
        quoted = f"-ERR unknown command '{R}'\r\n" if read_max_bytes > 100 else f"-ERR unknown command '{R}"
        assert record["tcp"]["banner"] == quoted  # the whole line `AUTH <password>` is a secret
        assert_no_leaks(everything(record), [password])

    async def test_missing_send_env_is_auth(self, resources: Resources) -> None:
        """A send_env variable that is not set fails the probe as auth, naming the variable only."""
        probe_spec = TCPSpec(name="t", port=1, send_env="PROBER_T_NOT_SET_ANYWHERE", retries=0)
        _, record = await run_probe(probe_spec, resources)
        assert record["error"] == {
            "kind": "auth",
            "message": "send_env: environment variable PROBER_T_NOT_SET_ANYWHERE is not set",
        }


class TestSSHEcho:
    def ssh_spec(self, server: EchoSSH, **kw: Any) -> SSHSpec:
        base: dict[str, Any] = {
            "name": "s",
            "port": server.port,
            "user": "tester",
            "known_hosts": str(server.known_hosts),
            "agent": False,
            "password_env": "PROBER_T_PW",
            "timeout": 5.0,
            "retries": 0,
        }
        return SSHSpec(**{**base, **kw})

    @pytest.mark.parametrize("before", [0, 10, 15, 19, 28, 40])
    async def test_password_echoed_across_the_stdout_cap(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: int
    ) -> None:
        """stdout_max_bytes (30) ending inside the echoed password, or after it, or before it: no piece
        of it in the record. The reported bug leaked 10 of 16 characters: the mask ran after the cut."""
        password = new_secret(size=20)
        monkeypatch.setenv("PROBER_T_PW", password)
        async with EchoSSH(password, tmp_path) as server:
            probe_spec = self.ssh_spec(server, command=f"echo-password {before}", stdout_max_bytes=30)
            record = await run_one(Target("h", "127.0.0.1", "g"), probe_spec)
        assert record["status"] == "ok", record
        stdout = record["ssh"]["stdout"]
        assert stdout == (
            "." * 30 if before >= 30 else "." * before + R + ("\n" if before + 11 <= 30 else "")
        )
        assert_no_leaks(everything(record), [password])

    async def test_plugin_output_quoting_the_password(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A nagios plugin whose first line quotes the password: message and check output masked."""
        password = new_secret(size=20)
        monkeypatch.setenv("PROBER_T_PW", password)
        async with EchoSSH(password, tmp_path) as server:
            probe_spec = self.ssh_spec(server, check="nagios", command="nagios-password")
            record = await run_one(Target("h", "127.0.0.1", "g"), probe_spec)
        assert record["error"] == {"kind": "assertion", "message": f"CRITICAL - rejected login {R}"}
        assert record["check"]["output"] == f"CRITICAL - rejected login {R}"
        assert_no_leaks(everything(record), [password])
