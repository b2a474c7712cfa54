"""SSH keys in inventories: validation messages, plan output, and a CLI sweep with checks and a password."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from prober.inventory import fields
from prober.model import Target
from prober.probes.ssh.spec import SSHSpec, cross_checks
from tests.conftest import ROOT, cli_env, run_cli
from tests.ssh.conftest import run_one


class TestConverters:
    def test_rate(self) -> None:
        """Rates parse as events per second from '200/s', '30/m' or a bare number, and reject junk."""
        assert fields.rate("200/s") == 200.0
        assert fields.rate("30/m") == 0.5
        assert fields.rate(5) == 5.0
        for bad in ("fast", "0/s", -1, True, "10/d"):
            with pytest.raises(ValueError):
                fields.rate(bad)

    def test_jump_host(self) -> None:
        """Jump hosts are [user@]host[:port]; spaces, empty users and bad ports are rejected."""
        assert fields.jump_host("ops@bastion.test:2222") == "ops@bastion.test:2222"
        assert fields.jump_host("{bastion}") == "{bastion}"
        for bad in ("a b", "@host", "host:70000", "user@"):
            with pytest.raises(ValueError):
                fields.jump_host(bad)

    def test_cross_checks(self) -> None:
        """Each check names what it needs: nagios a command, process a name, systemd a unit."""
        assert cross_checks({"check": "disk"}) == []
        assert cross_checks({})[0][0] == "command"
        assert cross_checks({"check": "nagios"})[0][0] == "command"
        assert cross_checks({"check": "process"})[0][0] == "process"
        assert cross_checks({"check": "systemd"})[0][0] == "unit"
        assert cross_checks({"check": "disk", "warn": 95, "crit": 90})[0][0] == "warn"


class TestValidate:
    def test_issue_three_inventory_validates(self, write_inventory) -> None:
        """The issue's check definitions, exactly as written there, validate cleanly."""
        path = write_inventory(
            """
            probes:
              disk:   {type: ssh, check: disk, path: /, warn: 80, crit: 90, inodes: true}
              memory: {type: ssh, check: memory, warn: 90, crit: 95}
              load:   {type: ssh, check: load, warn: 2.0, crit: 4.0, per_cpu: true}
              nginx:  {type: ssh, check: process, name: nginx, min: 1}
              unit:   {type: ssh, check: systemd, unit: nginx.service}
              plugin: {type: ssh, check: nagios, command: "/usr/lib/nagios/plugins/check_disk -w 20% -p /"}
              via:    {type: ssh, command: uptime, jump: "ops@bastion.test:22", ssh_rate: 200/s,
                       connect_timeout: 500ms, login_timeout: 1s, per_host_concurrency: 2, ssh_config: false}
            groups:
              web: {hosts: [web1.test], probes: [disk, memory, load, nginx, unit, plugin, via]}
            """
        )
        proc = run_cli("validate", str(path))
        assert proc.returncode == 0, proc.stderr
        plan = run_cli("plan", str(path))
        nginx = next(json.loads(line) for line in plan.stdout.splitlines() if '"nginx"' in line)
        assert nginx["params"]["process"] == "nginx" and nginx["params"]["check"] == "process"

    def test_process_check_needs_a_name_and_a_command_less_probe_is_refused(self, write_inventory) -> None:
        """`check: process` without `name`, or an ssh probe with neither command nor check, exit 3."""
        path = write_inventory(
            """
            probes:
              p: {type: ssh, check: process, min: 1}
              q: {type: ssh, user: ops}
            groups:
              g: {hosts: [h.test], probes: [p, q]}
            """
        )
        proc = run_cli("validate", str(path))
        assert proc.returncode == 3
        assert "inventory.yaml:2: probes.p.process: check: process needs 'name'" in proc.stderr
        assert "inventory.yaml:3: probes.q.command: an ssh probe needs 'command' or 'check'" in proc.stderr

    def test_bad_ssh_values_name_file_line_and_key(self, write_inventory) -> None:
        """A bad check name, rate or jump host each give file:line and the key, exit 3."""
        path = write_inventory(
            """
            probes:
              a: {type: ssh, check: cpu}
              b: {type: ssh, command: x, ssh_rate: fast}
              c: {type: ssh, command: x, jump: "bad host"}
            groups:
              g: {hosts: [h.test], probes: [a, b, c]}
            """
        )
        proc = run_cli("validate", str(path))
        assert proc.returncode == 3
        assert f"{path}:2: probes.a.check" in proc.stderr
        assert f"{path}:3: probes.b.ssh_rate" in proc.stderr
        assert f"{path}:4: probes.c.jump" in proc.stderr
        assert "Traceback" not in proc.stderr

    @pytest.mark.parametrize("bastion", ["bad host", "ops@b.test:70000", "ops@", "b.test:22/x", "10.0.0.010"])
    def test_templated_jump_checked_per_host(self, write_inventory, bastion: str) -> None:
        """A jump host from a var is held to the same format once rendered: file:line, the key and the
        host at validate, never an `internal` record at sweep time."""
        path = write_inventory(
            f"""
            probes:
              c: {{type: ssh, command: x, jump: "{{bastion}}"}}
            groups:
              g: {{hosts: [h.test], probes: [c], vars: {{bastion: "{bastion}"}}}}
            """
        )
        proc = run_cli("validate", str(path))
        assert proc.returncode == 3, proc.stderr
        assert f"{path}:2: probes.c.jump" in proc.stderr and "h.test" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr

    def test_one_jump_parser(self) -> None:
        """The probe reads a jump host with the inventory's parser: same answers, [v6] unbracketed."""
        from prober.probes.ssh.connect import parse_jump

        assert parse_jump("ops@bastion.test:2222") == ("ops", "bastion.test", 2222)
        assert parse_jump("[::1]") == (None, "::1", 22)
        assert fields.parse_jump("ops@[fe80::1]:2200") == ("ops", "fe80::1", 2200)


class TestRuntimeGuard:
    async def test_probe_without_command_or_check_fails(self, sim_server) -> None:
        """An SSH spec with neither command nor check fails with a clear message, not a crash."""
        server = await sim_server()
        spec = SSHSpec(
            name="empty", port=server.port, known_hosts=str(server.known_hosts), key=str(server.key)
        )
        record = await run_one(Target("h", server.address, "g"), spec)
        assert record["status"] == "fail" and "neither" in record["error"]["message"]


class TestCliSweep:
    async def test_cli_sweep_checks_and_secret(self, sim_server, write_inventory) -> None:
        """A CLI sweep (port and user templated from host vars) emits top-level `check` objects, shares one
        login, and never prints the password on any stream."""
        secret = "cli-Marker-31337"
        server = await sim_server(password=secret)
        path = write_inventory(
            f"""
            defaults: {{timeout: 5s, retries: 0}}
            probes:
              disk: {{type: ssh, check: disk, path: /, warn: 100, crit: 100, port: "{{ssh_port}}",
                      user: "{{ssh_user}}",
                      password_env: PROBER_PW, agent: false, known_hosts: "{server.known_hosts}"}}
              mem:  {{type: ssh, check: memory, port: {server.port}, user: u, password_env: PROBER_PW,
                      agent: false, known_hosts: "{server.known_hosts}"}}
              bad:  {{type: ssh, command: "exit 9", port: {server.port}, user: u,
                      password_env: PROBER_PW, agent: false, known_hosts: "{server.known_hosts}"}}
            groups:
              g:
                hosts: {{h1: {{address: {server.address}, vars: {{ssh_port: {server.port}, ssh_user: u}}}}}}
                probes: [disk, mem, bad]
            """
        )
        outputs = []
        for command in ("sweep", "plan"):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "prober", command, str(path),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env=cli_env({"PROBER_PW": secret}), cwd=ROOT,
            )  # fmt: skip
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            outputs.append((proc.returncode, out.decode(), err.decode()))
        (code, out, err), (_, plan_out, plan_err) = outputs
        records = {r["probe"]: r for r in map(json.loads, out.splitlines()) if r["event"] == "probe"}
        assert records["disk"]["check"]["name"] == "disk" and "check" not in records["disk"]["ssh"]
        assert records["mem"]["status"] == "ok"
        assert records["bad"]["status"] == "fail"
        assert code == 2
        assert server.stats.logins == 1
        for text in (out, err, plan_out, plan_err):
            assert secret not in text
