"""Probes queued during a handshake share one combined session: results stay exactly per probe."""

from __future__ import annotations

import json
import re

import orjson

from prober.probes.sshsession import _Splitter, combined_script
from tests.ssh.conftest import run_jobs


class TestSplitter:
    def test_markers_split_across_reads(self) -> None:
        """Markers cut at any byte boundary are still found, and each part keeps its own cap."""
        script_out = b"aaaa\n@@n1 0 0\nbbbbbbbbbb\n@@n1 1 7\n"
        for cut in range(1, len(script_out)):
            splitter = _Splitter(re.compile(rb"\n@@n1 (\d+) (\d+)\n"), [100, 4])
            ended = splitter.feed(script_out[:cut]) + splitter.feed(script_out[cut:])
            assert ended == [(0, 0), (1, 7)]
            assert [bytes(p) for p in splitter.parts] == [b"aaaa", b"bbbb"]

    def test_each_command_is_quoted_into_its_own_subshell(self) -> None:
        """Each command is eval'ed from one quoted word in a subshell with stdin from /dev/null."""
        script = combined_script(["echo a # comment )", "cat"], "abc")
        assert "( eval 'echo a # comment )' ) </dev/null;" in script
        assert "( eval cat ) </dev/null;" in script


class TestCombinedResults:
    async def test_results_are_per_command(self, sim_server) -> None:
        """Exit codes, odd output, stdin readers and marker look-alikes stay apart per command."""
        server = await sim_server()
        t = server.target()
        commands = [
            "printf 'no newline'",
            "echo out; echo err >&2; exit 3",
            r"printf 'x\377y'",
            "cat",  # would wait forever for input without </dev/null
            "echo '@@0000000000000000 1 0'",
            'echo "unterminated',
        ]
        pairs = [
            (t, server.spec(name=f"c{i}", command=c, expect_exit=3 if i == 1 else 0))
            for i, c in enumerate(commands)
        ]
        sweep = await run_jobs(pairs, concurrency=8)
        assert server.stats.sessions == 1
        assert [r["status"] for r in sweep.records] == ["ok"] * 5 + ["fail"], sweep.records
        assert sweep.records[5]["ssh"]["exit_status"] == 2  # a syntax error stays in its own subshell
        stdout = [r["ssh"]["stdout"] for r in sweep.records]
        assert stdout[0] == "no newline"
        assert stdout[1] == "out\n" and sweep.records[1]["ssh"]["exit_status"] == 3
        assert "\ufffd" in json.loads(orjson.dumps(sweep.records[2]))["ssh"]["stdout"]
        assert stdout[3] == ""
        assert stdout[4] == "@@0000000000000000 1 0\n"

    async def test_a_hanging_command_does_not_hold_the_others(self, sim_server) -> None:
        """In one combined session, a quick command's probe ends ok while a hanging one times out."""
        server = await sim_server()
        t = server.target()
        pairs = [
            (t, server.spec(name="quick", command="echo fast")),
            (t, server.spec(name="hang", command="sleep 600", timeout=0.4)),
            (t, server.spec(name="after", command="echo late", timeout=0.4)),
        ]
        sweep = await run_jobs(pairs, concurrency=8)
        quick, hang, after = sweep.records
        assert quick["status"] == "ok" and quick["ssh"]["stdout"] == "fast\n"
        assert hang["error"]["kind"] == "timeout" and after["error"]["kind"] == "timeout"
        assert sweep.seconds < 0.4 * 2 + 1

    async def test_combined_session_without_exit_status(self, sim_server) -> None:
        """A combined session closed without markers fails every probe in it with protocol."""
        server = await sim_server(behaviour="no_exit_status")
        t = server.target()
        pairs = [(t, server.spec(name=f"p{i}")) for i in range(3)]
        sweep = await run_jobs(pairs, concurrency=8)
        assert [r["error"]["kind"] for r in sweep.records] == ["protocol"] * 3

    async def test_big_output_in_one_part_is_capped(self, sim_server) -> None:
        """A part printing 5 MB is capped to its own limit, and the next part is intact."""
        server = await sim_server()
        t = server.target()
        pairs = [
            (
                t,
                server.spec(
                    name="big", command="head -c 5000000 /dev/zero | tr '\\0' z", stdout_max_bytes=100
                ),
            ),
            (t, server.spec(name="next", command="echo next")),
        ]
        sweep = await run_jobs(pairs, concurrency=8)
        big, nxt = sweep.records
        assert big["status"] == "ok" and big["ssh"]["stdout"] == "z" * 100
        assert nxt["ssh"]["stdout"] == "next\n"
