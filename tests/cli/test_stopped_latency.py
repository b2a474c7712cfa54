"""latency_ms of probes a signal stopped: the time they had run, null only for those never started."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import no_traceback, popen_cli, probes, records

HOSTS = 6
HELD = 0.5  # how long the first probes are known to be in flight when the signal is sent


class HoldingServer:
    """Accepts TCP connections on several loopback addresses (one port), counts them and never sends a
    byte (a hung banner). Several addresses: --workers shards the plan by host address."""

    def __init__(self, addresses: list[str]) -> None:
        first = socket.create_server((addresses[0], 0), backlog=64)
        self.port = first.getsockname()[1]
        self.listeners = [first] + [socket.create_server((a, self.port), backlog=64) for a in addresses[1:]]
        self.accepted: list[socket.socket] = []
        for listener in self.listeners:
            threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        for sock in self.listeners + self.accepted:
            sock.close()


@pytest.fixture
def holding(loopback_block: int) -> Iterator[HoldingServer]:
    server = HoldingServer([f"127.{loopback_block}.0.{i + 1}" for i in range(HOSTS)])
    yield server
    server.close()


class TestSignal:
    @pytest.mark.parametrize("workers", ["1", "2"])
    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    def test_in_flight_probes_report_the_time_they_ran(
        self, holding: HoldingServer, tmp_path: Path, signum: int, workers: str
    ) -> None:
        """A signal sent 0.5 s after the first probes connected (one process, or two workers): every record
        with attempts 1 has a latency of at least ~0.5 s (minus scheduling slack) and at most the sweep's
        length; every record with attempts 0 has null."""
        inventory = tmp_path / "inv.yaml"
        hosts = ", ".join(f"h{i}: {{address: {s.getsockname()[0]}}}" for i, s in enumerate(holding.listeners))
        inventory.write_text(
            "defaults: {timeout: 30s, retries: 0, concurrency: 1}\n"
            f"probes: {{banner: {{type: tcp, port: {holding.port}, expect: '^never'}}}}\n"
            f"groups: {{g: {{probes: [banner], hosts: {{{hosts}}}}}}}\n"
        )
        started = time.monotonic()
        proc = popen_cli("sweep", str(inventory), "--workers", workers)
        try:
            while len(holding.accepted) < int(workers):  # each process has one probe in flight
                assert time.monotonic() - started < 60, "no probe connected"
                time.sleep(0.01)
            time.sleep(HELD)
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
            proc.wait()
        total_ms = (time.monotonic() - started) * 1000
        assert proc.returncode == 130
        no_traceback(err)
        recs = probes(records(out))
        assert len(recs) == HOSTS and {r["error"]["kind"] for r in recs} == {"cancelled"}
        assert any(r["attempts"] == 1 for r in recs) and any(r["attempts"] == 0 for r in recs)
        for record in recs:
            if record["attempts"] == 0:
                assert record["latency_ms"] is None
            else:
                assert HELD * 1000 * 0.8 <= record["latency_ms"] <= total_ms, record
