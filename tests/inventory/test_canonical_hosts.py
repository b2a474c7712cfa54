"""Host names the system resolver would read as another address (octal, hex, short forms) are refused."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prober.inventory import hostnames, ranges
from tests.conftest import run_cli
from tests.inventory.conftest import Outcome


def numeric_reading(name: str) -> str | None:
    """What getaddrinfo makes of `name` without DNS (AI_NUMERICHOST): the address it would connect to."""
    try:
        infos = socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        return None
    return str(infos[0][4][0])


def accepted(name: str) -> bool:
    try:
        hostnames.check_host(name)
    except ValueError:
        return False
    return True


# The shapes inet_aton accepts besides dotted decimal, and the ones it sends to DNS.
NOT_CANONICAL = [
    ("127.3.0.010", "127.3.0.10", "it would connect to 127.3.0.8"),
    ("127.3.0.08", "127.3.0.8", "'08' is no octal number"),
    ("127.1", "127.0.0.1", "reads it as 127.0.0.1"),
    ("0x7f.0.0.1", "127.0.0.1", "reads it as 127.0.0.1"),
    ("2130706433", "127.0.0.1", "reads it as 127.0.0.1"),
    ("017700000001", "127.0.0.1", "reads it as 127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1", "a trailing dot"),
    ("127.0.0.256", None, "four decimal numbers from 0 to 255"),
    ("1.2.3.4.5", None, "four decimal numbers from 0 to 255"),
]


class TestWhereHostsAppear:
    @pytest.mark.parametrize(("name", "write", "why"), NOT_CANONICAL, ids=[c[0] for c in NOT_CANONICAL])
    def test_host_list_address_and_jump(
        self,
        cli: Callable[..., Outcome],
        inventory_file: Callable[..., Path],
        name: str,
        write: str,
        why: str,
    ) -> None:
        """The same name is refused as a host, as an address: and as a jump host, each at its own
        file:line and key, with the form to write instead; nothing is planned."""
        path = inventory_file(
            f"""
            probes:
              t: {{type: tcp, port: 22}}
              s: {{type: ssh, command: uptime, jump: "ops@{name}:22", insecure_ignore_host_key: true}}
            groups:
              a: {{hosts: ["{name}"], probes: [t]}}
              b: {{hosts: {{db01: {{address: "{name}"}}}}, probes: [t]}}
              c: {{hosts: [c.invalid], probes: [s]}}
            """
        )
        for command in ("validate", "plan", "sweep"):
            outcome = cli(command, path)
            assert outcome.code == 3, outcome
            assert outcome.out == ""
        lines = cli("validate", path).err.splitlines()
        assert [line.split(": ")[1:3] for line in lines] == [
            [f"{path}:3", "probes.s.jump"],
            [f"{path}:5", "groups.a.hosts[0]"],
            [f"{path}:6", "groups.b.hosts.db01.address"],
        ]
        for line in lines:
            assert f"{name!r} is not a canonical IPv4 address" in line and why in line
            assert (f"write {write}" in line) == (write is not None), line

    @pytest.mark.parametrize(
        ("name", "write", "why"), NOT_CANONICAL[:4], ids=[c[0] for c in NOT_CANONICAL[:4]]
    )
    def test_url_host_literal_and_templated(
        self,
        cli: Callable[..., Outcome],
        inventory_file: Callable[..., Path],
        name: str,
        write: str,
        why: str,
    ) -> None:
        """A URL's host written in the URL, or filled in from a var, is held to the same rule."""
        path = inventory_file(
            f"""
            probes:
              lit: {{type: http, url: "http://{name}:8080/health"}}
              tpl: {{type: http, url: "http://{{ip}}:8080/health"}}
            groups:
              g: {{hosts: [h.invalid], vars: {{ip: "{name}"}}, probes: [lit, tpl]}}
            """
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        lit, tpl = outcome.err.splitlines()
        assert lit.startswith(f"error: {path}:2: probes.lit.url: URL host {name!r} is not a canonical")
        assert tpl.startswith(f"error: {path}:3: probes.tpl.url: after templating: URL host {name!r} is not")
        assert tpl.endswith("(for host h.invalid)")
        assert f"write {write}" in lit and f"write {write}" in tpl

    def test_zero_padded_range_gets_the_unpadded_range_as_advice(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """10.0.0.[001:020] (what a zero-padded range over an address gives) is refused with the range to
        write instead; the same range without padding validates."""
        path = inventory_file(
            """
            probes: {t: {type: tcp, port: 22}}
            groups: {g: {hosts: ["10.0.0.[001:020]", "10.1.[0:255].[08:09]"], probes: [t]}}
            """
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        first, second = outcome.err.splitlines()
        assert first == (
            f"error: {path}:2: groups.g.hosts[0]: host range '10.0.0.[001:020]' is zero-padded: it gives "
            "'10.0.0.001', which the system resolver reads as octal (08 and 09 as a DNS name); write the "
            "range without padding: 10.0.0.[1:20]"
        )
        assert second.endswith("write the range without padding: 10.1.[0:255].[8:9]")
        fixed = inventory_file(path.read_text().replace("[001:020]", "[1:20]").replace("[08:09]", "[8:9]"))
        assert cli("validate", fixed).code == 0

    @pytest.mark.parametrize(
        ("pattern", "message"),
        [
            ("10.0.0.[1:300]", "'10.0.0.256' is not a canonical IPv4 address"),
            ("10.0.[0:1].[0:255].", "a trailing dot"),
            ("[1:5]", "'1' is not a canonical IPv4 address"),
            ("a..b.example", "has an empty label"),
            ("x" * 64 + ".example", "one over 63 characters"),
            ("web[1:2]" + "x" * 62 + ".example", "one over 63 characters"),  # only the last name is too long
        ],
    )
    def test_other_ranges_and_labels(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], pattern: str, message: str
    ) -> None:
        """Ranges past 255 or with a trailing dot, bare numbers, and labels the resolver cannot encode
        (getaddrinfo raised UnicodeError for them: an `internal` record) are refused at validate."""
        path = inventory_file(
            f'probes: {{t: {{type: tcp, port: 22}}}}\ngroups: {{g: {{hosts: ["{pattern}"], probes: [t]}}}}\n'
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert outcome.err.startswith(f"error: {path}:2: groups.g.hosts[0]: ")
        assert message in outcome.err

    @pytest.mark.parametrize(
        "name",
        ["10.0.0.1", "0.0.0.0", "255.255.255.255", "web01.example.com", "db-01", "10.0.0.1.example.com",
         "example.com.", "::1", "fe80::1%eth0", "1x.example", "0x7f.example", "cafe"],
    )  # fmt: skip
    def test_ordinary_names_pass(self, name: str) -> None:
        """DNS names (a rooted one too), canonical IPv4 and IPv6 are what they were."""
        hostnames.check_host(name)


# Labels as people and tools write them: decimal, zero-padded, octal, hex, empty; 1 to 5 of them.
LABEL = st.one_of(
    st.integers(0, 300).map(str),
    st.tuples(st.integers(1, 3), st.integers(0, 300)).map(lambda t: str(t[1]).zfill(t[0] + len(str(t[1])))),
    st.integers(0, 0xFFFF).map(hex),
    st.integers(0, 0o777).map(lambda n: "0" + format(n, "o")),
    st.sampled_from(["", "0x", "08", "09", "a", "web", "0X1F", "4294967295", "4294967296"]),
)
NAMES = st.one_of(
    st.lists(LABEL, min_size=1, max_size=5).map(".".join),
    st.lists(LABEL, min_size=1, max_size=4).map(lambda labels: ".".join(labels) + "."),
    st.text(alphabet="0123456789abcdefxX.", min_size=1, max_size=20),
)


class TestProperties:
    @settings(max_examples=400, deadline=None)
    @given(NAMES)
    def test_accepted_names_are_what_the_resolver_reads(self, name: str) -> None:
        """Any name validate accepts is either no number to the system resolver (a DNS name) or exactly
        the address the resolver reads: never another host under the name the user reads."""
        if not accepted(name):
            return
        reading = numeric_reading(name)
        assert reading is None or reading == name, (name, reading)
        if hostnames.looks_like_ipv4(name):
            assert str(ipaddress.IPv4Address(name)) == name

    @settings(max_examples=200, deadline=None)
    @given(st.ip_addresses(v=4))
    def test_every_canonical_address_is_accepted(self, address: ipaddress.IPv4Address) -> None:
        """Every IPv4 address written the canonical way passes, as a name and inside a URL."""
        hostnames.check_host(str(address))

    @settings(max_examples=150, deadline=None)
    @given(
        prefix=st.lists(st.integers(0, 255).map(str), min_size=3, max_size=3).map(".".join),
        low=st.integers(0, 300),
        span=st.integers(0, 30),
        pad=st.integers(0, 3),
    )
    def test_a_range_is_accepted_only_if_every_address_is(
        self, prefix: str, low: int, span: int, pad: int
    ) -> None:
        """A range over the last octet validates exactly when every name it expands to would pass on its
        own and reads, to the resolver, as written."""
        start = str(low).zfill(pad + len(str(low)) if pad else 0)
        pattern = f"{prefix}.[{start}:{low + span}]"
        try:
            ranges.validate(pattern)
            valid = True
        except ValueError:
            valid = False
        width = len(start) if start.startswith("0") and len(start) > 1 else 0  # Ansible keeps the padding
        names = [f"{prefix}.{str(n).zfill(width)}" for n in range(low, low + span + 1)]
        every = all(accepted(n) and numeric_reading(n) == n for n in names)
        assert valid == every, (pattern, valid)


class TestNothingIsProbed:
    async def test_padded_address_never_reaches_the_octal_one(
        self, inventory_file: Callable[..., Path], loopback_block: int
    ) -> None:
        """With a listener on 127.B.0.8, a sweep naming 127.B.0.010 exits 3 and that listener is never
        connected to (before, the TCP probe reached it and reported ok under the .010 name)."""
        hits: list[int] = []

        async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            hits.append(1)
            writer.close()

        server = await asyncio.start_server(count, f"127.{loopback_block}.0.8", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            block = loopback_block
            path = inventory_file(
                f"probes: {{t: {{type: tcp, port: {port}}}}}\n"
                f'groups: {{g: {{hosts: ["127.{block}.0.010", "127.{block}.0.8"], probes: [t]}}}}\n'
            )
            proc = await asyncio.to_thread(run_cli, "sweep", str(path))
            control = await asyncio.to_thread(run_cli, "sweep", str(inventory_file(
                f'probes: {{t: {{type: tcp, port: {port}}}}}\n'
                f'groups: {{g: {{hosts: ["127.{loopback_block}.0.8"], probes: [t]}}}}\n', "control.yaml"
            )))  # fmt: skip
        finally:
            server.close()
        assert proc.returncode == 3 and proc.stdout == ""
        assert f"write 127.{loopback_block}.0.10" in proc.stderr
        assert control.returncode == 0, control.stderr  # the listener is reachable: 0 hits is meaningful
        assert json.loads(control.stdout.splitlines()[0])["status"] == "ok"
        assert len(hits) == 1  # the control sweep's probe, none from the refused one
