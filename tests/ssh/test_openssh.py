"""Against Debian's real sshd on loopback: login, checks verified locally, nagios plugins, one handshake."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

from tests.ssh.conftest import TEST_USER, run_jobs, run_one
from tests.ssh.test_checks import Bracket, df_pct, pgrep_count


def write_plugin(directory: Path, name: str, body: str) -> str:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def start_named(directory: Path, name: str, count: int) -> list[subprocess.Popen[bytes]]:
    binary = directory / name
    shutil.copy("/bin/sleep", binary)
    return [subprocess.Popen([str(binary), "30"]) for _ in range(count)]


class TestOpenSSHBasics:
    async def test_command_runs_as_throwaway_user(self, openssh) -> None:
        """A plain command logs in as the test user and returns its output."""
        record = await run_one(openssh.target(), openssh.spec(command="id -un"))
        assert record["status"] == "ok", record
        assert record["ssh"]["stdout"].strip() == TEST_USER

    async def test_unknown_host_key_rejected(self, openssh, tmp_path: Path) -> None:
        """OpenSSH's host key absent from known_hosts fails with host_key."""
        empty = tmp_path / "kh"
        empty.write_text("")
        record = await run_one(openssh.target(), openssh.spec(known_hosts=str(empty)))
        assert record["error"]["kind"] == "host_key"

    async def test_wrong_user_is_auth(self, openssh) -> None:
        """A user sshd does not allow fails with kind auth."""
        record = await run_one(openssh.target(), openssh.spec(user="nobody"))
        assert record["error"]["kind"] == "auth"

    async def test_agent_authentication(self, openssh, ssh_agent: str, monkeypatch) -> None:
        """With no key file, a real ssh-agent holding the key logs in (agent: true); agent: false cannot."""
        monkeypatch.setenv("SSH_AUTH_SOCK", ssh_agent)
        record = await run_one(openssh.target(), openssh.spec(key=None, agent=True, command="echo agent"))
        denied = await run_one(openssh.target(), openssh.spec(key=None, agent=False))
        assert record["status"] == "ok", record
        assert record["ssh"]["stdout"] == "agent\n"
        assert denied["error"]["kind"] == "auth"


class TestOpenSSHChecks:
    async def test_checks_match_this_machine(self, openssh) -> None:
        """disk equals df -P, memory is near /proc/meminfo, load near getloadavg, process equals pgrep."""
        children = start_named(openssh.plugins(), "prbossh_sleep", 2)
        try:
            pairs = [
                (openssh.target(), openssh.spec(name="disk", check="disk", path="/", warn=99, crit=100)),
                (openssh.target(), openssh.spec(name="mem", check="memory", warn=100, crit=100)),
                (openssh.target(), openssh.spec(name="load", check="load", warn=1e6, crit=1e6)),
                (
                    openssh.target(),
                    openssh.spec(name="proc", check="process", process="prbossh_sleep", min=2),
                ),
            ]
            bracket = Bracket()
            sweep = await run_jobs(pairs)
            bracket.close()
            count = pgrep_count("prbossh_sleep")
        finally:
            for child in children:
                child.kill()
                child.wait()
        disk, mem, load, proc = sweep.records
        assert all(r["status"] == "ok" for r in sweep.records), sweep.records
        assert disk["check"]["value"] == df_pct("/")
        assert bracket.mem_ok(mem["check"]["value"]), (mem["check"], bracket.mem)
        assert bracket.load_ok(load["check"]["value"]), (load["check"], bracket.load)
        assert proc["check"]["value"] == count == 2

    async def test_thresholds_cross_into_warn_and_fail(self, openssh) -> None:
        """Against sshd too, warn below the value warns and crit below it fails."""
        used = df_pct("/")
        pairs = [
            (openssh.target(), openssh.spec(name="w", check="disk", warn=max(0, used - 1), crit=101)),
            (openssh.target(), openssh.spec(name="f", check="disk", crit=max(0, used - 1))),
        ]
        sweep = await run_jobs(pairs)
        assert [r["status"] for r in sweep.records] == ["warn", "fail"]

    async def test_nagios_plugins_over_openssh(self, openssh) -> None:
        """Plugin scripts exiting 0-3 with perfdata map to ok/warn/fail/fail over real SSH."""
        pairs = []
        for code in range(4):
            cmd = write_plugin(
                openssh.plugins(),
                f"check_{code}",
                f"echo \"STATE{code} | 'a b'=1.5ms;2;3;0; c=10%\"\nexit {code}\n",
            )
            pairs.append((openssh.target(), openssh.spec(name=f"n{code}", check="nagios", command=cmd)))
        sweep = await run_jobs(pairs)
        assert [r["status"] for r in sweep.records] == ["ok", "warn", "fail", "fail"]
        perf = sweep.records[0]["check"]["perfdata"]
        assert perf["a b"] == {"value": 1.5, "uom": "ms", "warn": 2, "crit": 3, "min": 0, "max": None}
        assert perf["c"]["value"] == 10 and perf["c"]["uom"] == "%"
        assert sweep.records[1]["warning"] == "STATE1"

    async def test_five_checks_one_openssh_login(self, openssh) -> None:
        """Five checks on the real sshd cost exactly one accepted login."""
        before = openssh.accepted_logins()
        pairs = [
            (openssh.target(), openssh.spec(name="disk", check="disk")),
            (openssh.target(), openssh.spec(name="mem", check="memory")),
            (openssh.target(), openssh.spec(name="load", check="load", per_cpu=True)),
            (openssh.target(), openssh.spec(name="sshd", check="process", process="sshd", min=1)),
            (openssh.target(), openssh.spec(name="up", command="uptime")),
        ]
        sweep = await run_jobs(pairs, concurrency=8)
        assert all(r["status"] in ("ok", "warn") for r in sweep.records), sweep.records
        assert sweep.handshakes == 1
        for _ in range(50):
            if openssh.accepted_logins() > before:
                break
            await asyncio.sleep(0.02)
        assert openssh.accepted_logins() - before == 1


class TestOpenSSHJump:
    async def test_openssh_as_jump_host(self, openssh, sim_server, tmp_path: Path) -> None:
        """OpenSSH forwards to an asyncssh target: the target is reached through the bastion."""
        target = await sim_server()
        known = tmp_path / "kh"
        known.write_text(openssh.known_hosts.read_text() + target.known_hosts.read_text())
        spec = target.spec(jump=f"{TEST_USER}@{openssh.address}:{openssh.port}", known_hosts=str(known))
        record = await run_one(target.target(), spec)
        assert record["status"] == "ok", record
        assert target.stats.logins == 1


class TestOpenSSHConfig:
    async def test_ssh_config_supplies_user_and_identity(self, openssh, tmp_path: Path, monkeypatch) -> None:
        """ssh_config: true takes User and IdentityFile from ~/.ssh/config; without it they are ignored."""
        home = tmp_path / "home"
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "config").write_text(
            f"Host {openssh.address}\n  User {TEST_USER}\n  IdentityFile {openssh.key}\n"
        )
        monkeypatch.setenv("HOME", str(home))
        spec = openssh.spec(user=None, key=None, agent=False, ssh_config=True, command="id -un")
        record = await run_one(openssh.target(), spec)
        ignored = await run_one(openssh.target(), openssh.spec(user=None, key=None, agent=False))
        assert record["status"] == "ok", record
        assert record["ssh"]["stdout"].strip() == TEST_USER
        assert ignored["error"]["kind"] == "auth"
