"""/healthz when sweeps cannot run: a sweep stuck behind an output nobody reads is `failing` (503), and a
stop then still ends prober, saying records were lost (exit 2)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.cli.hostile import free_port
from tests.watch.conftest import inventory


class TestStuck:
    def test_stuck_output(self, watch_process: Any, loopback_block: int, tmp_path: Path) -> None:
        """-o is a FIFO whose reader never reads: 300 records fill the pipe, the sweep cannot end, and
        once it has run for twice the longest it could take /healthz says 503 with why; SIGTERM then
        exits 2 within the grace (longest timeout + 2 s), naming the stuck output."""
        port = free_port(f"127.{loopback_block}.0.1")
        hosts = [f"127.{loopback_block}.{i // 250}.{i % 250 + 1}" for i in range(300)]  # all refused
        path = inventory(tmp_path / "refused.yaml", port, {"web": hosts}, timeout="500ms", concurrency=100)
        fifo = tmp_path / "results.fifo"
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # opened, never read
        try:
            watch = watch_process(path, "--interval", "0.2s", "-o", str(fifo))
            first = watch.get("/healthz")
            assert first.status == 200
            # longest sweep: 3 waves of 0.5 s → stuck after twice 1.5 s, plus 0.2 s
            reply = watch.wait_for(
                "503", lambda: (r := watch.get("/healthz")).status == 503 and r, timeout=30
            )
            body = reply.json()
            assert body["status"] == "failing"
            assert "stuck" in body["error"]
            assert body["sweep_running"] is True
            started = time.monotonic()
            code, _ = watch.stop()
            assert code == 2
            assert time.monotonic() - started < 0.5 + 2 + 3
            assert watch.logs("the output is not being written; leaving without the remaining records")
        finally:
            os.close(reader)
