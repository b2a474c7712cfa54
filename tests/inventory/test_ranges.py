"""Host range expansion: Ansible rules, size limits that never materialise a huge range, clear errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prober.inventory import ranges
from prober.plan import MAX_JOBS
from tests.conftest import ROOT, cli_env
from tests.inventory.conftest import Outcome


class TestExpand:
    @pytest.mark.parametrize(
        ("pattern", "first", "last", "count"),
        [
            ("web[01:40].example.com", "web01.example.com", "web40.example.com", 40),
            ("10.0.3.[1:20]", "10.0.3.1", "10.0.3.20", 20),
            ("n[001:100]", "n001", "n100", 100),
            ("n[0:99:10]", "n0", "n90", 10),
            ("x[a:z]", "xa", "xz", 26),
            ("x[A:Z:5]", "xA", "xZ", 6),
            ("plain.host", "plain.host", "plain.host", 1),
            ("r[1:3][a:b]", "r1a", "r3b", 6),
        ],
    )
    def test_expand_and_count(self, pattern: str, first: str, last: str, count: int) -> None:
        """expand() yields names in order; count() agrees without expanding."""
        names = list(ranges.expand(pattern))
        assert (names[0], names[-1], len(names)) == (first, last, count)
        assert ranges.count(pattern) == count
        assert len(set(names)) == count

    @pytest.mark.parametrize(
        ("pattern", "message"),
        [
            ("h[5:1]", "bad range [5:1]: range start 5 is after its end 1"),
            ("h[z:a]", "bad range [z:a]: range start 'z' is after its end 'a'"),
            ("h[a:Z]", "bad range [a:Z]: letter ends must be both lower case or both upper case"),
            ("h[a:9]", "bad range [a:9]: ends must be both numbers or both single letters"),
            ("h[aa:b]", "bad range [aa:b]: ends must be both numbers or both single letters"),
            ("h[1:]", "bad range [1:]: expected [start:end] or [start:end:stride]"),
            ("h[:3]", "bad range [:3]: expected [start:end] or [start:end:stride]"),
            ("h[1:3:0]", "bad range [1:3:0]: stride must be a positive integer"),
            ("h[1:3:-1]", "bad range [1:3:-1]: stride must be a positive integer"),
            ("h[1:2:3:4]", "bad range [1:2:3:4]: expected [start:end] or [start:end:stride]"),
            ("h[\u0663:5]", "bad range [\u0663:5]: ends must be both numbers or both single letters"),
            ("h[1:3", "unbalanced bracket in host pattern 'h[1:3'"),
            ("h1:3]", "unbalanced bracket in host pattern 'h1:3]'"),
            ("h[[1:3]]", "unbalanced bracket"),
            ("", "host name '' is empty or contains whitespace"),
            ("a b", "host name 'a b' is empty or contains whitespace"),
            ("h;x", "host name 'h;x' may only contain"),
        ],
    )
    def test_errors(self, pattern: str, message: str) -> None:
        """Each malformed pattern raises ValueError with a message naming the range."""
        with pytest.raises(ValueError, match="^" + re.escape(message)):
            ranges.validate(pattern)

    def test_huge_range_is_refused_without_expanding(self) -> None:
        """A range of 10^12 hosts is refused at once (it used to build the whole list first)."""
        started = time.perf_counter()
        with pytest.raises(ValueError, match=r"expands to 1000000000000 hosts, over 1000000"):
            ranges.validate("h[1:1000000000000]")
        assert time.perf_counter() - started < 1.0

    def test_product_of_ranges_is_bounded(self) -> None:
        """Two ranges multiply: 2000 x 2000 is over the per-pattern limit."""
        with pytest.raises(ValueError, match="expands to 4000000 hosts"):
            ranges.validate("h[1:2000]-[1:2000]")


class TestPlanSize:
    def test_too_many_planned_probes(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """Patterns that together plan more than MAX_JOBS probes are refused quickly, before planning."""
        path = inventory_file(
            """
            probes: {p: {type: tcp, port: 1}, q: {type: tcp, port: 2}, r: {type: tcp, port: 3}}
            groups:
              g: {hosts: ["a[1:1000000].invalid"], probes: [p, q, r]}
            """
        )
        started = time.perf_counter()
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert f"the inventory plans 3000000 probes, over the limit of {MAX_JOBS}" in outcome.err
        assert time.perf_counter() - started < 5


class TestPlanPipe:
    def test_plan_into_head_is_quiet(self, inventory_file: Callable[..., Path]) -> None:
        """`prober plan big.yaml | head -2` prints two lines, exits quietly, no BrokenPipe traceback."""
        path = inventory_file(
            "probes: {p: {type: tcp, port: 1}}\ngroups: {g: {hosts: ['h[1:20000].invalid'], probes: [p]}}\n"
        )
        command = f"{sys.executable} -m prober plan {path} | head -2"
        proc = subprocess.run(
            ["/bin/sh", "-c", command], capture_output=True, text=True, timeout=60, env=cli_env(), cwd=ROOT
        )
        lines = proc.stdout.splitlines()
        assert [json.loads(line)["host"] for line in lines] == ["h1.invalid", "h2.invalid"]
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


class TestRangeProperties:
    @settings(max_examples=200, deadline=None)
    @given(
        prefix=st.sampled_from(["", "web", "db-", "10.0."]),
        low=st.integers(0, 500),
        span=st.integers(0, 300),
        stride=st.integers(1, 7),
        pad=st.integers(0, 4),
    )
    def test_numeric_ranges(self, prefix: str, low: int, span: int, stride: int, pad: int) -> None:
        """Any numeric range expands to start, start+stride, ... <= end, padded to the start's width."""
        start = str(low).zfill(len(str(low)) + pad)
        pattern = f"{prefix}[{start}:{low + span}:{stride}].x"
        names = list(ranges.expand(pattern))
        width = len(start) if start.startswith("0") and len(start) > 1 else 0
        assert names == [f"{prefix}{str(n).zfill(width)}.x" for n in range(low, low + span + 1, stride)]
        assert ranges.count(pattern) == len(names)


class TestHostNames:
    @pytest.mark.parametrize(
        "name", ["web01.example.com", "10.0.0.1", "::1", "fe80::1%eth0", "2001:db8::[1:3]", "_srv", "a-b_c.d"]
    )
    def test_accepted(self, name: str) -> None:
        """DNS-style names, IPv4 and IPv6 addresses (with a zone) are valid host names."""
        ranges.validate(name)

    @pytest.mark.parametrize(
        ("name", "message"),
        [
            ("a:b", "'a:b' has ':' or '%' but is not an IPv6 address"),
            ("host%eth0", "'host%eth0' has ':' or '%' but is not an IPv6 address"),
            ("fe80::1%", "'fe80::1%' has ':' or '%' but is not an IPv6 address"),
            ("-oProxyCommand", "host name '-oProxyCommand' may only contain letters, digits"),
            ("user@host", "host name 'user@host' may only contain"),
            ("host/path", "host name 'host/path' may only contain"),
        ],
    )
    def test_refused(self, name: str, message: str) -> None:
        """Anything that could change a URL's authority or a command's meaning is refused."""
        with pytest.raises(ValueError, match=re.escape(message)):
            ranges.validate(name)
