"""User regexes run with RE2: linear time on hostile input, what cannot run refused at validate time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from prober.model import Job, Result, Target
from prober.probes import probe_for
from prober.probes.http.spec import HTTPSpec
from prober.probes.ssh.spec import SSHSpec
from prober.probes.tcp import TCPSpec
from prober.regex import BYTES, TEXT, compile_pattern
from prober.runtime.engine import Engine
from prober.runtime.resources import Resources
from tests.conftest import run_cli
from tests.probes.conftest import AppServer, RawServer, loopback_sshd

EVIL = "(a+)+$"  # Python's re: 2 s for 22 a's and a b here, doubling with each a
HOSTILE = b"a" * 40 + b"b\n"


class TestPatternSemantics:
    @pytest.mark.parametrize(
        ("pattern", "data", "found"),
        [
            ("is ok$", b"service is ok\n", True),  # $ before a final newline, as Python's re
            ("is ok$", b"service is ok\n\n", False),
            ("(?m)^ok$", b"x\nok\ny", True),
            ("^SSH-2\\.0-", b"SSH-2.0-OpenSSH_9.2\r\n", True),
            ("caf\u00e9", "caf\u00e9 ouvert".encode(), True),
            ("(?i)HEALTHY", b"all healthy", True),
            ("\\d{3} ms", b"took 120 ms", True),
            ("ok", b"KO", False),
        ],
    )
    def test_text_patterns_search_decoded_text(self, pattern: str, data: bytes, found: bool) -> None:
        assert compile_pattern(pattern, TEXT).search(data) is found

    def test_byte_patterns_read_one_byte_per_character(self) -> None:
        """tcp expect: `.` matches any byte and \\xff the byte 0xff, as Python's bytes patterns did."""
        assert compile_pattern("^\\xff.\\x00", BYTES).search(b"\xff\xfe\x00rest")
        assert compile_pattern("^\u00e9", BYTES).search("\u00e9".encode())  # UTF-8 bytes, literally
        assert not compile_pattern("^.$", BYTES).search(b"\xff\xfe")

    @pytest.mark.parametrize(
        "pattern", ["(?u)^SSH", "(\\w)\\1", "ok(?=!)", "(?<=a)b", "ok\\Z", "a{1001}", "(unclosed"]
    )
    def test_what_re2_cannot_run_is_refused(self, pattern: str) -> None:
        with pytest.raises(ValueError, match="RE2"):
            compile_pattern(pattern, TEXT)

    @pytest.mark.parametrize("mode", [TEXT, BYTES])
    def test_catastrophic_pattern_is_linear(self, mode: str) -> None:
        """(a+)+$ against 64 KB of a's and a b: milliseconds, where Python's re would take ages."""
        pattern = compile_pattern(EVIL, mode)
        started = time.perf_counter()
        assert not pattern.search(b"a" * 65536 + b"b")
        assert time.perf_counter() - started < 0.5


class TestValidateRefuses:
    @pytest.mark.parametrize(
        ("probe", "key", "pattern"),
        [
            ("{type: tcp, port: 22, expect: PATTERN}", "expect", "(?u)^SSH"),
            ('{type: http, url: "http://{address}/", body_regex: PATTERN}', "body_regex", "(ok)\\\\1"),
            ("{type: ssh, command: uptime, stdout_regex: PATTERN}", "stdout_regex", "load(?=:)"),
        ],
    )
    def test_pattern_the_probe_cannot_run(self, write_inventory, probe: str, key: str, pattern: str) -> None:
        """validate exits 3 naming file:line and the key, before anything could fail as `internal`."""
        path = write_inventory(
            f"""
            probes:
              p: {probe.replace("PATTERN", '"' + pattern + '"')}
            groups:
              g: {{hosts: [127.0.0.1], probes: [p]}}
            """
        )
        done = run_cli("validate", str(path))
        assert done.returncode == 3, done.stderr
        assert f"{path}:2: probes.p.{key}: invalid regular expression for RE2" in done.stderr
        assert "Traceback" not in done.stderr and "re2.cc" not in done.stderr

    def test_override_pattern_is_checked_too(self, write_inventory) -> None:
        """A host override's pattern goes through the same check."""
        path = write_inventory(
            """
            probes:
              p: {type: tcp, port: 22, expect: "^SSH"}
            groups:
              g:
                probes: [p]
                hosts:
                  h1: {address: 127.0.0.1, overrides: {p: {expect: "(?u)^SSH"}}}
            """
        )
        done = run_cli("validate", str(path))
        assert done.returncode == 3 and ":7: " in done.stderr and "expect" in done.stderr, done.stderr


async def _ssh_server(tmp_path: Path, stdout: bytes) -> tuple[Any, SSHSpec]:
    ssh = await loopback_sshd(tmp_path)
    payload = tmp_path / "stdout"
    payload.write_bytes(stdout)
    spec = SSHSpec(
        name="ssh", port=ssh.port, user="t", key=str(ssh.key), known_hosts=str(ssh.known_hosts),
        agent=False, command=f"cat {payload}", stdout_regex=EVIL, timeout=5.0, retries=0,
    )  # fmt: skip
    return ssh.server, spec


class TestHostileInputDoesNotStallTheLoop:
    async def test_body_banner_and_stdout(self, tmp_path: Path) -> None:
        """A hostile body, banner and command output against (a+)+$: every probe ends with its
        `assertion`, quickly, and the event loop's worst lag stays small."""

        async def body(request: web.Request) -> web.Response:
            return web.Response(body=HOSTILE * 1000)

        async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(HOSTILE)
            await writer.drain()
            await asyncio.sleep(5)

        app = web.Application()
        app.router.add_get("/", body)
        ssh_server, ssh_spec = await _ssh_server(tmp_path, HOSTILE * 1000)
        try:
            async with AppServer(app) as http, RawServer(banner) as tcp:
                target = Target("h", "127.0.0.1", "g")
                specs = [
                    HTTPSpec(name="http", url=http.url("/"), body_regex=EVIL, timeout=5.0, retries=0),
                    TCPSpec(name="tcp", port=tcp.port, expect=EVIL, timeout=5.0, retries=0),
                    ssh_spec,
                ]
                jobs = [Job(i, target, spec) for i, spec in enumerate(specs)]
                results: list[Result] = []
                resources = Resources(concurrency=8)
                engine = Engine(jobs, results.append, concurrency=8, probe_for=probe_for, resources=resources)
                started = time.perf_counter()
                await engine.run()
                elapsed = time.perf_counter() - started
                await resources.aclose()
        finally:
            ssh_server.close()
        kinds = {r.job.spec.kind: (r.error.kind if r.error else None) for r in results}
        assert kinds == {"http": "assertion", "tcp": "assertion", "ssh": "assertion"}
        assert elapsed < 4.0, elapsed  # the TCP probe waits 0.25 s of silence; the rest is milliseconds
        assert engine.lag.max_ms < 250, engine.lag.max_ms
        assert all(r.latency_ms is not None and r.latency_ms < 3000 for r in results), results

    def test_python_re_would_stall(self) -> None:
        """The same pattern with Python's re on a short input: the stall the RE2 test rules out."""
        import re

        started = time.perf_counter()
        re.search(EVIL, "a" * 18 + "b")
        slow = time.perf_counter() - started
        started = time.perf_counter()
        compile_pattern(EVIL).search(b"a" * 18 + b"b")
        assert time.perf_counter() - started < slow / 10
