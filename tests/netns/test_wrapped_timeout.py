"""A connect the kernel gives up on (ETIMEDOUT), wrapped by aiohttp, read as `timeout`: never `protocol`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import probes
from tests.netns.conftest import Lab, require_nft
from tests.netns.test_faults import HTTP_PORT, filter_table, inventory, sweep_in

pytestmark = pytest.mark.root


class TestKernelConnectTimeout:
    def test_etimedout_inside_a_client_connector_error_is_timeout(self, netlab: Lab, tmp_path: Path) -> None:
        """SYNs dropped, and this namespace's kernel retries a SYN once (tcp_syn_retries=1): the
        connect fails with ETIMEDOUT after ~3 s, long before the 20 s probe timeout, and reaches
        classify inside aiohttp's ClientConnectorError. The record says timeout and why."""
        ns = netlab.netns()
        require_nft(ns)
        ns.exec("sysctl", "-q", "-w", "net.ipv4.tcp_syn_retries=1")  # this namespace only
        filter_table(ns, f"tcp dport {HTTP_PORT} tcp flags & (syn | ack) == syn counter drop")
        _, lines = sweep_in(ns, inventory(tmp_path / "inv.yaml", ["127.0.0.1"], "web", timeout="20s"))
        (record,) = probes(lines)
        assert record["error"]["kind"] == "timeout", record
        assert record["error"]["message"] == f"127.0.0.1:{HTTP_PORT}: Connection timed out"
        assert 2000 <= record["latency_ms"] < 15000  # the kernel's verdict, not the probe deadline
