"""The dns kind's metrics (declared by the kind, ProbeKind.metrics): blackbox_exporter's probe_dns_*."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from prober.model import ErrorInfo, Job, Result, Status, Target
from prober.probes.dns import DNSSpec
from prober.record import to_record
from prober.sinks.prom import PromMetrics
from tests.sinks.promtext import TS, value


def dns_record(host: str, status: Status, error: str | None = None, **details: Any) -> dict[str, Any]:
    job = Job(0, Target(host, "127.0.0.1", "resolvers"), DNSSpec(name="lookup", server="127.0.0.1:53"))
    info = ErrorInfo(error, f"{error} happened") if error else None
    return to_record(Result(job, status, 25.0, 1, TS, info, None, details), "run-1")


REPLY = {"rcode": "NOERROR", "answers": ["a.\t30\tIN\tA\t127.0.0.9"] * 3, "server": "127.0.0.1:53"}


def rendered() -> bytes:
    metrics = PromMetrics()
    metrics.update(dns_record("ok", Status.OK, **REPLY, answer_rrs=14, authority_rrs=2, additional_rrs=3))
    nxdomain = {**REPLY, "rcode": "NXDOMAIN", "answers": []}
    metrics.update(dns_record("nx", Status.FAIL, "assertion", **nxdomain))
    metrics.update(dns_record("silent", Status.FAIL, "timeout"))
    return metrics.render()


class TestDNSMetrics:
    def test_reply_counts_and_lookup_time(self) -> None:
        """A reply gives blackbox's section counts (all answers, not the 10 a record shows),
        query_succeeded 1 and the lookup time."""
        text = rendered()
        assert value(text, "probe_dns_answer_rrs", host="ok") == 14
        assert value(text, "probe_dns_authority_rrs", host="ok") == 2
        assert value(text, "probe_dns_additional_rrs", host="ok") == 3
        assert value(text, "probe_dns_query_succeeded", host="ok") == 1
        assert value(text, "probe_dns_lookup_time_seconds", host="ok") == 0.025
        assert value(text, "probe_success", host="ok", type="dns") == 1

    def test_wrong_rcode_still_a_query_that_succeeded(self) -> None:
        """As blackbox: an NXDOMAIN reply fails the probe, but the query itself succeeded."""
        text = rendered()
        assert value(text, "probe_success", host="nx") == 0
        assert value(text, "probe_dns_query_succeeded", host="nx") == 1
        assert value(text, "probe_dns_answer_rrs", host="nx") == 0

    def test_no_reply(self) -> None:
        """No reply: query_succeeded 0, counts 0, no lookup time."""
        text = rendered()
        assert value(text, "probe_dns_query_succeeded", host="silent") == 0
        assert value(text, "probe_dns_answer_rrs", host="silent") == 0
        assert value(text, "probe_dns_lookup_time_seconds", host="silent") is None

    def test_help_texts_are_blackbox_exporters(self) -> None:
        """Names and help texts are blackbox_exporter's own (prober/dns.go, prober/utils.go)."""
        text = rendered().decode()
        for line in (
            "# HELP probe_dns_answer_rrs Returns number of entries in the answer resource record list",
            "# HELP probe_dns_query_succeeded Displays whether or not the query was executed successfully",
            "# HELP probe_dns_lookup_time_seconds Returns the time taken for probe dns lookup in seconds",
        ):
            assert line in text

    @pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (package prometheus) missing")
    def test_promtool_check_metrics(self) -> None:
        """`promtool check metrics` accepts the dns families."""
        proc = subprocess.run(
            ["promtool", "check", "metrics"], input=rendered(), capture_output=True, timeout=60
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
