"""DNS probe against an in-process asyncio DNS server behaving badly: truncation, silence, slowness,
garbage, replies to another query, hang-ups, closed ports, bad rcodes, huge answers; no socket leaks."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from typing import Any

import dns.message
import dns.rcode
import jsonschema
import pytest

from prober.model import Job, Result, Target
from prober.probes import probe_for
from prober.probes.dns import DNSSpec
from prober.record import to_record
from prober.runtime.engine import Engine
from prober.runtime.resources import Resources
from tests.conftest import ROOT
from tests.probes.conftest import free_port, run_probe
from tests.probes.dnsservers import FakeDNS, response, truncated

TIMEOUT = 0.3  # for servers that never answer
FAST = 2.0  # for servers that answer: generous, so a loaded machine cannot turn them into timeouts
MARGIN = 0.5
VALIDATOR = jsonschema.Draft202012Validator(
    json.loads((ROOT / "prober" / "schema" / "result.schema.json").read_text())
)
A = "host-a. 30 IN A 127.7.7.7"


def spec(server: FakeDNS | str, **kw: Any) -> DNSSpec:
    kw.setdefault("timeout", FAST)
    kw.setdefault("retries", 0)
    return DNSSpec(name="dns", server=server if isinstance(server, str) else server.server, **kw)


def answering(*records: str, rcode: int = dns.rcode.NOERROR, tc_over_udp: bool = False) -> Any:
    async def reply(query: dns.message.Message | None, wire: bytes, transport: str) -> bytes | None:
        assert query is not None
        if tc_over_udp and transport == "udp":
            return truncated(query)
        return response(query, *records, rcode=rcode)

    return reply


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class TestTruncation:
    async def test_tc_over_udp_is_asked_again_over_tcp(self, resources: Resources) -> None:
        """A UDP reply with TC set is asked again over TCP; the TCP answer is judged."""
        async with FakeDNS(answering(A, tc_over_udp=True)) as server:
            _, record = await run_probe(spec(server, expect="127\\.7\\.7\\.7$"), resources)
        assert record["status"] == "ok", record["error"]
        assert record["dns"]["transport"] == "tcp"
        assert [transport for transport, _ in server.queries] == ["udp", "tcp"]

    async def test_tc_and_tcp_refused_is_refused(self, resources: Resources) -> None:
        """TC over UDP, and nothing listening on TCP (a bound, unlistened port answers RST): refused."""
        async with FakeDNS(answering(A, tc_over_udp=True), tcp=False) as server:
            _, record = await run_probe(spec(server), resources)
        assert record["error"] == {"kind": "refused", "message": "Connection refused"}
        assert record["dns"]["rcode"] is None and record["dns"]["server"] == server.server


class TestNoAnswer:
    @pytest.mark.parametrize("transport", ["udp", "tcp"])
    async def test_silent_server_times_out(self, resources: Resources, transport: str) -> None:
        """A server that never replies costs one timeout per attempt: kind timeout, retried."""

        async def silent(query: Any, wire: bytes, via: str) -> bytes | None:
            if via == "tcp":
                await asyncio.sleep(3600)  # over TCP, returning would hang up: stay connected instead
            return None

        async with FakeDNS(silent) as server:
            started = time.perf_counter()
            probe = spec(server, timeout=TIMEOUT, retries=1, transport=transport)
            _, record = await run_probe(probe, resources)
            elapsed = time.perf_counter() - started
        assert record["error"]["kind"] == "timeout" and record["attempts"] == 2
        assert 2 * TIMEOUT - 0.04 <= elapsed < 2 * TIMEOUT + 1 + MARGIN  # one backoff ≤ 0.15 s between
        assert record["dns"] == {"rcode": None, "answers": [], "server": server.server}

    async def test_slow_answer_within_timeout_is_ok_and_past_it_times_out(self, resources: Resources) -> None:
        """An answer after 0.2 s passes a 2 s timeout; the same answer misses a 0.1 s one."""

        async def slow(query: Any, wire: bytes, via: str) -> bytes:
            await asyncio.sleep(0.2)
            return response(query, A)

        async with FakeDNS(slow) as server:
            _, record = await run_probe(spec(server), resources)
            assert record["status"] == "ok" and record["latency_ms"] >= 190
            _, record = await run_probe(spec(server, timeout=0.1), resources)
            assert record["error"]["kind"] == "timeout"

    async def test_closed_udp_port_is_refused(self, resources: Resources) -> None:
        """Nothing on the UDP port: the kernel's port unreachable makes it refused at once, not a timeout."""
        started = time.perf_counter()
        _, record = await run_probe(spec(f"127.0.0.1:{free_port()}", timeout=FAST), resources)
        assert record["error"] == {"kind": "refused", "message": "Connection refused"}
        assert time.perf_counter() - started < FAST / 2

    async def test_closed_tcp_port_is_refused(self, resources: Resources) -> None:
        """transport: tcp to a closed port: refused (RST), retried as transient."""
        _, record = await run_probe(spec(f"127.0.0.1:{free_port()}", transport="tcp", retries=1), resources)
        assert record["error"]["kind"] == "refused" and record["attempts"] == 2


# Bytes in place of a reply; "{id}" stands for the query's id (so only the rest is wrong).
GARBAGE = {
    "empty": b"",
    "short header": b"\x12",
    "id then zeros": b"{id}" + b"\x81\x80" + b"\x00" * 3,
    "counts past the end": b"{id}\x81\x80\x00\x01\x00\x05\x00\x00\x00\x00",
    "text": b"HTTP/1.1 400 Bad Request\r\n\r\n",
    "pointer loop": b"{id}\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",
}


def _garbage(template: bytes, query: dns.message.Message) -> bytes:
    return template.replace(b"{id}", query.id.to_bytes(2, "big"))


class TestMalformed:
    @pytest.mark.parametrize("name", list(GARBAGE))
    @pytest.mark.parametrize("transport", ["udp", "tcp"])
    async def test_garbage_is_protocol(self, resources: Resources, name: str, transport: str) -> None:
        """A reply that does not parse as DNS is protocol, never retried, never internal."""

        async def garbage(query: Any, wire: bytes, via: str) -> bytes:
            return _garbage(GARBAGE[name], query)

        async with FakeDNS(garbage) as server:
            _, record = await run_probe(spec(server, transport=transport, retries=1), resources)
        assert record["error"]["kind"] == "protocol", record["error"]
        assert record["error"]["message"].startswith("malformed reply: ") or "does not answer" in (
            record["error"]["message"]
        )
        assert record["attempts"] == 1

    async def test_random_replies_never_end_as_internal(self, resources: Resources) -> None:
        """300 replies made of a valid answer with random bytes changed, cut or appended: each ends as
        ok, assertion or protocol (a change in a name or count is still valid DNS), never internal."""
        rng = random.Random(11)

        async def mangled(query: Any, wire: bytes, via: str) -> bytes:
            data = bytearray(response(query, A, "host-a. 30 IN MX 10 mx.host-a.", 'host-a. 30 IN TXT "x"'))
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(2, len(data))] = rng.randrange(256)
            return bytes(data[: rng.randint(2, len(data))]) if rng.random() < 0.3 else bytes(data)

        kinds: set[str] = set()
        async with FakeDNS(mangled) as server:
            for _ in range(300):
                _, record = await run_probe(spec(server, expect="."), resources)
                kinds.add(record["error"]["kind"] if record["error"] else "ok")
        assert kinds <= {"ok", "assertion", "protocol"} and "protocol" in kinds, kinds

    async def test_reply_with_another_id_is_protocol(self, resources: Resources) -> None:
        """A well-formed reply carrying another query's id does not answer ours: protocol."""

        async def other_id(query: Any, wire: bytes, via: str) -> bytes:
            query.id ^= 0x5A5A
            return response(query, A)

        async with FakeDNS(other_id) as server:
            _, record = await run_probe(spec(server), resources)
        assert record["error"] == {
            "kind": "protocol",
            "message": "the reply does not answer the query (another id or question)",
        }

    async def test_reply_to_another_question_is_protocol(self, resources: Resources) -> None:
        """Our id, but an answer to another name: protocol."""

        async def other_question(query: Any, wire: bytes, via: str) -> bytes:
            other = dns.message.make_query("elsewhere.example", "A")
            other.id = query.id
            return response(other, "elsewhere.example. 30 IN A 127.6.6.6")

        async with FakeDNS(other_question) as server:
            _, record = await run_probe(spec(server), resources)
        assert record["error"]["kind"] == "protocol"

    async def test_tcp_hang_up_before_the_reply_is_reset(self, resources: Resources) -> None:
        """Over TCP, the server closing the connection without a reply is reset (retried)."""

        async def hang_up(query: Any, wire: bytes, via: str) -> None:
            return None

        async with FakeDNS(hang_up) as server:
            _, record = await run_probe(spec(server, transport="tcp", retries=1), resources)
        message = "the server closed the connection before its reply"
        assert record["error"] == {"kind": "reset", "message": message}
        assert record["attempts"] == 2


class TestRcodes:
    @pytest.mark.parametrize("rcode", ["SERVFAIL", "NXDOMAIN", "REFUSED", "NOTIMP", "FORMERR"])
    async def test_wrong_rcode_is_assertion_unless_expected(self, resources: Resources, rcode: str) -> None:
        """Any rcode but the expected one is an assertion (never retried), with the rcode recorded;
        listing it in expect_rcode makes it pass."""
        async with FakeDNS(answering(rcode=dns.rcode.from_text(rcode))) as server:
            _, record = await run_probe(spec(server, retries=2), resources)
            assert record["error"] == {"kind": "assertion", "message": f"rcode {rcode}, expected NOERROR"}
            assert record["dns"]["rcode"] == rcode and record["attempts"] == 1
            _, record = await run_probe(spec(server, expect_rcode=("NOERROR", rcode)), resources)
            assert record["status"] == "ok"


class TestCaps:
    async def test_many_long_answers_fit_the_record(self, resources: Resources) -> None:
        """80 TXT answers of ~760 characters (60 KB): 10 kept, each cut to 200, the count says 80;
        matched whole (the tail of the last one); the line stays under 4 KiB and follows the schema."""
        strings = f'"{"x" * 240}" "{"y" * 240}" "{"z" * 240}"'
        texts = [f'host-a. 30 IN TXT "{i:04d}" {strings} "end{i}"' for i in range(80)]

        async def many(query: Any, wire: bytes, via: str) -> bytes:
            return truncated(query) if via == "udp" else response(query, *texts)

        async with FakeDNS(many) as server:
            _, record = await run_probe(spec(server, query_type="TXT", expect='"end79"$'), resources)
            assert record["status"] == "ok", record["error"]
            _, failed = await run_probe(spec(server, query_type="TXT", expect_all="end1"), resources)
        for rec in (record, failed):
            section = rec["dns"]
            assert section["answer_rrs"] == 80 and len(section["answers"]) == 10
            assert all(len(a) == 200 and a.endswith("…") for a in section["answers"])
            VALIDATOR.validate(rec)
        assert failed["error"]["kind"] == "assertion"
        assert "did not match expect_all" in failed["error"]["message"]


class TestNoLeaks:
    async def test_timeouts_and_a_stopped_sweep_leave_no_socket(self) -> None:
        """80 probes cancelled by their deadline (UDP and TCP, fallbacks in flight) and 40 more stopped
        mid-flight by the engine: the process holds as many fds afterwards as before."""

        async def stall(query: Any, wire: bytes, via: str) -> bytes | None:
            if via == "udp" and query is not None and query.question[0].name.labels[0] == b"tc":
                return truncated(query)  # then TCP, which stalls: the fallback is cancelled
            await asyncio.sleep(3600)
            return None

        async with FakeDNS(stall) as server:
            await asyncio.sleep(0.05)
            before = fds()
            specs = [
                spec(server, timeout=0.2, query_name=f"{name}.test", transport=transport)
                for name in ("plain", "tc")
                for transport in ("udp", "tcp")
            ]
            jobs = [Job(i, Target(f"h{i}", "127.0.0.1", "g"), specs[i % 4]) for i in range(80)]
            results: list[Result] = []
            res = Resources(concurrency=40)
            await Engine(jobs, results.append, concurrency=40, probe_for=probe_for, resources=res).run()
            assert [r.error.kind for r in results if r.error] == ["timeout"] * 80
            stopped: list[Result] = []
            engine = Engine(jobs[:40], stopped.append, concurrency=40, probe_for=probe_for, resources=res)
            running = asyncio.ensure_future(engine.run())
            await asyncio.sleep(0.1)
            engine.stop()
            await running
            assert {r.error.kind for r in stopped if r.error} == {"cancelled"} and len(stopped) == 40
            await res.aclose()
            for writer in list(server.writers):
                writer.transport.abort()
            await asyncio.sleep(0.2)  # transports close on the next loop iterations
            assert fds() <= before, (before, fds())
        for record in (to_record(r, "run") for r in [*results, *stopped]):
            VALIDATOR.validate(record)
