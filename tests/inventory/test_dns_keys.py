"""The dns probe's inventory keys: what validate refuses (file:line, key, exit 3), what it accepts and
how `plan` shows it, templates checked per host once rendered."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.inventory.conftest import Outcome

BAD = [
    ("query_type: AXFR", "query_type", "expected one of A, AAAA, CNAME, MX, TXT, SRV, NS, PTR, SOA, CAA"),
    ("server: dns.example.com", "server", "not an IP address (a name would need DNS itself)"),
    ("server: '127.0.0.1:0'", "server", "the port must be a number from 1 to 65535, got '127.0.0.1:0'"),
    ("server: '127.0.0.1:53x'", "server", "the port must be a number from 1 to 65535"),
    ("server: '[::1]53'", "server", "expected ip[:port], or [ipv6]:port, got '[::1]53'"),
    ("server: '010.0.0.1'", "server", "not an IP address"),
    ("transport: quic", "transport", "expected one of udp, tcp, got 'quic'"),
    ("expect_rcode: NOPE", "expect_rcode", "expected one of NOERROR, FORMERR, SERVFAIL, NXDOMAIN"),
    ("expect_rcode: []", "expect_rcode", "got an empty list"),
    ("expect: '(a)\\1'", "expect", "invalid regular expression for RE2"),
    ("expect_all: '(?<=x)y'", "expect_all", "invalid regular expression for RE2"),
    (f"query_name: {'a' * 64}.example", "query_name", "is not a DNS name"),
    ("query_name: 'a..b'", "query_name", "is not a DNS name"),
]


def inventory(probe_line: str) -> str:
    return (
        "probes:\n"
        "  lookup:\n"
        "    type: dns\n"
        f"    {probe_line}\n"
        "groups:\n"
        "  web: {hosts: [web01.example.com], probes: [lookup]}\n"
    )


class TestRefused:
    @pytest.mark.parametrize(("line", "key", "message"), BAD, ids=[b[0][:30] for b in BAD])
    def test_validate_names_file_line_and_key(
        self, cli: Callable[..., Outcome], tmp_path: Path, line: str, key: str, message: str
    ) -> None:
        """Each bad value is refused with file:4, the key path and why; exit 3, no traceback."""
        path = tmp_path / "inv.yaml"
        path.write_text(inventory(line))
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert f"{path}:4: probes.lookup.{key}: " in outcome.err and message in outcome.err, outcome.err
        assert "Traceback" not in outcome.err

    @pytest.mark.parametrize(
        ("line", "bad", "message"),
        [
            ("query_name: '{svc}.example'", "svc: 'bad..name'", "is not a DNS name"),
            ("query_name: '{svc}.example'", f"svc: '{'x' * 70}'", "is not a DNS name"),
            ("server: '{svc}'", "svc: 'ns.example.com'", "not an IP address"),
            ("server: '127.0.0.1:{p}'", "p: 99999", "the port must be a number from 1 to 65535"),
        ],
    )
    def test_templates_are_checked_once_rendered(
        self, cli: Callable[..., Outcome], tmp_path: Path, line: str, bad: str, message: str
    ) -> None:
        """A var that renders an invalid name or server is refused at the template's line, naming the
        host: the same check as a literal value, per host."""
        path = tmp_path / "inv.yaml"
        text = inventory(line).replace("web01.example.com]", "web01.example.com, web02.example.com]")
        text = text.replace("groups:\n", "defaults: {vars: {svc: '127.0.0.2', p: 53}}\ngroups:\n")
        path.write_text(text + f"  other: {{hosts: [bad.example.com], probes: [lookup], vars: {{{bad}}}}}\n")
        outcome = cli("validate", path)
        assert outcome.code == 3, outcome.err
        assert f"{path}:4: probes.lookup." in outcome.err and message in outcome.err, outcome.err
        assert "after templating" in outcome.err and "(for host bad.example.com)" in outcome.err
        assert "web01" not in outcome.err  # the hosts whose value is fine are not named


class TestAccepted:
    def test_plan_shows_canonical_values_and_defaults(
        self, cli: Callable[..., Outcome], tmp_path: Path
    ) -> None:
        """Types in any case, rcode lists, server forms (bare IPv4, :port, [v6]:port, bare v6) are
        accepted and planned canonically; the defaults read {host} and the system resolver."""
        path = tmp_path / "inv.yaml"
        path.write_text(
            "probes:\n"
            "  a: {type: dns, query_type: aaaa, server: 127.0.0.1, expect_rcode: [nxdomain, NOERROR]}\n"
            "  b: {type: dns, server: '127.0.0.1:5353', transport: tcp}\n"
            "  c: {type: dns, server: '[::1]:5353', query_name: '{host}.internal.'}\n"
            "  d: {type: dns, server: '0:0::1', query_type: TXT, expect: spf, expect_all: v=}\n"
            "  e: {type: dns}\n"
            "groups:\n"
            "  web: {hosts: [web01, web02], probes: [a, b, c, d, e]}\n"
        )
        assert cli("validate", path).code == 0
        outcome = cli("plan", path)
        assert outcome.code == 0, outcome.err
        planned = [json.loads(line) for line in outcome.out.splitlines() if line.strip()]
        by = {(p["host"], p["probe"]): p for p in planned}
        assert len(by) == 10
        params = {name: by[("web01", name)]["params"] for name in "abcde"}
        assert params["a"]["query_type"] == "AAAA" and params["a"]["server"] == "127.0.0.1:53"
        assert params["a"]["expect_rcode"] == ["NXDOMAIN", "NOERROR"]
        assert params["b"]["server"] == "127.0.0.1:5353" and params["b"]["transport"] == "tcp"
        assert params["c"]["server"] == "[::1]:5353" and params["c"]["query_name"] == "web01.internal."
        assert by[("web02", "c")]["params"]["query_name"] == "web02.internal."
        assert params["d"]["server"] == "[::1]:53"
        assert params["e"]["query_name"] == "{host}" and params["e"]["server"].startswith("system (")
        assert params["e"]["query_type"] == "A" and params["e"]["expect_rcode"] == ["NOERROR"]
