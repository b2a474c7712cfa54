"""GitHub Actions: annotations parse back as the runner parses them; the step summary renders safely."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from prober.sinks import annotations, stepsummary
from prober.sinks.annotations import GitHubAnnotations, command
from prober.sinks.safetext import one_line
from prober.sinks.stepsummary import StepSummary
from tests.outputs.records import HOSTILE, mixed, probe, sweep_line

# actions/runner ActionCommand.cs: the mappings UnescapeString applies, in this order.
DATA_UNESCAPE = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
PROPERTY_UNESCAPE = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))


def unescape(value: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for escaped, plain in mappings:
        value = value.replace(escaped, plain)
    return value


def runner_parse(line: str) -> tuple[str, dict[str, str], str] | None:
    """ActionCommand.TryParseV2, transcribed: (command, properties, data), or None if not a command."""
    message = line.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props = info.partition(" ")
    properties = {}
    for item in (p for p in props.strip().split(",") if p):
        pair = [part for part in item.split("=", 1) if part]
        if len(pair) == 2:
            properties[pair[0]] = unescape(pair[1], PROPERTY_UNESCAPE)
    return name, properties, unescape(message[end + 2 :], DATA_UNESCAPE)


class TestWorkflowCommands:
    @pytest.mark.parametrize("text", [*HOSTILE, "100% done, 5:3", "a%0Ab%25c", "title=x,y=z::w"])
    def test_runner_reads_back_what_was_written(self, text: str) -> None:
        """Title and message survive the runner's parser exactly (as one line), whatever they contain."""
        line = command("error", f"prober: {text}", f"message {text}")
        assert line.endswith("\n") and "\n" not in line[:-1] and "\r" not in line
        parsed = runner_parse(line[:-1])
        assert parsed == (
            "error",
            {"title": one_line(f"prober: {text}", 200)},
            one_line(f"message {text}", annotations.MESSAGE_MAX),
        )

    def test_escaping_matches_actions_core(self) -> None:
        """Same output as @actions/core's escapeData / escapeProperty for their special characters."""
        assert annotations.escape_data("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad:e,f"
        assert annotations.escape_property("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad%3Ae%2Cf"


def emitted(
    records: list[dict[str, Any]], cap: int = annotations.CAP
) -> list[tuple[str, dict[str, str], str]]:
    stream = io.StringIO()
    sink = GitHubAnnotations(stream, cap)
    for record in records:
        sink.record(record)
    sink.close(sweep_line(records))
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("prober: ")  # the closing count
    parsed = [runner_parse(line) for line in lines[:-1]]
    assert all(p is not None for p in parsed)
    return parsed  # type: ignore[return-value]


class TestAnnotations:
    def test_one_per_failure_and_warning_under_the_cap(self) -> None:
        records = [
            probe("a", status="fail", kind="refused", message="connection refused"),
            probe("b", status="warn", warning="latency 900 ms over latency_warn 500 ms"),
            probe("c"),
        ]
        assert emitted(records) == [
            (
                "error",
                {"title": "prober: refused a/health"},
                "web a/health (http): refused: connection refused",
            ),
            (
                "warning",
                {"title": "prober: warn b/health"},
                "web b/health: latency 900 ms over latency_warn 500 ms",
            ),
        ]

    def test_capped_with_a_count_and_every_kind_shown(self) -> None:
        """500 timeouts in one group and one TLS failure elsewhere: 10 errors, the TLS one among them,
        the 10th saying how many more; 30 warnings: 9 shown and a count."""
        records = [probe(f"t{i}", status="fail", kind="timeout") for i in range(500)]
        records.append(probe("odd", group="db", status="fail", kind="tls", message="certificate expired"))
        records += [probe(f"w{i}", status="warn", warning="slow") for i in range(30)]
        found = emitted(records)
        errors = [p for p in found if p[0] == "error"]
        warnings = [p for p in found if p[0] == "warning"]
        assert len(errors) == annotations.CAP and len(warnings) == annotations.CAP
        assert any("certificate expired" in data for _, _, data in errors)
        assert errors[-1][2] == "… and 492 more failing probes (see the step summary)"
        assert warnings[-1][2] == "… and 21 more warnings (see the step summary)"

    def test_exactly_the_cap_needs_no_count(self) -> None:
        records = [probe(f"t{i}", status="fail") for i in range(annotations.CAP)]
        found = emitted(records)
        assert len(found) == annotations.CAP and not any("more" in data for _, _, data in found)


def unescaped_pipes(row: str) -> int:
    """Pipes a GFM table row splits on: those not preceded by an odd number of backslashes."""
    return sum(1 for m in re.finditer(r"(\\*)\|", row) if len(m.group(1)) % 2 == 0)


def render(markdown: str) -> str:
    """The Markdown as GitHub renders it (cmark-gfm), raw HTML let through so that any would show."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


class TestStepSummary:
    def test_hostile_cells_render_as_text(self, tmp_path: Path) -> None:
        """In GitHub's renderer: one row per failure with 5 cells, no tag, image or link from remote
        text (a bare e-mail address would become a mailto: link, as anywhere on GitHub)."""
        records = [
            probe(t, probe_name=t, group=t, status="fail", kind="assertion", message=t) for t in HOSTILE
        ]
        summary = StepSummary(str(tmp_path / "s.md"))
        for record in records:
            summary.record(record)
        markdown = summary.markdown()
        failure_rows = markdown.split("#### Failures")[1].strip().splitlines()[4:]
        assert len(failure_rows) == len(HOSTILE)
        assert all(unescaped_pipes(row) == 6 for row in failure_rows)
        html = render(markdown)
        tags = set(re.findall(r"<([a-z0-9]+)", html))
        assert tags <= {"h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "p"}, tags
        assert html.count("<tr>") == 2 * (1 + len(HOSTILE))  # groups and failures: a header and a row each
        assert "&lt;script&gt;console.error" in html and "![img](https://attacker.invalid/x.png)" in html

    def test_appends_and_caps(self, tmp_path: Path) -> None:
        """The file keeps what earlier steps wrote; 300 groups and ~1,400 failures are capped."""
        path = tmp_path / "summary.md"
        path.write_text("earlier step\n")
        records = mixed(10_000, groups=300)
        summary = StepSummary(str(path))
        for record in records:
            summary.record(record)
        summary.close(sweep_line(records))
        text = path.read_text()
        assert text.startswith("earlier step\n### prober: ")
        failures = sum(1 for r in records if r["error"])
        assert f"#### Failures ({failures})" in text
        assert f"… and {failures - stepsummary.FAILURES_SHOWN} more failures" in text
        assert f"… and {300 - stepsummary.GROUPS_SHOWN} more groups" in text
        assert text.count("\n| ") == stepsummary.GROUPS_SHOWN + stepsummary.FAILURES_SHOWN + 4  # + headers
        assert len(text.encode()) < 120_000

    def test_worst_groups_first(self, tmp_path: Path) -> None:
        records = [
            probe("a", group="calm"),
            probe("b", group="broken", status="fail"),
            probe("c", group="meh", status="warn"),
        ]
        summary = StepSummary(str(tmp_path / "s.md"))
        for record in records:
            summary.record(record)
        rows = [
            line for line in summary.markdown().splitlines() if line.startswith("| ") and "---" not in line
        ]
        assert [row.split(" | ")[0] for row in rows[1:4]] == ["| broken", "| meh", "| calm"]
