"""Built-in host checks run over SSH, each value verified against this machine itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from prober.probes.ssh.checks import CHECKS
from prober.probes.ssh.session import Ran
from tests.ssh.conftest import run_jobs, run_one
from tests.ssh.test_batch import run_batched


def df_pct(path: str, inodes: bool = False) -> int:
    """What `df -P` (or `df -P -i`) reports as % used for path, read locally."""
    args = ["df", "-P", "-i", "--", path] if inodes else ["df", "-P", "-k", "--", path]
    out = subprocess.run(
        args, capture_output=True, text=True, check=True, env={"LC_ALL": "C", "PATH": os.environ["PATH"]}
    )
    return int(out.stdout.splitlines()[1].split()[-2].rstrip("%"))


def mem_used_pct() -> float:
    info = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        info[name] = int(rest.split()[0])
    return 100.0 * (info["MemTotal"] - info["MemAvailable"]) / info["MemTotal"]


class Bracket:
    """Local readings taken before and after a probe: the remote value must lie between them (± slack).

    The load average moves every 5 s and memory moves with other processes, so one local reading
    after the probe is not a fair comparison on a busy machine.
    """

    def __init__(self) -> None:
        self.load = [os.getloadavg()[0]]
        self.mem = [mem_used_pct()]

    def close(self) -> None:
        self.load.append(os.getloadavg()[0])
        self.mem.append(mem_used_pct())

    def load_ok(self, value: float) -> bool:
        return min(self.load) - 0.5 <= value <= max(self.load) + 0.5

    def mem_ok(self, value: float) -> bool:
        return min(self.mem) - 3 <= value <= max(self.mem) + 3


def pgrep_count(name: str) -> int:
    out = subprocess.run(["pgrep", "-c", "-x", "--", name], capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


def local_nproc() -> int:
    return int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout)


def start_copies(binary: Path, count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([str(binary), "30"]) for _ in range(count)]


def own_comm() -> str:
    return Path("/proc/self/comm").read_text().strip()


def local_is_active(unit: str) -> str:
    out = subprocess.run(["systemctl", "is-active", "--", unit], capture_output=True, text=True)
    return out.stdout.strip()


class TestDisk:
    async def test_disk_value_equals_df(self, sim_server) -> None:
        """check: disk reports exactly the % used that df -P shows for the path, with inodes too."""
        server = await sim_server()
        record = await run_one(server.target(), server.spec(check="disk", path="/", warn=99, crit=100))
        assert record["check"]["name"] == "disk"
        assert record["check"]["value"] == df_pct("/")
        assert record["check"]["unit"] == "%"
        assert record["check"]["inodes"] == df_pct("/", inodes=True)
        assert record["status"] == "ok"

    async def test_disk_thresholds_cross_into_warn_and_fail(self, sim_server) -> None:
        """A warn at or below the value gives warn; a crit at or below it gives fail with assertion."""
        server = await sim_server()
        used = df_pct("/")
        warn = await run_one(server.target(), server.spec(check="disk", warn=max(0, used - 1), crit=101))
        assert warn["status"] == "warn" and "warn" in warn["warning"]
        fail = await run_one(server.target(), server.spec(check="disk", warn=0, crit=max(0, used - 1)))
        assert fail["status"] == "fail" and fail["error"]["kind"] == "assertion"
        assert fail["check"]["value"] == used and fail["check"]["crit"] == max(0, used - 1)

    async def test_disk_inodes_judged_when_asked(self, sim_server) -> None:
        """With inodes: true the worse of block and inode use decides, and both figures are reported."""
        server = await sim_server()
        worst = max(df_pct("/"), df_pct("/", inodes=True))
        ok = await run_one(server.target(), server.spec(check="disk", inodes=True, crit=worst + 1))
        fail = await run_one(server.target(), server.spec(check="disk", inodes=True, crit=worst))
        assert ok["status"] == "ok" and fail["status"] == "fail"
        assert fail["check"]["inodes"] == df_pct("/", inodes=True)

    async def test_disk_missing_path_is_not_evaluable(self, sim_server) -> None:
        """A path that does not exist cannot be evaluated: fail, with df's reason in the message."""
        server = await sim_server()
        record = await run_one(server.target(), server.spec(check="disk", path="/no/such/dir-xyz"))
        assert record["status"] == "fail"
        assert "cannot be evaluated" in record["error"]["message"]
        assert record["check"]["value"] is None

    async def test_disk_path_is_shell_quoted(self, sim_server, tmp_path: Path) -> None:
        """A path with shell metacharacters is passed as one argument, never run as a command."""
        server = await sim_server()
        marker = tmp_path / "pwned"
        record = await run_one(server.target(), server.spec(check="disk", path=f"/; touch {marker}"))
        assert not marker.exists()
        assert record["status"] == "fail"


class TestMemoryAndLoad:
    async def test_memory_close_to_local_meminfo(self, sim_server) -> None:
        """check: memory is within a few % of 100*(MemTotal-MemAvailable)/MemTotal read locally."""
        server = await sim_server()
        bracket = Bracket()
        record = await run_one(server.target(), server.spec(check="memory", warn=100, crit=100))
        bracket.close()
        assert bracket.mem_ok(record["check"]["value"]), (record["check"], bracket.mem)
        assert record["check"]["unit"] == "%"

    async def test_memory_thresholds(self, sim_server) -> None:
        """Memory use at or past crit fails; at or past warn only warns."""
        server = await sim_server()
        assert (await run_one(server.target(), server.spec(check="memory", warn=0.001, crit=100)))[
            "status"
        ] == "warn"
        assert (await run_one(server.target(), server.spec(check="memory", crit=0.001)))["status"] == "fail"

    async def test_load_matches_getloadavg(self, sim_server) -> None:
        """check: load reports the 1-minute load average, divided by nproc with per_cpu."""
        server = await sim_server()
        bracket = Bracket()
        plain = await run_one(server.target(), server.spec(check="load", warn=1e6, crit=1e6))
        bracket.close()
        per_cpu = await run_one(server.target(), server.spec(check="load", per_cpu=True, warn=1e6, crit=1e6))
        assert bracket.load_ok(plain["check"]["value"]), (plain["check"], bracket.load)
        cpus = local_nproc()
        assert per_cpu["check"]["cpus"] == cpus
        assert per_cpu["check"]["value"] == pytest.approx(per_cpu["check"]["load1"] / cpus, abs=0.001)

    async def test_load_threshold_fail(self, sim_server) -> None:
        """A load crit of 0 is always reached: the probe fails with the value in the record."""
        server = await sim_server()
        record = await run_one(server.target(), server.spec(check="load", crit=0))
        assert record["status"] == "fail" and record["check"]["crit"] == 0


class TestProcessAndSystemd:
    async def test_process_count_matches_pgrep(self, sim_server, tmp_path: Path) -> None:
        """check: process counts processes by exact name, equal to a local pgrep -x and to those started."""
        name = "prbtest_sleep"
        binary = tmp_path / name
        shutil.copy("/bin/sleep", binary)
        children = start_copies(binary, 3)
        try:
            server = await sim_server()
            record = await run_one(server.target(), server.spec(check="process", process=name, min=3, max=3))
            assert record["status"] == "ok", record
            assert record["check"]["value"] == pgrep_count(name) == 3
        finally:
            for child in children:
                child.kill()
                child.wait()

    async def test_process_min_and_max(self, sim_server) -> None:
        """Fewer than min or more than max processes fails."""
        server = await sim_server()
        none = await run_one(server.target(), server.spec(check="process", process="no-such-proc-xq", min=1))
        assert none["status"] == "fail" and none["check"]["value"] == 0
        name = own_comm()
        many = await run_one(server.target(), server.spec(check="process", process=name, min=0, max=0))
        assert many["status"] == "fail" and "more than max" in many["error"]["message"]

    async def test_process_name_with_spaces(self, sim_server, tmp_path: Path) -> None:
        """A process name holding spaces is matched whole and counted, like pgrep -x counts it."""
        name = f"prb sp{os.getpid() % 10000:04d}"
        binary = tmp_path / name
        shutil.copy("/bin/sleep", binary)
        children = start_copies(binary, 2)
        try:
            server = await sim_server()
            record = await run_one(server.target(), server.spec(check="process", process=name, min=2, max=2))
        finally:
            for child in children:
                child.kill()
                child.wait()
        assert record["status"] == "ok", record
        assert record["check"]["value"] == 2

    async def test_process_count_leaves_out_the_probes_own_session(self, sim_server, tmp_path: Path) -> None:
        """Processes of the probe's own SSH session (a batched sibling running two of that name, which
        holds spaces) are not counted: only the two started outside it are."""
        name = f"prb s f{os.getpid() % 10000:04d}"
        binary = tmp_path / name
        shutil.copy("/bin/sleep", binary)
        children = start_copies(binary, 2)
        try:
            server = await sim_server()
            count = CHECKS["process"].command(server.spec(check="process", process=name))
            sibling = f"'{binary}' 3 & '{binary}' 3; echo done"  # two of that name in the session
            ran = await run_batched(server, [(sibling, 100, 10.0), (f"sleep 0.5; {count}", 100, 10.0)])
        finally:
            for child in children:
                child.kill()
                child.wait()
        assert isinstance(ran[1], Ran) and ran[1].exit_status == 0, ran
        assert ran[1].stdout == b"2\n"

    async def test_systemd_states(self, sim_server, tmp_path: Path, monkeypatch) -> None:
        """is-active 'active' is ok, 'activating' warns, 'failed' fails, and garbage is not evaluable."""
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "systemctl"
        fake.write_text(
            '#!/bin/sh\ncase "$3" in a.service) echo active;; b.service) echo activating; exit 3;;\n'
            'c.service) echo failed; exit 3;; *) echo "weird" >&2; exit 4;; esac\n'
        )
        fake.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
        server = await sim_server()
        t = server.target
        sweep = await run_jobs(
            [(t(f"h{u}"), server.spec(check="systemd", unit=f"{u}.service")) for u in "abcd"]
        )
        assert [r["status"] for r in sweep.records] == ["ok", "warn", "fail", "fail"]
        assert sweep.records[0]["check"]["value"] == "active"
        assert "cannot be evaluated" in sweep.records[3]["error"]["message"]

    async def test_systemd_real_systemctl_agrees_with_local(self, sim_server) -> None:
        """With this machine's own systemctl, the check's verdict matches a local is-active call."""
        if shutil.which("systemctl") is None:
            pytest.skip("systemctl is not installed here")
        state = local_is_active("ssh.service")
        server = await sim_server()
        record = await run_one(server.target(), server.spec(check="systemd", unit="ssh.service"))
        assert (record["status"] == "ok") == (state == "active")
        if record.get("check", {}).get("value") is not None:
            assert record["check"]["value"] == state


class TestNagios:
    @staticmethod
    def plugin(tmp_path: Path, name: str, body: str) -> str:
        path = tmp_path / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
        return str(path)

    async def test_exit_codes_map_to_statuses(self, sim_server, tmp_path: Path) -> None:
        """Plugin exit 0/1/2/3 gives ok/warn/fail/fail, the first line as message, perfdata parsed."""
        server = await sim_server()
        pairs = []
        for code, word in enumerate(["OK", "WARNING", "CRITICAL", "UNKNOWN"]):
            cmd = self.plugin(
                tmp_path,
                f"check_{code}",
                f"echo \"DISK {word} - free 42% | '/ used'=58%;80;90;0;100 time=0.2s\"\n"
                f"echo 'long text line'\necho '| extra=7'\nexit {code}\n",
            )
            pairs.append((server.target(f"n{code}"), server.spec(check="nagios", command=cmd)))
        sweep = await run_jobs(pairs)
        assert [r["status"] for r in sweep.records] == ["ok", "warn", "fail", "fail"]
        ok, warn = sweep.records[0], sweep.records[1]
        assert ok["check"]["perfdata"]["/ used"] == {
            "value": 58,
            "uom": "%",
            "warn": 80,
            "crit": 90,
            "min": 0,
            "max": 100,
        }
        assert ok["check"]["perfdata"]["time"]["value"] == 0.2
        assert ok["check"]["perfdata"]["extra"]["value"] == 7
        assert ok["check"]["state"] == "OK"
        assert warn["warning"] == "DISK WARNING - free 42%"
        assert sweep.records[2]["error"]["message"] == "DISK CRITICAL - free 42%"
        assert sweep.records[3]["check"]["state"] == "UNKNOWN"

    async def test_huge_plugin_output_keeps_the_record_small(self, sim_server, tmp_path: Path) -> None:
        """Hundreds of long perfdata labels and invalid UTF-8 still give a record line under 4 KiB."""
        server = await sim_server()
        label = "x" * 150
        items = " ".join(f"'{i}{label}'=1.5ms;1:2;@3:4;0;10" for i in range(300))
        cmd = self.plugin(
            tmp_path, "check_big", f"printf '\\377\\376%.0s' $(seq 400)\necho ' | {items}'\nexit 1\n"
        )
        record = await run_one(server.target(), server.spec(check="nagios", command=cmd))
        assert record["status"] == "warn"
        assert 5 <= len(record["check"]["perfdata"]) <= 32
        assert len(orjson.dumps(record)) < 4096

    async def test_plugin_not_found_fails(self, sim_server) -> None:
        """A plugin path that does not exist (exit 127) fails as not evaluable."""
        server = await sim_server()
        record = await run_one(server.target(), server.spec(check="nagios", command="/no/such/check_x -w 1"))
        assert record["status"] == "fail" and "cannot be evaluated" in record["error"]["message"]
