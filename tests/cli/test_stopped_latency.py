"""latency_ms of probes a signal stopped: the time they had run, null only for those never started."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Lab, no_traceback, popen_cli, probes, records


class TestSignal:
    @pytest.mark.parametrize("workers", ["1", "2"])
    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
    def test_in_flight_probes_report_the_time_they_ran(
        self, lab: Lab, tmp_path: Path, signum: int, workers: str
    ) -> None:
        """Interrupted ~0.6 s into a sweep of hung hosts (one process, or two workers): every record with
        attempts 1 has a latency of at least ~0.3 s and at most the sweep's length; attempts 0: null."""
        lab.add("hung", "hung", 6)
        inventory = lab.inventory(timeout="30s", concurrency=2)
        started = time.monotonic()
        proc = popen_cli("sweep", str(inventory), "--workers", workers)
        assert proc.stdout is not None and proc.stderr is not None
        try:
            while b"sweep starting" not in proc.stderr.readline():  # planning is over
                assert time.monotonic() - started < 30
            time.sleep(0.6)  # the hung probes are in flight
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=15)
        finally:
            proc.kill()
            proc.wait()
        total_ms = (time.monotonic() - started) * 1000
        assert proc.returncode == 130
        no_traceback(err)
        recs = probes(records(out))
        assert len(recs) == 6 and {r["error"]["kind"] for r in recs} == {"cancelled"}
        ran = [r for r in recs if r["attempts"] >= 1]
        assert ran and any(r["attempts"] == 0 for r in recs)
        for record in recs:
            if record["attempts"] == 0:
                assert record["latency_ms"] is None
            else:
                assert 300 <= record["latency_ms"] <= total_ms, record
