"""The SSH probe against in-process asyncssh servers: commands, host keys, authentication, output."""

from __future__ import annotations

import json
from pathlib import Path

import asyncssh
import orjson

from tests.ssh.conftest import known_hosts_line, run_jobs, run_one


class TestCommand:
    async def test_command_ok_records_exit_status_and_stdout(self, sim_server) -> None:
        """A command exiting 0 gives an ok record with its exit status and stdout."""
        server = await sim_server()
        record = await run_one(server.target(), server.spec(command="echo hello; echo err >&2"))
        assert record["status"] == "ok", record
        assert record["ssh"]["exit_status"] == 0
        assert record["ssh"]["stdout"] == "hello\n"
        assert "check" not in record

    async def test_wrong_exit_status_fails_with_assertion(self, sim_server) -> None:
        """A command exiting 3 when 0 is expected fails with kind assertion and keeps the exit status."""
        server = await sim_server()
        record = await run_one(server.target(), server.spec(command="exit 3"))
        assert record["status"] == "fail"
        assert record["error"]["kind"] == "assertion"
        assert record["ssh"]["exit_status"] == 3

    async def test_expect_exit_and_stdout_regex(self, sim_server) -> None:
        """expect_exit accepts a non-zero status, and stdout_regex must match the output."""
        server = await sim_server()
        spec = server.spec(command="echo version 7; exit 2", expect_exit=2, stdout_regex=r"version \d")
        assert (await run_one(server.target(), spec))["status"] == "ok"
        spec = server.spec(command="echo nothing", stdout_regex=r"version \d")
        record = await run_one(server.target(), spec)
        assert record["status"] == "fail" and "does not match" in record["error"]["message"]

    async def test_killed_by_signal_fails(self, sim_server) -> None:
        """A command killed by a signal fails even though the channel closed normally."""
        server = await sim_server()
        record = await run_one(server.target(), server.spec(command="kill -TERM $$"))
        assert record["status"] == "fail"
        assert "signal TERM" in record["error"]["message"]

    async def test_invalid_utf8_becomes_replacement_characters(self, sim_server) -> None:
        """Invalid UTF-8 output yields a record that serialises to valid JSON with U+FFFD."""
        server = await sim_server()
        record = await run_one(server.target(), server.spec(command=r"printf 'ok\377\376\355\240\200end'"))
        assert record["status"] == "ok"
        line = orjson.dumps(record)
        assert "\ufffd" in json.loads(line)["ssh"]["stdout"]
        assert json.loads(line)["ssh"]["stdout"].startswith("ok")

    async def test_stdout_is_capped(self, sim_server) -> None:
        """stdout_max_bytes bounds what is kept, and the record text stays short."""
        server = await sim_server()
        spec = server.spec(command="head -c 300000 /dev/zero | tr '\\0' a", stdout_max_bytes=1000)
        record = await run_one(server.target(), spec)
        assert record["status"] == "ok"
        assert len(record["ssh"]["stdout"]) <= 513
        assert len(orjson.dumps(record)) < 4096


class TestHostKeys:
    async def test_unknown_host_key_fails_with_host_key(self, sim_server, tmp_path: Path) -> None:
        """A host missing from known_hosts fails with kind host_key and is never accepted silently."""
        server = await sim_server()
        empty = tmp_path / "empty_known_hosts"
        empty.write_text("")
        record = await run_one(server.target(), server.spec(known_hosts=str(empty)))
        assert record["status"] == "fail"
        assert record["error"]["kind"] == "host_key"
        assert server.stats.logins == 0

    async def test_changed_host_key_fails_with_host_key(self, sim_server, tmp_path: Path) -> None:
        """A host whose key differs from the known_hosts entry fails with kind host_key."""
        server = await sim_server()
        other = asyncssh.generate_private_key("ssh-ed25519")
        changed = tmp_path / "changed_known_hosts"
        changed.write_text(known_hosts_line(server.address, server.port, other))
        record = await run_one(server.target(), server.spec(known_hosts=str(changed)))
        assert record["error"]["kind"] == "host_key"
        assert server.stats.logins == 0

    async def test_insecure_opt_out_is_marked(self, sim_server, tmp_path: Path) -> None:
        """insecure_ignore_host_key connects to an unknown host and marks the record insecure."""
        server = await sim_server()
        record = await run_one(
            server.target(), server.spec(known_hosts=str(tmp_path / "missing"), insecure_ignore_host_key=True)
        )
        assert record["status"] == "ok"
        assert record["insecure"] is True

    async def test_missing_known_hosts_file_fails(self, sim_server, tmp_path: Path) -> None:
        """A known_hosts path that does not exist fails with host_key naming the file."""
        server = await sim_server()
        record = await run_one(server.target(), server.spec(known_hosts=str(tmp_path / "nope")))
        assert record["error"]["kind"] == "host_key"
        assert "nope" in record["error"]["message"]


class TestAuth:
    async def test_wrong_key_fails_with_auth(self, sim_server, tmp_path: Path) -> None:
        """A client key the server does not accept fails with kind auth."""
        server = await sim_server()
        other = tmp_path / "other_key"
        asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(other))
        record = await run_one(server.target(), server.spec(key=str(other)))
        assert record["error"]["kind"] == "auth"

    async def test_password_from_env_and_wrong_password(self, sim_server, monkeypatch) -> None:
        """password_env logs in with the right password and fails with auth on a wrong one."""
        server = await sim_server(password="s3cret-Marker-7781")
        monkeypatch.setenv("PROBER_TEST_PW", "s3cret-Marker-7781")
        spec = server.spec(key=None, password_env="PROBER_TEST_PW")
        assert (await run_one(server.target(), spec))["status"] == "ok"
        monkeypatch.setenv("PROBER_TEST_PW", "wrong-Marker-1234")
        record = await run_one(server.target(), spec)
        assert record["error"]["kind"] == "auth"
        assert "wrong-Marker-1234" not in orjson.dumps(record).decode()

    async def test_unset_password_env_fails_clearly(self, sim_server, monkeypatch) -> None:
        """A password_env naming an unset variable fails with auth and names the variable."""
        server = await sim_server()
        monkeypatch.delenv("PROBER_UNSET_PW", raising=False)
        record = await run_one(server.target(), server.spec(key=None, password_env="PROBER_UNSET_PW"))
        assert record["error"]["kind"] == "auth"
        assert "PROBER_UNSET_PW" in record["error"]["message"]

    async def test_encrypted_key_with_passphrase_env(self, sim_server, keys, tmp_path, monkeypatch) -> None:
        """An encrypted key opens with passphrase_env; a wrong passphrase fails without echoing it."""
        server = await sim_server()
        locked = tmp_path / "locked_key"
        keys.client.write_private_key(str(locked), "pkcs8-pem", passphrase="pass-Marker-5531")
        monkeypatch.setenv("PROBER_TEST_PASS", "pass-Marker-5531")
        spec = server.spec(key=str(locked), passphrase_env="PROBER_TEST_PASS")
        assert (await run_one(server.target(), spec))["status"] == "ok"
        monkeypatch.setenv("PROBER_TEST_PASS", "bad-Marker-0042")
        record = await run_one(server.target(), spec)
        assert record["error"]["kind"] == "auth"
        assert "Marker" not in orjson.dumps(record).decode()

    async def test_batch_of_failures_never_leaks_secrets(self, sim_server, monkeypatch) -> None:
        """Across ok and failing records, the password value never appears in any record."""
        secret = "leak-Marker-99812"
        server = await sim_server(password=secret)
        monkeypatch.setenv("PROBER_TEST_PW", secret)
        spec = server.spec(key=None, password_env="PROBER_TEST_PW")
        pairs = [
            (server.target("a"), spec),
            (server.target("b"), server.spec(key=None, password_env="PROBER_TEST_PW", command="exit 4")),
            (
                server.target("c"),
                server.spec(key=None, password_env="PROBER_TEST_PW", command=f"echo {secret}"),
            ),
            (
                server.target("d"),
                server.spec(
                    key=None,
                    password_env="PROBER_TEST_PW",
                    check="nagios",
                    command=f"echo 'WARNING {secret} | {secret}=1'; echo {secret} >&2; exit 1",
                ),
            ),
        ]
        sweep = await run_jobs(pairs)
        text = b"\n".join(orjson.dumps(r) for r in sweep.records).decode()
        assert secret not in text
        assert [r["status"] for r in sweep.records] == ["ok", "fail", "ok", "warn"]


class TestAgent:
    async def test_agent_against_asyncssh(self, sim_server, ssh_agent: str, monkeypatch) -> None:
        """A real ssh-agent holding the key logs in to the asyncssh server when no key file is given."""
        monkeypatch.setenv("SSH_AUTH_SOCK", ssh_agent)
        server = await sim_server()
        record = await run_one(server.target(), server.spec(key=None, agent=True))
        assert record["status"] == "ok", record
