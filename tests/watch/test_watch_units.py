"""The watch's pieces on their own: spread points and order, blackbox's timeout rule, --listen, targets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from prober.cli.sweep import SweepFlags, load
from prober.cli.watch import listen_address
from prober.model import Job, Target
from prober.probes.tcp import TCPSpec
from prober.runtime.probeone import Plan, Refused, resolve, scrape_timeout
from prober.runtime.spread import Spread, host_point, longest_sweep, window


def jobs(names: list[str], timeout: float = 1.0, retries: int = 0) -> list[Job]:
    spec = TCPSpec(name="tcp", port=22, timeout=timeout, retries=retries)
    return [Job(i, Target(name, name, "g"), spec) for i, name in enumerate(names)]


class TestSpread:
    def test_points_are_fixed_per_name(self) -> None:
        """A host's point depends on its name only, lies in [0, 1), and names spread evenly."""
        names = [f"web{i:05d}.example.com" for i in range(10_000)]
        points = [host_point(name) for name in names]
        assert points == [host_point(name) for name in names]
        assert all(0 <= p < 1 for p in points)
        deciles = [sum(1 for p in points if k / 10 <= p < (k + 1) / 10) for k in range(10)]
        assert all(850 < count < 1150 for count in deciles), deciles  # 1,000 ± 5 standard deviations

    def test_order_and_offsets(self) -> None:
        """Jobs in start order; a host's probes together, in plan order; offsets scaled to the window."""
        plan = jobs(["b", "a", "c", "a"])
        spread = Spread(plan, 10.0)
        assert list(spread.offsets) == sorted(spread.offsets)
        assert [j.index for j in spread.jobs if j.target.name == "a"] == [1, 3]
        assert spread.offsets[[j.target.name for j in spread.jobs].index("c")] == host_point("c") * 10.0

    def test_window(self) -> None:
        """The interval less 10% and the worst probe (timeout per attempt, backoff between); never < 0."""
        assert window(30.0, jobs(["a"], timeout=2.0, retries=1)) == pytest.approx(27.0 - 4.0 - 1.5)
        assert window(2.0, jobs(["a"], timeout=2.0)) == 0.0
        plan = Plan(None, type("S", (), {"concurrency": 2})(), tuple(jobs(["a", "b", "c"], timeout=2.0)))  # type: ignore[arg-type]
        assert longest_sweep(plan, 5.0) == 5.0 + 2 * 2.0

    async def test_pace_waits_before_the_clock(self) -> None:
        """pace(slot) returns at the slot's offset from the first call."""
        spread = Spread(jobs(["a", "b", "c"]), 0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await spread.pace(0)
        last = len(spread.jobs) - 1
        await spread.pace(last)
        assert loop.time() - started >= spread.offsets[last] - 0.01


class TestScrapeTimeout:
    @pytest.mark.parametrize(
        ("header", "module", "expected"),
        [
            (None, 5.0, 5.0),  # no header: 120 s less 0.5, the module's is smaller
            ("10", 5.0, 5.0),
            ("3", 5.0, 2.5),
            ("0.4", 5.0, 5.0),  # less than the offset: the module's (as blackbox)
            ("0", 5.0, 5.0),
            ("200", 150.0, 150.0),
        ],
    )
    def test_blackbox_rule(self, header: str | None, module: float, expected: float) -> None:
        """The Prometheus header less 0.5 s, or the module's timeout when that is smaller (getTimeout)."""
        assert scrape_timeout(header, module) == expected

    def test_bad_header(self) -> None:
        with pytest.raises(Refused) as caught:
            scrape_timeout("soon", 5.0)
        assert caught.value.status == 500


class TestListen:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [("127.0.0.1:9115", ("127.0.0.1", 9115)), ("[::1]:0", ("::1", 0)), ("0.0.0.0:80", ("0.0.0.0", 80))],
    )
    def test_good(self, text: str, expected: tuple[str, int]) -> None:
        assert listen_address(text) == expected

    @pytest.mark.parametrize("text", [":9115", "9115", "127.0.0.1:", "127.0.0.1:70000", "a b:1", "[::1]:x"])
    def test_bad(self, text: str) -> None:
        with pytest.raises(ValueError, match="HOST:PORT"):
            listen_address(text)


class TestResolve:
    @pytest.fixture
    def plan(self, tmp_path: Path) -> Plan:
        path = tmp_path / "inventory.yaml"
        path.write_text(
            "defaults: {vars: {region: eu}}\n"
            "probes:\n"
            '  web: {type: http, url: "http://{address}:8080/{region}"}\n'
            '  port: {type: tcp, port: "{port}"}\n'
            "groups:\n"
            "  web: {probes: [web], hosts: {web01: {address: 127.0.0.7, vars: {region: us}}}}\n"
        )
        return Plan(*load(str(path), SweepFlags()))

    def test_inventory_host_keeps_its_vars(self, plan: Plan) -> None:
        """An inventory host's planned job: its address and vars, as the sweeps probe it."""
        job = resolve(plan, "web01", "web", any_target=True)
        assert (job.target.address, job.spec.url) == ("127.0.0.7", "http://127.0.0.7:8080/us")  # type: ignore[attr-defined]

    def test_other_host_gets_defaults(self, plan: Plan) -> None:
        """Another host: the module with `defaults.vars`, group `probe`; IPv6 in brackets in the URL."""
        job = resolve(plan, "::1", "web", any_target=True)
        assert (job.target.group, job.spec.url) == ("probe", "http://[::1]:8080/eu")  # type: ignore[attr-defined]
        assert resolve(plan, "[::1]:2222", "port", any_target=True).spec.port == 2222  # type: ignore[attr-defined]

    def test_refusals(self, plan: Plan) -> None:
        """Inventory-only mode, a port the module does not take, a missing {port}: refused with why."""
        with pytest.raises(Refused, match="not an inventory host"):
            resolve(plan, "127.0.0.8", "web", any_target=False)
        with pytest.raises(Refused, match=r"no \{port\}"):
            resolve(plan, "web01:81", "web", any_target=True)
        with pytest.raises(Refused, match="port"):
            resolve(plan, "127.0.0.8", "port", any_target=True)
