"""DNS probe against a real DNS server on loopback (dnsmasq): every query type, rcodes, answers judged
by regex, TCP, truncation and the fallback to TCP, and the system resolver read from resolv.conf."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from prober.probes.dns import DNSSpec, system
from prober.runtime.resources import Resources
from tests.conftest import ROOT, run_cli
from tests.probes.conftest import run_probe
from tests.probes.dnsservers import DNSMASQ, Dnsmasq, dnsmasq

VALIDATOR = jsonschema.Draft202012Validator(
    json.loads((ROOT / "prober" / "schema" / "result.schema.json").read_text())
)
pytestmark = pytest.mark.skipif(
    not os.access(DNSMASQ, os.X_OK), reason="dnsmasq (Debian package dnsmasq) missing: .ci/run installs it"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dnsmasq]:
    with dnsmasq(tmp_path_factory.mktemp("dnsmasq")) as running:
        yield running


def spec(server: Dnsmasq, name: str, **kw: Any) -> DNSSpec:
    kw.setdefault("timeout", 2.0)  # answers come in ~1 ms: generous for a loaded machine
    kw.setdefault("retries", 0)
    return DNSSpec(name="dns", server=server.server, query_name=name, **kw)


# (query name, type, what the answer's data is)
TYPES = [
    ("web.test.lan", "A", "127.9.9.9"),
    ("v6.test.lan", "AAAA", "fd00::53"),
    ("alias.test.lan", "CNAME", "web2.test.lan."),
    ("test.lan", "MX", "10 mail.test.lan."),
    ("txt.test.lan", "TXT", '"v=spf1 -all"'),
    ("_sip._tcp.test.lan", "SRV", "1 2 5060 sip.test.lan."),
    ("test.lan", "NS", "ns1.test.lan."),
    ("10.9.9.127.in-addr.arpa", "PTR", "web2.test.lan."),
    ("test.lan", "SOA", "ns1.test.lan. hostmaster.test.lan. 2026113001 "),
    ("test.lan", "CAA", '0 issue "letsencrypt.org"'),
]


class TestQueryTypes:
    @pytest.mark.parametrize(("name", "qtype", "data"), TYPES, ids=[t[1] for t in TYPES])
    async def test_each_type_answers_as_dig_prints_it(
        self, server: Dnsmasq, resources: Resources, name: str, qtype: str, data: str
    ) -> None:
        """Each query type gets its record; the answer reads name, TTL, class, type, data (tab-separated)
        and `expect` on the data passes."""
        regex = "\t" + qtype + "\t" + data.replace(".", "\\.").replace("(", "\\(")
        _, record = await run_probe(spec(server, name, query_type=qtype, expect=regex), resources)
        assert record["status"] == "ok", record["error"]
        section = record["dns"]
        assert section["rcode"] == "NOERROR" and section["server"] == server.server
        head = f"{name}.\t"
        assert any(a.startswith(head) and f"\tIN\t{qtype}\t{data}" in a for a in section["answers"]), section

    async def test_cname_chain_is_in_the_answers(self, server: Dnsmasq, resources: Resources) -> None:
        """An A query for an alias answers the CNAME and the A it leads to; expect_all sees both."""
        _, record = await run_probe(spec(server, "alias.test.lan", expect_all="\tA\t"), resources)
        assert record["error"]["kind"] == "assertion"
        assert "CNAME" in record["error"]["message"] and "expect_all" in record["error"]["message"]
        assert [a.split("\t")[3] for a in record["dns"]["answers"]] == ["CNAME", "A"]
        _, record = await run_probe(spec(server, "alias.test.lan", expect_all="\t(CNAME|A)\t"), resources)
        assert record["status"] == "ok"

    async def test_tcp_transport(self, server: Dnsmasq, resources: Resources) -> None:
        """transport: tcp asks over TCP; the record says which transport brought the reply."""
        _, record = await run_probe(spec(server, "web.test.lan", transport="tcp"), resources)
        assert record["status"] == "ok" and record["dns"]["transport"] == "tcp"
        _, record = await run_probe(spec(server, "web.test.lan"), resources)
        assert record["dns"]["transport"] == "udp"


class TestRcodes:
    async def test_nxdomain_fails_unless_expected(self, server: Dnsmasq, resources: Resources) -> None:
        """A name the server does not hold is NXDOMAIN: an assertion by default, ok when expected."""
        _, record = await run_probe(spec(server, "nope.test.lan"), resources)
        assert record["error"] == {"kind": "assertion", "message": "rcode NXDOMAIN, expected NOERROR"}
        assert record["dns"]["rcode"] == "NXDOMAIN" and record["attempts"] == 1  # never retried
        _, record = await run_probe(spec(server, "nope.test.lan", expect_rcode=("NXDOMAIN",)), resources)
        assert record["status"] == "ok"

    async def test_refused_rcode_is_an_assertion(self, server: Dnsmasq, resources: Resources) -> None:
        """dnsmasq answers REFUSED for a zone it does not serve: the server answered, so a wrong rcode
        (assertion), not a refused connection."""
        _, record = await run_probe(spec(server, "elsewhere.example", retries=1), resources)
        assert record["error"]["kind"] == "assertion" and record["dns"]["rcode"] == "REFUSED"
        assert record["attempts"] == 1


class TestAnswers:
    async def test_expect_mismatch_is_an_assertion(self, server: Dnsmasq, resources: Resources) -> None:
        """No answer matching `expect` fails, and the record shows what came back."""
        _, record = await run_probe(spec(server, "web.test.lan", expect="127\\.0\\.0\\.1$"), resources)
        assert record["error"]["kind"] == "assertion"
        assert record["error"]["message"] == "none of 1 answers matched expect '127\\\\.0\\\\.0\\\\.1$'"
        assert record["dns"]["answers"] == ["web.test.lan.\t600\tIN\tA\t127.9.9.9"]

    async def test_expect_on_an_empty_answer_fails(self, server: Dnsmasq, resources: Resources) -> None:
        """NOERROR without answers (no AAAA for web) matches neither expect nor expect_all."""
        for key in ("expect", "expect_all"):
            probe = spec(server, "web.test.lan", query_type="AAAA", **{key: "."})
            _, record = await run_probe(probe, resources)
            assert record["error"]["kind"] == "assertion" and record["dns"]["answers"] == []
            assert record["error"]["message"].startswith("no answer"), record["error"]

    async def test_truncated_udp_falls_back_to_tcp_and_every_answer_is_matched(
        self, server: Dnsmasq, resources: Resources
    ) -> None:
        """40 A records do not fit dnsmasq's 512-byte UDP reply: it sets TC, prober asks again over
        TCP. The record keeps 10 answers and the count; `expect` is matched against all 40."""
        for last in range(1, 41):
            _, record = await run_probe(spec(server, "many.test.lan", expect=f"\\.{last}$"), resources)
            assert record["status"] == "ok", (last, record["error"])
            section = record["dns"]
            assert section["transport"] == "tcp" and section["answer_rrs"] == 40
            assert len(section["answers"]) == 10

    async def test_expect_all_over_many_answers(self, server: Dnsmasq, resources: Resources) -> None:
        """expect_all passes when all 40 answers match, and fails on the one that does not."""
        _, record = await run_probe(spec(server, "many.test.lan", expect_all="\t127\\.8\\.0\\."), resources)
        assert record["status"] == "ok"
        below_40 = "\\.([1-9]|[1-3]\\d)$"
        _, record = await run_probe(spec(server, "many.test.lan", expect_all=below_40), resources)
        assert record["error"]["kind"] == "assertion" and "127.8.0.40" in record["error"]["message"]


class TestSystemResolver:
    async def test_default_server_is_the_first_resolv_conf_nameserver(
        self, resources: Resources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without `server`, the first nameserver of resolv.conf is asked on port 53 (here a loopback
        address where nothing listens: the kernel's port unreachable makes it `refused`), and the
        record names it."""
        conf = tmp_path / "resolv.conf"
        conf.write_text("search example\nnameserver 127.53.53.53\nnameserver 127.53.53.54\noptions ndots:2\n")
        monkeypatch.setattr(system, "RESOLV_CONF", str(conf))
        _, record = await run_probe(DNSSpec(name="dns", retries=0, timeout=2.0), resources)
        assert record["error"]["kind"] == "refused"
        assert record["dns"]["server"] == "127.53.53.53:53"

    async def test_no_nameserver_fails_each_probe_as_dns(
        self, resources: Resources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A resolv.conf without a nameserver fails each probe that needs it, kind dns, saying so."""
        conf = tmp_path / "resolv.conf"
        conf.write_text("# nothing here\n")
        monkeypatch.setattr(system, "RESOLV_CONF", str(conf))
        _, record = await run_probe(DNSSpec(name="dns", retries=0), resources)
        assert record["error"]["kind"] == "dns"
        assert str(conf) in record["error"]["message"] and "server" in record["error"]["message"]

    @pytest.mark.skipif(os.geteuid() != 0, reason="port 53 needs root")
    async def test_system_resolver_answers(
        self, resources: Resources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A real resolver on port 53 of a loopback address, named in resolv.conf, answers the host's
        own name (query_name defaults to {host})."""
        from tests.probes.dnsservers import FakeDNS, response

        async def answer(query: Any, wire: bytes, transport: str) -> bytes:
            return response(query, "host-a. 30 IN A 127.7.7.7")

        address = f"127.53.{random.randint(0, 255)}.{random.randint(1, 254)}"
        fake = FakeDNS(answer, address=address, port=53)
        try:
            await fake.__aenter__()
        except OSError as exc:  # a system DNS service holding *:53
            pytest.skip(f"port 53 of {address} cannot be bound: {exc.strerror}")
        try:
            conf = tmp_path / "resolv.conf"
            conf.write_text(f"nameserver {fake.address}\n")
            monkeypatch.setattr(system, "RESOLV_CONF", str(conf))
            _, record = await run_probe(DNSSpec(name="dns", retries=0, timeout=2.0), resources)
        finally:
            await fake.__aexit__()
        assert record["status"] == "ok", record["error"]
        assert record["dns"]["answers"] == ["host-a.\t30\tIN\tA\t127.7.7.7"]
        assert record["dns"]["server"] == f"{address}:53"


class TestSweep:
    @pytest.mark.parametrize("workers", ["1", "2"])
    def test_templated_names_swept_per_host(self, server: Dnsmasq, tmp_path: Path, workers: str) -> None:
        """`prober sweep` over an inventory whose query_name is templated per host: each host's own name
        is asked, each record follows the published schema, and the verdict is the sweep's exit code."""
        inventory = tmp_path / "dns.yaml"
        inventory.write_text(
            "defaults: {retries: 0}\n"
            "probes:\n"
            f"  lookup: {{type: dns, server: '{server.server}', query_name: '{{host}}.test.lan'}}\n"
            f"  mx: {{type: dns, server: '{server.server}', query_name: test.lan, query_type: MX,"
            " transport: tcp, expect: '\\tMX\\t10 mail\\.test\\.lan\\.$'}\n"
            "groups:\n"
            "  web: {hosts: [web, web2, nope, many], probes: [lookup]}\n"
            "  mail: {hosts: [mx1], probes: [mx]}\n"
        )
        proc = run_cli("sweep", str(inventory), "--workers", workers, timeout=60)
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        records = {r["host"]: r for r in lines if r["event"] == "probe"}
        for record in records.values():
            VALIDATOR.validate(record)
        assert proc.returncode == 2, proc.stderr  # nope fails
        assert records["web"]["dns"]["answers"] == ["web.test.lan.\t600\tIN\tA\t127.9.9.9"]
        assert records["web2"]["dns"]["answers"] == ["web2.test.lan.\t600\tIN\tA\t127.9.9.10"]
        assert records["nope"]["error"]["message"] == "rcode NXDOMAIN, expected NOERROR"
        assert records["many"]["status"] == "ok" and records["many"]["dns"]["transport"] == "tcp"
        assert records["mx1"]["status"] == "ok", records["mx1"]
        assert lines[-1]["counts"] == {"ok": 4, "warn": 0, "fail": 1}
