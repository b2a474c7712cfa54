"""The Prometheus sink: what each record and sweep line becomes, label rules, memory, render speed."""

from __future__ import annotations

import calendar
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
from prometheus_client import generate_latest

from prober.model import Status
from prober.sinks import promfamilies
from prober.sinks.prom import PromMetrics
from tests.sinks.promtext import TS, labels_of, record, series, value

SWEEP = {
    "event": "sweep",
    "run_id": "20261127T072918Z-5bb35cb6",
    "planned": 3,
    "counts": {"ok": 1, "warn": 1, "fail": 1},
    "by_group": {},
    "errors": {"timeout": 1},
    "duration_ms": 1500.0,
    "exit_code": 2,
    "stopped": None,
}


def rendered(*records: dict[str, object]) -> bytes:
    metrics = PromMetrics()
    for item in records:
        metrics.update(item)
    return metrics.render()


class TestProbeFamilies:
    def test_ok_http_record(self) -> None:
        """An ok HTTP record: success 1, duration in seconds, status code, status ok, one attempt."""
        text = rendered(record(status_code=200))
        assert value(text, "probe_success", host="web01") == 1
        assert value(text, "probe_duration_seconds") == pytest.approx(0.0125)
        assert value(text, "probe_http_status_code") == 200
        assert value(text, "prober_probe_status", status="ok") == 1
        assert value(text, "prober_probe_status", status="warn") == 0
        assert value(text, "prober_probe_status", status="fail") == 0
        assert value(text, "prober_probe_attempts") == 1
        assert value(text, "prober_probe_error_info") is None

    def test_labels_are_host_group_probe_type(self) -> None:
        """Every per-probe sample carries host, group, probe and type, named as in the record."""
        text = rendered(record("db01", "pg", "tcp", group="db"))
        assert labels_of(text, "probe_success") == {
            "host": "db01",
            "group": "db",
            "probe": "pg",
            "type": "tcp",
        }

    def test_warn_is_a_success(self) -> None:
        """A warning (slow, certificate expiring) is a success as blackbox counts it; the status says warn."""
        text = rendered(record(status=Status.WARN, status_code=200))
        assert value(text, "probe_success") == 1
        assert value(text, "prober_probe_status", status="warn") == 1
        assert value(text, "prober_probe_status", status="ok") == 0

    def test_failure_with_error_kind(self) -> None:
        """A timeout: success 0, the error kind as an info sample, status code 0 as blackbox reports none."""
        text = rendered(record(status=Status.FAIL, error="timeout"))
        assert value(text, "probe_success") == 0
        assert value(text, "prober_probe_error_info", kind="timeout") == 1
        assert value(text, "prober_probe_status", status="fail") == 1
        assert value(text, "probe_http_status_code") == 0

    def test_never_ran_has_no_duration(self) -> None:
        """A probe the sweep ended before (latency null, 0 attempts) has no duration sample, not a 0."""
        text = rendered(record(status=Status.FAIL, error="cancelled", latency=None))
        assert value(text, "probe_duration_seconds") is None
        assert value(text, "prober_probe_attempts") == 0
        assert value(text, "prober_probe_error_info", kind="cancelled") == 1

    def test_certificate_expiry_is_a_timestamp(self) -> None:
        """cert_days_left becomes blackbox's expiry time: when the probe ran plus the days left."""
        text = rendered(record(status_code=200, cert_days_left=30.5))
        expected = round(TS, 3) + 30.5 * 86400  # the record's ts keeps milliseconds
        assert value(text, "probe_ssl_earliest_cert_expiry") == pytest.approx(expected, abs=0.001)
        assert value(rendered(record(status_code=200)), "probe_ssl_earliest_cert_expiry") is None

    def test_redirects(self) -> None:
        """A redirect count in the record is blackbox's probe_http_redirects."""
        assert value(rendered(record(status_code=200, redirects=2)), "probe_http_redirects") == 2

    def test_ssh_exit_status_and_check(self) -> None:
        """An SSH check: its exit status, its value with check name and unit, and the disk's inode use."""
        check = {"name": "disk", "value": 91.5, "unit": "%", "warn": 80, "crit": 90, "inodes": 12}
        item = record("db01", "disk", "ssh", Status.FAIL, error="assertion", exit_status=0)
        item["check"] = check
        text = rendered(item)
        assert value(text, "prober_ssh_exit_status") == 0
        assert value(text, "prober_check_value", check="disk", unit="%") == 91.5
        assert value(text, "prober_check_value", check="disk_inodes") == 12
        assert value(text, "probe_http_status_code") is None

    def test_no_exit_status_no_sample(self) -> None:
        """A channel closed without an exit status (null) gives no exit-status sample."""
        assert value(rendered(record(kind="ssh", exit_status=None)), "prober_ssh_exit_status") is None

    def test_nagios_perfdata(self) -> None:
        """Each numeric perfdata item is a sample with its label and uom; 'U' (null) items are left out."""
        item = record("h", "load", "ssh", exit_status=0)
        item["check"] = {
            "name": "nagios",
            "value": 0,
            "unit": None,
            "perfdata": {
                "load1": {"value": 0.5, "uom": ""},
                "used": {"value": 3, "uom": "MB"},
                "x": {"value": None},
            },
        }
        text = rendered(item)
        assert value(text, "prober_check_perfdata_value", metric="load1", uom="") == 0.5
        assert value(text, "prober_check_perfdata_value", metric="used", uom="MB") == 3
        assert value(text, "prober_check_perfdata_value", metric="x") is None
        assert value(text, "prober_check_value", check="nagios") == 0

    def test_unknown_kind_gets_the_common_families(self) -> None:
        """A record of a kind the sink does not know yet (dns) still gives success, duration, status."""
        item = record()
        item["type"], item["dns"] = "dns", {"rcode": "NOERROR", "answers": ["1.2.3.4"]}
        del item["http"]
        text = rendered(item)
        assert value(text, "probe_success", type="dns") == 1
        assert value(text, "probe_http_status_code") is None

    def test_kind_hook(self) -> None:
        """A kind registered with register_kind adds its own families from its record section."""
        answers = promfamilies.family(
            "probe_dns_answer_rrs", "Returns number of entries in the answer rr list"
        )

        def dns(section: object, item: object) -> Iterator[promfamilies.Sample]:
            assert isinstance(section, dict)
            yield answers, (), float(len(section["answers"]))

        promfamilies.register_kind("dns", dns)
        try:
            item = record()
            item["type"], item["dns"] = "dns", {"answers": ["a", "b"]}
            assert value(rendered(item), "probe_dns_answer_rrs") == 2
        finally:
            del promfamilies.KINDS["dns"]

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"status": "bad"}, "status 'bad'"),
            ({"latency_ms": "fast"}, "bad value"),
            ({"host": None, "probe": None}, None),
        ],
    )
    def test_malformed_records_are_value_errors(self, change: dict[str, object], message: str | None) -> None:
        """A record with a bad status or number is refused with a ValueError saying what is wrong."""
        item = {**record(), **change}
        if message is None:
            del item["host"]
            message = "needs 'host'"
        with pytest.raises(ValueError, match=message):
            PromMetrics().update(item)


class TestLabels:
    def test_record_labels_become_labels(self) -> None:
        """`labels:` vars are labels of every per-probe sample; numbers and booleans as text."""
        text = rendered(record(labels={"dc": "eu-1", "tier": 2, "canary": True, "ratio": 0.5}))
        got = labels_of(text, "probe_success")
        assert (
            got["dc"] == "eu-1" and got["tier"] == "2" and got["canary"] == "true" and got["ratio"] == "0.5"
        )
        assert labels_of(text, "prober_probe_status", status="fail")["dc"] == "eu-1"

    def test_names_are_sanitised(self) -> None:
        """Names follow Prometheus's rule; '__' (reserved) is cut to one '_'; a clash with a label prober
        sets becomes exported_NAME; two keys cleaning to one name get a suffix, the same every time."""
        user = {"dc-name": "a", "1st": "b", "__meta_x": "c", "host": "d", "é": "e", "a.b": "f", "a_b": "g"}
        got = labels_of(rendered(record(labels=user)), "probe_success")
        assert got["dc_name"] == "a" and got["_1st"] == "b" and got["_meta_x"] == "c"
        assert got["exported_host"] == "d" and got["host"] == "web01" and got["_"] == "e"
        assert {got["a_b"], got["a_b_2"]} == {"f", "g"}
        again = labels_of(rendered(record(labels=dict(reversed(user.items())))), "probe_success")
        assert again == got

    @pytest.mark.parametrize(
        "text", ['quote " here', "back\\slash", "new\nline", "ünïcødé ✓ 日本", 'all "\\\n', "\\n literal"]
    )
    def test_values_survive_escaping(self, text: str) -> None:
        """Quotes, backslashes, newlines and unicode in label values come back unchanged from the parser."""
        got = labels_of(rendered(record(host="h1", labels={"note": text})), "probe_success")
        assert got["note"] == text

    def test_empty_and_null_values_are_no_label(self) -> None:
        """An empty or null value is no label at all, as Prometheus treats an empty one."""
        got = labels_of(rendered(record(labels={"a": "", "b": None, "c": "x"})), "probe_success")
        assert "a" not in got and "b" not in got and got["c"] == "x"

    def test_lone_surrogate_does_not_break_render(self) -> None:
        """A value JSON can carry but UTF-8 cannot (a lone surrogate) is replaced, never a failed render."""
        got = labels_of(rendered(record(labels={"bad": "a\ud800b"})), "probe_success")
        assert got["bad"] == "a?b"

    def test_label_change_is_rendered(self) -> None:
        """When a key's labels change, the next render shows the new ones, not the cached text."""
        metrics = PromMetrics()
        metrics.update(record(labels={"dc": "eu-1"}))
        metrics.update(record(labels={"dc": "us-2"}))
        assert labels_of(metrics.render(), "probe_success")["dc"] == "us-2"


class TestMemory:
    def test_one_sample_set_per_key(self) -> None:
        """Records for the same (host, probe) replace each other: the latest wins, nothing accumulates."""
        metrics = PromMetrics()
        for index in range(500):
            status = Status.FAIL if index % 2 else Status.OK
            error = "timeout" if status is Status.FAIL else None
            metrics.update(record(f"h{index % 5}", status=status, latency=float(index), error=error))
        assert len(metrics) == 5
        text = metrics.render()
        assert value(text, "probe_duration_seconds", host="h4") == pytest.approx(0.499)
        assert value(text, "probe_success", host="h4") == 0
        # Success, duration, 3 status, attempts, http status: 7 each; the last records of h0, h2 and h4
        # failed and add their error kind.
        per_probe = [key for key in series(text) if "host" in dict(key[1])]
        assert len(per_probe) == 5 * 7 + 3

    def test_retain_forgets_removed_probes(self) -> None:
        """retain(keys) drops every (host, probe) not listed; they are gone from the next render."""
        metrics = PromMetrics()
        for host in ("a", "b", "c"):
            metrics.update(record(host, "health"))
            metrics.update(record(host, "ssh", "ssh", exit_status=0))
        metrics.retain({("a", "health"), ("c", "ssh"), ("zz", "gone")})
        assert len(metrics) == 2
        hosts = {
            dict(labels)["host"] + "/" + dict(labels)["probe"]
            for _, labels in series(metrics.render())
            if "host" in dict(labels)
        }
        assert hosts == {"a/health", "c/ssh"}

    def test_caches_stay_bounded(self) -> None:
        """Label texts for changing extra labels (error kinds, check names) are memoised up to a bound."""
        metrics = PromMetrics()
        for index in range(300):
            metrics.update(record("h", status=Status.FAIL, error=f"kind{index}"))
        assert len(metrics) == 1 and len(metrics._extras) <= 10_000
        assert value(metrics.render(), "prober_probe_error_info", kind="kind299") == 1


class TestSweep:
    def test_sweep_line_families(self) -> None:
        """Duration, probes by status and error kind, planned, exit code, and a sweep counter."""
        metrics = PromMetrics()
        metrics.sweep(SWEEP, now=1_800_000_000.0)
        metrics.sweep(SWEEP, now=1_800_000_000.0)
        text = metrics.render()
        assert value(text, "prober_sweep_duration_seconds") == 1.5
        assert value(text, "prober_sweep_probes", status="fail") == 1
        assert value(text, "prober_sweep_errors", kind="timeout") == 1
        assert value(text, "prober_sweep_planned_probes") == 3
        assert value(text, "prober_sweep_exit_code") == 2
        assert value(text, "prober_last_sweep_timestamp_seconds") == 1_800_000_000.0
        assert value(text, "prober_sweeps_total") == 2
        assert value(text, "prober_sweep_loop_lag_max_seconds") is None

    def test_loop_lag_when_present(self) -> None:
        """loop_lag_max_ms on the sweep line becomes seconds; null means no sample."""
        metrics = PromMetrics()
        metrics.sweep({**SWEEP, "loop_lag_max_ms": 42.0})
        assert value(metrics.render(), "prober_sweep_loop_lag_max_seconds") == 0.042
        metrics.sweep({**SWEEP, "loop_lag_max_ms": None})
        assert value(metrics.render(), "prober_sweep_loop_lag_max_seconds") is None

    def test_end_time_from_the_line(self) -> None:
        """Without `now`, a line read back from a file keeps its own time: run_id's start plus duration."""
        metrics = PromMetrics()
        metrics.sweep(SWEEP)
        start = calendar.timegm(time.strptime("20261127T072918Z", "%Y%m%dT%H%M%SZ"))
        assert value(metrics.render(), "prober_last_sweep_timestamp_seconds") == start + 1.5

    def test_bad_sweep_line(self) -> None:
        """A sweep line without its counts is refused with a ValueError."""
        with pytest.raises(ValueError, match="counts"):
            PromMetrics().sweep({k: v for k, v in SWEEP.items() if k != "counts"})


def fleet(hosts: int) -> PromMetrics:
    """A sweep of `hosts` hosts with an HTTPS health check and an SSH disk check each, some failing."""
    metrics = PromMetrics()
    for index in range(hosts):
        host = f"web{index:05d}.example.com"
        bad = index % 13 == 0
        labels = {"dc": f"dc{index % 3}", "team": 'ops "blue"'}
        metrics.update(
            record(
                host,
                "health",
                status=Status.FAIL if bad else Status.OK,
                error="timeout" if bad else None,
                labels=labels,
                status_code=None if bad else 200,
                cert_days_left=40.0,
            )
        )
        disk = record(host, "disk", "ssh", labels=labels, exit_status=0)
        disk["check"] = {"name": "disk", "value": 40 + index % 50, "unit": "%", "warn": 80, "crit": 90}
        metrics.update(disk)
    metrics.sweep({**SWEEP, "loop_lag_max_ms": 3.0})
    return metrics


class TestRender:
    def test_render_equals_the_library_path(self) -> None:
        """render() gives exactly the samples prometheus_client's generate_latest gives from collect()."""
        metrics = fleet(50)
        fast, library = metrics.render(), generate_latest(metrics)
        assert series(fast) == series(library)
        assert len(series(fast)) > 50 * 2 * 6

    def test_families_are_typed_and_documented(self) -> None:
        """Every family has HELP and TYPE lines once, before its samples; counters end in _total."""
        text = fleet(3).render().decode()
        helps = [line.split()[2] for line in text.splitlines() if line.startswith("# HELP ")]
        assert len(helps) == len(set(helps)) >= 15
        assert "# TYPE prober_sweeps_total counter" in text and "# TYPE probe_success gauge" in text

    @pytest.mark.skipif(
        shutil.which("promtool") is None, reason="promtool (Debian package prometheus) missing"
    )
    def test_promtool_check_metrics(self) -> None:
        """`promtool check metrics` accepts the output, lint included, with every family present."""
        metrics = fleet(20)
        item = record("n1", "nagios", "ssh", exit_status=0, labels={"weird-name": 'v"\\\n'})
        item["check"] = {"name": "nagios", "value": 1, "perfdata": {"l": {"value": 1.5, "uom": "s"}}}
        metrics.update(item)
        metrics.update(record("r1", status_code=200, redirects=1))
        done = subprocess.run(
            ["promtool", "check", "metrics"], input=metrics.render(), capture_output=True, timeout=60
        )
        assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done

    def test_render_is_faster_than_the_registry_path(self) -> None:
        """For 1,000 hosts x 2 probes, render() takes under a third of generate_latest over collect()
        (measured ~10-20x here); both timed in this test, best of 2, so machine load cancels out."""
        metrics = fleet(1000)

        def best(function: object) -> float:
            times = []
            for _ in range(2):
                start = time.process_time()
                function()  # type: ignore[operator]
                times.append(time.process_time() - start)
            return min(times)

        fast = best(metrics.render)
        slow = best(lambda: generate_latest(metrics))
        assert fast < slow / 3, (fast, slow)


class TestPublicAPI:
    def test_exports(self) -> None:
        """The names the integration (sweep, watch, the sink fan-out) builds on, each documented."""
        from prober.sinks import prom

        assert prom.__all__ == ["PromMetrics", "load_jsonl"]
        assert sorted(promfamilies.__all__) == sorted(
            ["FAMILIES", "KINDS", "Family", "KindSamples", "Sample", "family", "register_kind"]
        )
        for name in ("update", "sweep", "retain", "render", "collect", "write_textfile"):
            assert getattr(PromMetrics, name).__doc__
