"""Network faults in private namespaces: dropped SYNs, reset by a firewall, packet loss, netem delay."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import no_traceback, probes, records
from tests.netns.conftest import Lab, Netns, require_netem, require_nft

HTTP_PORT = 8080
pytestmark = pytest.mark.root


def inventory(path: Path, addresses: list[str], probe: str, **defaults: Any) -> Path:
    """Hosts h00.. at the given addresses, all running `probe` (web: HTTP on 8080, syn: TCP on 8080)."""
    settings = {"timeout": "500ms", "retries": 0, "concurrency": 50, **defaults}
    lines = ["defaults:", *(f"  {key}: {json.dumps(value)}" for key, value in settings.items())]
    lines += [
        "probes:",
        f'  web: {{type: http, url: "http://{{address}}:{HTTP_PORT}/", expect_status: [200]}}',
        f"  syn: {{type: tcp, port: {HTTP_PORT}}}",
        "groups:",
        "  net:",
        f"    probes: [{probe}]",
        "    hosts:",
        *(f"      h{i:02d}: {{address: {address}}}" for i, address in enumerate(addresses)),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def sweep_in(ns: Netns, inv: Path, *flags: str) -> tuple[int, list[dict[str, Any]]]:
    proc = ns.prober("sweep", str(inv), *flags)
    no_traceback(proc.stderr)
    return proc.returncode, records(proc.stdout)


def filter_table(ns: Netns, rule: str) -> None:
    """One nftables input-chain rule inside ns (the table dies with the namespace)."""
    ns.nft("add table inet prober")  # nft joins its arguments: one string is one command
    ns.nft("add chain inet prober input { type filter hook input priority 0 ; policy accept ; }")
    ns.nft(f"add rule inet prober input {rule}")


def dropped(ns: Netns) -> int:
    """Packets counted by the `counter` in the prober table's rules."""
    listing = ns.nft("list", "table", "inet", "prober").stdout
    return sum(int(n) for n in re.findall(r"counter packets (\d+)", listing))


class TestFirewallFaults:
    def test_dropped_syn_costs_one_timeout(self, netlab: Lab, tmp_path: Path) -> None:
        """SYNs dropped by nftables: kind timeout after about one timeout, not a hang or a refusal."""
        ns = netlab.netns()
        require_nft(ns)
        netlab.serve(ns, [["http_ok", "127.0.0.1", HTTP_PORT]])
        filter_table(ns, f"tcp dport {HTTP_PORT} tcp flags & (syn | ack) == syn counter drop")
        code, lines = sweep_in(ns, inventory(tmp_path / "inv.yaml", ["127.0.0.1"] * 3, "syn"))
        recs = probes(lines)
        assert code == 2 and len(recs) == 3
        assert {r["error"]["kind"] for r in recs} == {"timeout"}
        assert all(450 <= r["latency_ms"] < 2 * 500 + 1000 for r in recs)
        assert lines[-1]["duration_ms"] < 2 * 500 + 1000  # concurrent: one timeout, not three
        assert dropped(ns) >= 3

    def test_dropped_syn_with_retries(self, netlab: Lab, tmp_path: Path) -> None:
        """With retries 2, a dropped-SYN host is tried three times and still ends as timeout."""
        ns = netlab.netns()
        require_nft(ns)
        filter_table(ns, f"tcp dport {HTTP_PORT} tcp flags & (syn | ack) == syn drop")
        inv = inventory(tmp_path / "inv.yaml", ["127.0.0.1"], "syn", timeout="200ms", retries=2)
        _, lines = sweep_in(ns, inv)
        (rec,) = probes(lines)
        assert rec["error"]["kind"] == "timeout" and rec["attempts"] == 3
        assert lines[-1]["duration_ms"] < 3 * 200 + 2 * 1000 + 1000  # three timeouts plus backoff

    def test_firewall_reset_is_refused(self, netlab: Lab, tmp_path: Path) -> None:
        """A `reject with tcp reset` rule reads as kind refused, at once."""
        ns = netlab.netns()
        require_nft(ns)
        netlab.serve(ns, [["http_ok", "127.0.0.1", HTTP_PORT]])
        filter_table(ns, f"tcp dport {HTTP_PORT} reject with tcp reset")
        _, lines = sweep_in(ns, inventory(tmp_path / "inv.yaml", ["127.0.0.1"], "syn", timeout="2s"))
        (rec,) = probes(lines)
        assert rec["error"]["kind"] == "refused" and rec["latency_ms"] < 1000


def two_hosts(netlab: Lab) -> tuple[Netns, Netns, str, str]:
    """A client and a server namespace joined by a veth pair on 10.199.0.0/30 (private to them)."""
    client, server = netlab.netns(), netlab.netns()
    _, server_dev = netlab.link(client, "10.199.0.1", server, "10.199.0.2")
    netlab.serve(server, [["http_ok", "10.199.0.2", HTTP_PORT]])
    return client, server, server_dev, "10.199.0.2"


class TestLossyLink:
    def test_ten_percent_loss_with_retries_stays_right(self, netlab: Lab, tmp_path: Path) -> None:
        """10% of packets into the server dropped (nftables numgen): every probe still ends ok."""
        client, server, _, address = two_hosts(netlab)
        require_nft(server)
        filter_table(server, f"tcp dport {HTTP_PORT} numgen random mod 10 == 0 counter drop")
        inv = inventory(tmp_path / "inv.yaml", [address] * 30, "web", timeout="3s", retries=2)
        code, lines = sweep_in(client, inv)
        recs = probes(lines)
        assert len(recs) == 30 and {r["status"] for r in recs} == {"ok"} and code == 0
        assert dropped(server) > 0  # the loss really happened


class TestNetem:
    def test_delay_and_loss(self, netlab: Lab, tmp_path: Path) -> None:
        """netem delay 200ms loss 10% on the server's link: probes stay ok with retries, latency shows it."""
        client, server, server_dev, address = two_hosts(netlab)
        require_netem(server, server_dev)
        inv = inventory(tmp_path / "inv.yaml", [address] * 20, "web", timeout="4s", retries=2)
        _, before = sweep_in(client, inv)
        baseline = statistics.median(r["latency_ms"] for r in probes(before))
        server.exec("tc", "qdisc", "add", "dev", server_dev, "root", "netem", "delay", "200ms", "loss", "10%")
        code, lines = sweep_in(client, inv)
        recs = probes(lines)
        assert len(recs) == 20 and {r["status"] for r in recs} == {"ok"} and code == 0
        # Connect and request each wait for one delayed reply from the server: two 200 ms delays.
        assert all(r["latency_ms"] >= 390 for r in recs)
        assert statistics.median(r["latency_ms"] for r in recs) > baseline + 350
