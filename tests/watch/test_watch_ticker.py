"""`prober watch`'s ticker: no overlapping sweeps, missed ticks counted, a steady schedule, --spread."""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path
from typing import Any

from prober.runtime.spread import host_point
from tests.cli.hostile import free_port
from tests.sinks.promtext import value
from tests.watch.conftest import RecordingServers, inventory


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


class TestTicker:
    def test_a_long_sweep_delays_the_next(self, watch_process: Any, servers: RecordingServers,
                                          loopback_block: int, tmp_path: Path) -> None:  # fmt: skip
        """Sweeps of ~1 s at a 0.3 s interval never overlap (the host never has two requests at once),
        each starts after the previous ended, and the ticks that passed are counted as missed."""
        address = f"127.{loopback_block}.0.1"
        port = free_port(address)
        servers.serve(address, port, delay=1.0)
        path = inventory(tmp_path / "slow.yaml", port, {"web": [address]}, timeout="5s")
        watch = watch_process(path, "--interval", "0.3s")
        watch.wait_sweeps(3)
        assert servers.arrivals.most_in_flight == 1
        assert min(gaps(servers.arrivals.of(address))) >= 0.95
        missed = value(watch.metrics(), "prober_watch_missed_ticks_total")
        assert missed is not None and missed >= 3 * 2  # at least 2 ticks pass during each 1 s sweep
        assert watch.logs("sweep outlasted the interval; the next starts now")

    def test_steady_schedule(self, watch_process: Any, servers: RecordingServers, loopback_block: int,
                             tmp_path: Path) -> None:  # fmt: skip
        """Quick sweeps start one interval apart, counted from the first start (no drift), none missed."""
        address = f"127.{loopback_block}.0.1"
        port = free_port(address)
        servers.serve(address, port)
        path = inventory(tmp_path / "quick.yaml", port, {"web": [address]})
        watch = watch_process(path, "--interval", "0.5s")
        watch.wait_for("7 requests", lambda: len(servers.arrivals.of(address)) >= 7)
        times = servers.arrivals.of(address)[:7]
        assert 2.7 <= times[-1] - times[0] <= 3.4, gaps(times)  # 6 intervals of 0.5 s
        assert value(watch.metrics(), "prober_watch_missed_ticks_total") == 0


class TestSpread:
    def test_starts_spread_by_host(self, watch_process: Any, servers: RecordingServers,
                                   loopback_block: int, tmp_path: Path) -> None:  # fmt: skip
        """With --spread, 30 hosts' requests spread over the interval, each host at its own fixed point
        (the same in two sweeps, where its name's hash puts it); every probe is ok with a 0.5 s timeout
        though starts span ~3 s: the wait is not on a probe's clock. Without it they come together."""
        hosts = [f"127.{loopback_block}.1.{i}" for i in range(1, 31)]
        port = free_port(hosts[0])
        for address in hosts:
            servers.serve(address, port)
        path = inventory(tmp_path / "fleet.yaml", port, {"web": hosts}, timeout="500ms")
        watch = watch_process(path, "--interval", "4s", "--spread")
        watch.wait_for("two sweeps' requests", lambda: len(servers.arrivals.times) >= 60, timeout=30)
        seconds = 4 * 0.9 - 0.5  # the interval less 10% and the longest probe (spread.window)
        got = watch.metrics()
        assert [value(got, "probe_success", host=h) for h in hosts] == [1.0] * 30
        for sweep in (0, 1):
            arrived = {h: servers.arrivals.of(h)[sweep] for h in hosts}
            # When the sweep's first start was, as the hosts' arrivals put it (robust to a late one).
            start = statistics.median(arrived[h] - host_point(h) * seconds for h in hosts)
            offsets = {h: arrived[h] - start for h in hosts}
            worst = max(abs(offsets[h] - host_point(h) * seconds) for h in hosts)
            assert worst < 0.5, (offsets, {h: host_point(h) * seconds for h in hosts})
            assert max(arrived.values()) - min(arrived.values()) > 1.5

    def test_without_spread_all_at_once(self, watch_process: Any, servers: RecordingServers,
                                        loopback_block: int, tmp_path: Path) -> None:  # fmt: skip
        """The same fleet without --spread: every request of a sweep within a fraction of a second."""
        hosts = [f"127.{loopback_block}.1.{i}" for i in range(1, 31)]
        port = free_port(hosts[0])
        for address in hosts:
            servers.serve(address, port)
        path = inventory(tmp_path / "fleet.yaml", port, {"web": hosts}, timeout="500ms")
        watch = watch_process(path, "--interval", "4s")
        watch.wait_for("one sweep's requests", lambda: len(servers.arrivals.times) >= 30, timeout=30)
        times = [at for _, at in servers.arrivals.times[:30]]
        assert max(times) - min(times) < 1.0
