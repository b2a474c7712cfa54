"""Built-in checks queued during a handshake share one combined session: results stay per command."""

from __future__ import annotations

import asyncio
import shlex
from typing import Any

from prober.errors import ProbeFailed
from prober.probes.ssh.script import Frames, Job, command_line, split_result
from prober.probes.ssh.session import Ran
from prober.runtime.resources import Resources
from tests.ssh.conftest import run_jobs


async def run_batched(server: Any, jobs: list[tuple[str, int, float]]) -> list[Ran | BaseException]:
    """Run (command, cap, timeout) triples on one host at once, all batchable, like queued checks."""
    res = Resources()

    async def one(command: str, cap: int, seconds: float) -> Ran:
        async with res.ssh_pool().lease(server.target(), server.spec()) as lease:
            async with asyncio.timeout(seconds):
                return await lease.run(command, cap, batch=True)

    try:
        return await asyncio.gather(*(one(*job) for job in jobs), return_exceptions=True)
    finally:
        await res.aclose()


class TestFrames:
    def test_frames_split_across_reads(self) -> None:
        """Frames cut at any byte boundary are still found whole; junk outside frames is dropped."""
        stream = b"motd junk\n@@n1 0 $\naa@@n1 s 0\nout.@@n1\n@@n1 1 +\nbb@@n1\n@@n1 1 T\n@@n1\n"
        for cut in range(1, len(stream)):
            frames = Frames("n1")
            got = frames.feed(stream[:cut]) + frames.feed(stream[cut:])
            assert got == [(0, b"$", b"aa@@n1 s 0\nout."), (1, b"+", b"bb"), (1, b"T", b"")]

    def test_result_is_split_into_stderr_status_and_stdout(self) -> None:
        """A check's payload gives back its stderr, exit status and stdout, the stdout cut to its cap."""
        assert split_result(b"err\n@@n1 s 3\nout\nn1.", "n1", 100) == (b"out\n", b"err\n", 3)
        assert split_result(b"@@n1 s 0\nended by exit..", "n1", 100) == (b"ended by exit.", b"", 0)
        assert split_result(b"@@n1 s 0\n" + b"z" * 50, "n1", 10) == (b"z" * 10, b"", 0)
        assert split_result(b"garbled", "n1", 10) == (b"", b"garbled", None)

    def test_each_command_is_quoted_and_the_script_runs_under_sh(self) -> None:
        """Each command is one quoted word of the script, which runs under sh whatever the login shell."""
        jobs = [Job("echo a # comment )", 10, 1.0), Job("cat", 10, 2.0)]
        line = command_line(jobs, "abc")
        assert line.startswith("exec sh -c ")
        script = shlex.split(line)[3]
        assert "j 0 'echo a # comment )' 10 & p0=$!" in script
        assert "j 1 cat 10 & p1=$!" in script


class TestCombinedResults:
    async def test_results_are_per_command(self, sim_server) -> None:
        """Exit codes, odd output, stdin readers, marker look-alikes and syntax errors stay per command."""
        server = await sim_server()
        commands = [
            "printf 'no newline'",
            "echo out; echo err >&2; exit 3",
            r"printf 'x\377y'",
            "cat",  # would wait forever for input without </dev/null
            "echo '@@0000000000000000 1 0'",
            'echo "unterminated',
        ]
        results = await run_batched(server, [(c, 65536, 5.0) for c in commands])
        assert server.stats.sessions == 1
        assert all(isinstance(r, Ran) for r in results), results
        ran = [r for r in results if isinstance(r, Ran)]
        assert [r.exit_status for r in ran] == [0, 3, 0, 0, 0, 2]
        assert ran[0].stdout == b"no newline"
        assert (ran[1].stdout, ran[1].stderr) == (b"out\n", b"err\n")
        assert ran[2].stdout == b"x\xffy"
        assert ran[3].stdout == b""
        assert ran[4].stdout == b"@@0000000000000000 1 0\n"
        assert ran[5].stderr  # the shell's syntax error message, in its own part

    async def test_a_hanging_command_does_not_hold_the_earlier_ones(self, sim_server) -> None:
        """A quick command's result arrives at once while a hanging one after it times out."""
        server = await sim_server()
        results = await run_batched(server, [("echo fast", 100, 2.0), ("sleep 600", 100, 0.3)])
        assert isinstance(results[0], Ran) and results[0].stdout == b"fast\n"
        assert isinstance(results[1], TimeoutError)

    async def test_combined_session_without_exit_status(self, sim_server) -> None:
        """A combined session closed without markers leaves every command without an exit status."""
        server = await sim_server(behaviour="no_exit_status")
        results = await run_batched(server, [("true", 100, 2.0)] * 3)
        assert [r.exit_status if isinstance(r, Ran) else r for r in results] == [None] * 3

    async def test_a_shell_that_exits_early_leaves_the_checks_not_evaluated(self, sim_server) -> None:
        """A host whose shell exits before the script runs fails every batched check as not evaluated."""
        server = await sim_server(fail_exit=3)
        results = await run_batched(server, [("true", 100, 2.0)] * 3)
        assert all(isinstance(r, ProbeFailed) and r.kind == "assertion" for r in results), results
        assert all("remote shell ended (exit 3)" in str(r) for r in results)

    async def test_big_output_in_one_part_is_capped(self, sim_server) -> None:
        """A part printing 5 MB is capped to its own limit, and the next part is intact."""
        server = await sim_server()
        results = await run_batched(
            server, [("head -c 5000000 /dev/zero | tr '\\0' z", 100, 10.0), ("echo next", 100, 10.0)]
        )
        assert isinstance(results[0], Ran) and results[0].stdout == b"z" * 100
        assert isinstance(results[1], Ran) and results[1].stdout == b"next\n"

    async def test_checks_batched_in_a_sweep(self, sim_server) -> None:
        """Five built-in checks queued on a host run in one session with the same verdicts as alone."""
        server = await sim_server()
        specs = [
            {"check": "disk", "path": "/"},
            {"check": "memory"},
            {"check": "load"},
            {"check": "process", "process": "no-such-proc-q", "min": 0},
            {"check": "disk", "path": "/no/such/dir"},
        ]
        pairs = [(server.target(), server.spec(name=f"c{i}", **p)) for i, p in enumerate(specs)]
        batched = await run_jobs(pairs, concurrency=8)
        alone = await run_jobs(pairs, concurrency=1)
        assert server.stats.sessions == 1 + 5
        assert [r["status"] for r in batched.records] == ["ok"] * 4 + ["fail"]
        assert [r["check"]["name"] for r in batched.records] == [r["check"]["name"] for r in alone.records]
        assert batched.records[0]["check"]["value"] == alone.records[0]["check"]["value"]

    async def test_nagios_plugins_keep_a_channel_of_their_own(self, sim_server, tmp_path) -> None:
        """A plugin is user code run as `ssh host plugin` would: on its own channel, never in the
        combined script. A slow one (1.5 s) delays none of the three checks queued with it."""
        plugin = tmp_path / "check_slow"
        plugin.write_text("#!/bin/sh\nsleep 1.5\necho 'SLOW OK | t=1.5s'\n")
        plugin.chmod(0o755)
        server = await sim_server()
        specs = [{"check": "memory"}, {"check": "load"}, {"check": "nagios", "command": str(plugin)}]
        specs.append({"check": "disk", "path": "/"})
        pairs = [(server.target(), server.spec(name=f"c{i}", **p)) for i, p in enumerate(specs)]
        sweep = await run_jobs(pairs, concurrency=8)
        assert [r["status"] for r in sweep.records] == ["ok"] * 4, sweep.records
        assert server.stats.sessions == 2  # the combined script, and the plugin's own channel
        latency = [r["latency_ms"] for r in sweep.records]
        assert latency[2] >= 1500
        assert max(latency[:2] + latency[3:]) < latency[2] - 1000, latency
