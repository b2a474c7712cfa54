"""Host checks judged from fixed command output: thresholds at their boundaries, caps, odd output."""

from __future__ import annotations

from typing import Any

import pytest

from prober.model import Status
from prober.probes.ssh.checks import load, memory, nagios, perfdata, process, systemd
from prober.probes.ssh.checks.base import Output, Reading, Unreadable, require_success, threshold, worst
from prober.probes.ssh.spec import SSHSpec


def spec(check: str, **params: Any) -> SSHSpec:
    return SSHSpec(name=check, check=check, **params)


def out(stdout: str, exit_status: int = 0, stderr: str = "") -> Output:
    return Output(stdout.encode(), stderr.encode(), exit_status)


class TestThreshold:
    @pytest.mark.parametrize(
        ("value", "status", "message"),
        [
            (79.9, Status.OK, None),
            (80, Status.WARN, "memory used 80% at or past warn 80"),
            (89.9, Status.WARN, "memory used 89.9% at or past warn 80"),
            (90, Status.FAIL, "memory used 90% at or past crit 90"),
        ],
    )
    def test_warn_and_crit_are_reached_at_their_value(
        self, value: float, status: Status, message: Any
    ) -> None:
        reading = threshold("memory", value, "%", spec("memory", warn=80, crit=90), "memory used", a=1)
        assert (reading.status, reading.message) == (status, message)
        assert reading.check == {
            "name": "memory",
            "value": value,
            "unit": "%",
            "warn": 80,
            "crit": 90,
            "a": 1,
        }

    def test_a_unit_other_than_percent_is_spaced(self) -> None:
        reading = threshold("load", 2.5, "load", spec("load", crit=2), "1-min load")
        assert reading.message == "1-min load 2.5 load at or past crit 2"

    def test_no_thresholds_is_ok(self) -> None:
        assert threshold("load", 1e9, "load", spec("load"), "x").status is Status.OK

    def test_worst_keeps_the_first_on_a_tie(self) -> None:
        first, second = Reading(Status.WARN, "a"), Reading(Status.WARN, "b")
        assert worst(Reading(Status.OK, None), first, second) is first
        assert worst(first, Reading(Status.FAIL, "c"), second).message == "c"


class TestOutput:
    def test_reason_is_the_first_stderr_line_cut_to_200(self) -> None:
        assert out("so", 1, "  first\nsecond").reason() == "first"
        assert out("", 1, "e" * 500).reason() == "e" * 200
        assert out("  from stdout\nmore", 1, " \n").reason() == "from stdout"
        assert out("", 1).reason() == "no output"

    def test_require_success_names_the_tool_and_the_exit(self) -> None:
        require_success(out("fine"), "df")
        with pytest.raises(Unreadable, match=r"^df exited 2: no such file$"):
            require_success(out("", 2, "no such file\n"), "df")


class TestLoad:
    LOADAVG = "3.00 0.50 0.25 1/123 4567\n4\n"

    def test_per_cpu_divides_by_nproc(self) -> None:
        reading = load.judge(spec("load", per_cpu=True, warn=0.75), out(self.LOADAVG))
        assert reading.status is Status.WARN
        assert reading.check == {
            "name": "load",
            "value": 0.75,
            "unit": "per cpu",
            "warn": 0.75,
            "crit": None,
            "load1": 3.0,
            "cpus": 4,
            "per_cpu": True,
        }

    def test_per_cpu_is_rounded_to_three_places(self) -> None:
        reading = load.judge(spec("load", per_cpu=True), out("1.00 0 0 1/1 1\n3\n"))
        assert reading.check["value"] == 0.333

    def test_the_whole_load_without_per_cpu(self) -> None:
        reading = load.judge(spec("load", crit=3), out(self.LOADAVG))
        assert (reading.status, reading.check["value"], reading.check["unit"]) == (Status.FAIL, 3.0, "load")

    @pytest.mark.parametrize(
        "text", ["", "3.00 0.50 0.25 1/123 4567\n", "x 0 0 1/1 1\n4\n", "1 0 0 1/1 1\n4.5\n"]
    )
    def test_unparsable_output(self, text: str) -> None:
        with pytest.raises(Unreadable, match="cannot parse /proc/loadavg"):
            load.judge(spec("load"), out(text))

    def test_zero_cpus_is_unreadable(self) -> None:
        with pytest.raises(Unreadable, match="nproc reported 0 CPUs"):
            load.judge(spec("load", per_cpu=True), out("1 0 0 1/1 1\n0\n"))
        assert load.judge(spec("load"), out("1 0 0 1/1 1\n1\n")).check["cpus"] == 1

    def test_a_failed_command_is_unreadable(self) -> None:
        with pytest.raises(Unreadable, match="exited 1: nproc: not found"):
            load.judge(spec("load"), out("", 1, "nproc: not found"))


class TestMemory:
    def test_used_is_total_less_available(self) -> None:
        text = "MemTotal:       1000 kB\nMemFree:  10 kB\nMemAvailable:   333 kB\nHugePages_Total: 0\n"
        reading = memory.judge(spec("memory", warn=66.7), out(text))
        assert reading.status is Status.WARN
        assert reading.check == {
            "name": "memory",
            "value": 66.7,
            "unit": "%",
            "warn": 66.7,
            "crit": None,
            "total_kb": 1000,
            "available_kb": 333,
            "estimated": False,
        }

    def test_old_kernels_estimate_available(self) -> None:
        text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 30 kB\n"
        reading = memory.judge(spec("memory"), out(text))
        assert (reading.check["value"], reading.check["available_kb"], reading.check["estimated"]) == (
            85.0,
            150,
            True,
        )

    def test_parse_keeps_only_numbers(self) -> None:
        assert memory.parse("MemTotal: 5 kB\nweird line\nName: x kB\n: 7\n") == {"MemTotal": 5, "": 7}

    @pytest.mark.parametrize("text", ["", "MemFree: 5 kB\n", "MemTotal: 0 kB\n"])
    def test_no_total_is_unreadable(self, text: str) -> None:
        with pytest.raises(Unreadable, match="no MemTotal"):
            memory.judge(spec("memory"), out(text))

    def test_a_failed_command_is_unreadable(self) -> None:
        with pytest.raises(Unreadable, match=r"^cat /proc/meminfo exited 1: denied$"):
            memory.judge(spec("memory"), out("MemTotal: 5 kB\n", 1, "denied"))


class TestProcess:
    @pytest.mark.parametrize(
        ("count", "status", "message"),
        [
            (1, Status.FAIL, "1 nginx processes, fewer than min 2"),
            (2, Status.OK, None),
            (3, Status.OK, None),
            (4, Status.FAIL, "4 nginx processes, more than max 3"),
        ],
    )
    def test_min_and_max_are_inclusive(self, count: int, status: Status, message: Any) -> None:
        reading = process.judge(spec("process", process="nginx", min=2, max=3), out(f"{count}\n", count == 0))
        assert (reading.status, reading.message) == (status, message)
        assert reading.check == {
            "name": "process",
            "value": count,
            "unit": "processes",
            "warn": None,
            "crit": None,
            "process": "nginx",
            "min": 2,
            "max": 3,
        }

    def test_none_running_is_pgreps_exit_1(self) -> None:
        reading = process.judge(spec("process", process="nginx"), out("0\n", 1))
        assert reading.status is Status.FAIL and reading.message == "0 nginx processes, fewer than min 1"
        assert process.judge(spec("process", process="nginx", min=0), out("0\n", 1)).status is Status.OK

    @pytest.mark.parametrize(("text", "code"), [("", 0), ("2\n", 2), ("x\n", 0), ("1\n", 3)])
    def test_pgrep_errors_are_unreadable(self, text: str, code: int) -> None:
        with pytest.raises(Unreadable, match=f"pgrep exited {code}"):
            process.judge(spec("process", process="nginx"), out(text, code, "bad"))


class TestSystemd:
    @pytest.mark.parametrize(
        ("state", "status"),
        [
            ("active", Status.OK),
            ("activating", Status.WARN),
            ("reloading", Status.WARN),
            ("refreshing", Status.WARN),
            ("inactive", Status.FAIL),
            ("failed", Status.FAIL),
            ("deactivating", Status.FAIL),
            ("maintenance", Status.FAIL),
        ],
    )
    def test_states(self, state: str, status: Status) -> None:
        reading = systemd.judge(spec("systemd", unit="web.service"), out(f" {state} \nmore\n", 3))
        assert reading.status is status
        assert reading.message == (None if status is Status.OK else f"web.service is {state}")
        assert reading.check == {
            "name": "systemd",
            "value": state,
            "unit": None,
            "warn": None,
            "crit": None,
            "service": "web.service",
        }

    @pytest.mark.parametrize(("text", "said"), [("unknown\n", "unknown"), ("", "Failed to connect")])
    def test_unknown_state_is_unreadable(self, text: str, said: str) -> None:
        with pytest.raises(Unreadable, match=f"^systemctl is-active exited 4: {said}"):
            systemd.judge(spec("systemd", unit="x"), out(text, 4, "Failed to connect to bus\n"))


class TestNagios:
    def test_output_and_message_are_cut_to_200_characters(self) -> None:
        reading = nagios.judge(spec("nagios", command="c"), out("W" * 500 + " | a=1\n", 1))
        assert reading.check["output"] == "W" * 200 and reading.message == "W" * 200
        assert reading.check["perfdata"] == {
            "a": {"value": 1, "uom": None, "warn": None, "crit": None, "min": None, "max": None}
        }

    def test_an_empty_message_names_the_state(self) -> None:
        reading = nagios.judge(spec("nagios", command="c"), out("| a=1\n", 2))
        assert (reading.status, reading.message, reading.check["output"]) == (
            Status.FAIL,
            "plugin state CRITICAL",
            "",
        )
        assert nagios.judge(spec("nagios", command="c"), out("")).message is None

    @pytest.mark.parametrize("code", [-1, 4, 127])
    def test_an_exit_outside_0_to_3_is_unreadable(self, code: int) -> None:
        with pytest.raises(Unreadable, match=f"^plugin exited {code} \\(not 0-3\\): nope$"):
            nagios.judge(spec("nagios", command="c"), out("", code, "nope"))

    def test_the_command_is_the_plugin(self) -> None:
        assert nagios.command(spec("nagios", command="check_x -w 1")) == "check_x -w 1"


class TestPerfdata:
    def test_labels_units_and_ranges_are_capped(self) -> None:
        label, unit, text_range = "L" * 100, "u" * 20, "@" + "1" * 40 + ":"
        parsed = perfdata.parse(f"'{label}'=5{unit};{text_range};~:3;;")
        assert parsed == {
            "L" * 64: {
                "value": 5,
                "uom": "u" * 8,
                "warn": text_range[:32],
                "crit": "~:3",
                "min": None,
                "max": None,
            }
        }

    def test_numbers(self) -> None:
        parsed = perfdata.parse("a=1 b=1.0 c=1e3 d=-.5s e=U f=;1;2;0;10 g=+3KB;;;-1;2.5")
        assert parsed == {
            "a": {"value": 1, "uom": None, "warn": None, "crit": None, "min": None, "max": None},
            "b": {"value": 1.0, "uom": None, "warn": None, "crit": None, "min": None, "max": None},
            "c": {"value": 1000.0, "uom": None, "warn": None, "crit": None, "min": None, "max": None},
            "d": {"value": -0.5, "uom": "s", "warn": None, "crit": None, "min": None, "max": None},
            "e": {"value": None, "uom": None, "warn": None, "crit": None, "min": None, "max": None},
            "f": {"value": None, "uom": None, "warn": 1, "crit": 2, "min": 0, "max": 10},
            "g": {"value": 3, "uom": "KB", "warn": None, "crit": None, "min": -1, "max": 2.5},
        }
        assert isinstance(parsed["a"]["value"], int) and isinstance(parsed["b"]["value"], float)
        assert isinstance(parsed["c"]["value"], float)

    def test_quoted_labels_and_junk(self) -> None:
        parsed = perfdata.parse("junk 'it''s here'=2 =3 ''=4 bad=x1 z=7")
        assert list(parsed) == ["it's here", "z"]

    def test_the_byte_budget_binds_before_32_items(self) -> None:
        """~80 bytes per item even at its smallest: the 1500-byte budget stops the 19th item."""
        parsed = perfdata.parse(" ".join(f"i{n}=1" for n in range(40)))
        assert list(parsed) == [f"i{n}" for n in range(18)]

    def test_at_most_1500_bytes(self) -> None:
        parsed = perfdata.parse(" ".join(f"{'x' * 60}{n:02}=1.5ms;1;2;0;10" for n in range(30)))
        size = sum(len(label) + len(repr(entry)) for label, entry in parsed.items())
        assert 1500 - 200 < size <= 1500 and 8 <= len(parsed) < 30

    def test_split_output_gathers_perfdata_from_long_output(self) -> None:
        text = "DISK OK - free | a=1\nlong one\nlong two | b=2\nc=3\n"
        message, perf = perfdata.split_output(text)
        assert (message, perf.split()) == ("DISK OK - free", ["a=1", "b=2", "c=3"])
        assert perfdata.split_output("") == ("", "")
        assert perfdata.split_output("  only text  \nmore\n") == ("only text", "")
