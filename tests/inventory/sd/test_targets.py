"""Prometheus targets (`host[:port]`) split into a host prober can template and a port."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prober.inventory import ranges
from prober.inventory.sources.sd import split_target


class TestSplitTarget:
    @pytest.mark.parametrize(
        ("target", "host", "port"),
        [
            ("web01:9100", "web01", 9100),
            ("web01.example.com", "web01.example.com", None),
            ("10.0.0.5:1", "10.0.0.5", 1),
            ("10.0.0.5", "10.0.0.5", None),
            ("[::1]:9100", "::1", 9100),
            ("[2001:db8::1]", "2001:db8::1", None),
            ("::1", "::1", None),  # bare IPv6, no port: as Prometheus takes it
            ("[fe80::1%eth0]:65535", "fe80::1%eth0", 65535),
            ("db_1-a:08080", "db_1-a", 8080),
        ],
    )
    def test_valid(self, target: str, host: str, port: int | None) -> None:
        """host[:port], IPv6 in brackets with a port, bare IPv6 without one."""
        assert split_target(target) == (host, port)

    @pytest.mark.parametrize(
        ("target", "why"),
        [
            ("", "no host"),
            (":9100", "no host"),
            ("web01:", "port ''"),
            ("web01:0", "1 to 65535"),
            ("web01:65536", "1 to 65535"),
            ("web01:+80", "1 to 65535"),
            ("web01:٣", "1 to 65535"),  # a non-ASCII digit
            ("http://web01:9100/metrics", "not host[:port]"),
            ("web01/metrics", "not host[:port]"),
            ("user@web01", "not host[:port]"),
            ("web 01", "not host[:port]"),
            ("[web01]:80", "IPv6 addresses only"),
            ("1.2.3.4:80:90", "not host[:port]"),
            ("[::1]x", "not host[:port]"),
            ("-web:80", "not host[:port]"),
            ("web01:80\n", "1 to 65535"),
            ("010.0.0.1:80", "not a canonical IPv4 address"),  # the resolver would read octal: 8.0.0.1
            ("127.1:9100", "not a canonical IPv4 address"),
        ],
    )
    def test_invalid(self, target: str, why: str) -> None:
        """Anything that could move a URL's authority or is no port is a ValueError saying why."""
        with pytest.raises(ValueError, match="target") as caught:
            split_target(target)
        assert why in str(caught.value)

    @settings(max_examples=400, deadline=None)
    @given(st.text(alphabet=st.sampled_from("ab1.:-_[]%/@ 9x\n"), max_size=20) | st.text(max_size=12))
    def test_any_text_splits_safely_or_is_refused(self, target: str) -> None:
        """Any text gives a ValueError or a host prober accepts and a port in range that rebuild it."""
        try:
            host, port = split_target(target)
        except ValueError:
            return
        ranges.check_host(host)
        if port is None:
            assert target in (host, f"[{host}]")
        else:
            assert 0 < port < 65536
            assert target.rsplit(":", 1)[0] in (host, f"[{host}]")
