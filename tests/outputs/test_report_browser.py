"""The report in a real headless Chromium: renders without a console message, shows the failing hosts,
and the console check is shown to catch both a script error and a CSP violation. Screenshots are kept
under test-artifacts/ (ignored by git).

Chromium runs as the machine's note says (no sandbox as root, no background networking, a fresh
profile). `--dump-dom` prints the DOM after the page's scripts ran; `--enable-logging=stderr --v=0`
prints every console message (CSP violations included) as `…:CONSOLE…] "message", source: …`. The
page's filter and sort are driven over the DevTools protocol on a pipe (tests/outputs/cdp.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from prober.sinks.report import HtmlReport, page
from tests.conftest import ROOT, run_cli
from tests.outputs.cdp import Browser
from tests.outputs.conftest import Swept
from tests.outputs.records import HOSTILE, mixed, probe, sweep_line

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)")
CONSOLE_EVENTS = {"Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded"}

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")


def chromium(url: str, profile: Path, *action: str) -> tuple[str, list[str], float]:
    """(stdout, console messages, seconds) of one headless Chromium run on `url`."""
    assert CHROMIUM is not None
    started = time.monotonic()
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *action, url],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, [m.group(1) for m in CONSOLE.finditer(done.stderr)], seconds


def dump(path: Path, tmp_path: Path) -> tuple[str, list[str], float]:
    return chromium(path.as_uri(), tmp_path / f"profile-{time.monotonic_ns()}", "--dump-dom")


def screenshot(path: Path, tmp_path: Path, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    _, console, _ = chromium(
        path.as_uri(),
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        "--window-size=1280,1800",
        "--hide-scrollbars",
    )
    assert console == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")
    return shot


class Rows(HTMLParser):
    """The text of each cell of the table with the given id."""

    def __init__(self, dom: str, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows = table_id, False, []  # type: list[list[str]]
        self.cell: list[str] | None = None
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


class TestRealSweep:
    def test_renders_clean_and_shows_failing_hosts(self, swept: Swept, tmp_path: Path) -> None:
        """The report of a real sweep (with a baseline): no console message, every failing host in
        the failures table, the two newly failing ones in the changes table; a screenshot is kept."""
        html = tmp_path / "report.html"
        done = run_cli(
            "report", str(swept.new), "--baseline", str(swept.old), "-o", str(html), "--annotations", "none"
        )
        assert done.returncode == 0, done.stderr
        dom, console, seconds = dump(html, tmp_path)
        print(f"chromium: {seconds:.1f} s")
        assert console == []
        failing = {row[1] for row in Rows(dom, "failtable").rows if row}
        assert failing == swept.failing_new
        newly = {row[2] for row in Rows(dom, "changetable").rows if row and row[0] == "newly failing"}
        assert newly == swept.broken
        screenshot(html, tmp_path, "report-real-sweep")


class TestHostile:
    def test_hostile_records_execute_nothing(self, tmp_path: Path) -> None:
        """Markup and script in every field: no console message (nothing ran, nothing was even
        refused by the policy), and the hostile text is in the DOM as text."""
        records = [probe(t, probe_name=t, group=t, status="fail", message=t) for t in HOSTILE]
        html = tmp_path / "hostile.html"
        sink = HtmlReport(str(html), source="hostile.jsonl")
        for record in records:
            sink.record(record)
        sink.close(sweep_line(records))
        dom, console, _ = dump(html, tmp_path)
        assert console == []
        cells = [cell for row in Rows(dom, "failtable").rows for cell in row]
        assert '<script>console.error("xss")</script>' in cells
        assert dom.count("<script>") == 1  # only the page's own
        screenshot(html, tmp_path, "report-hostile")


class TestInteraction:
    def test_filter_and_sort(self, tmp_path: Path) -> None:
        """Driven over the DevTools protocol: typing in the filter hides the other failures, clicking a
        header sorts by it (latency by number, both ways), and nothing reaches the console."""
        records = [
            probe("slow-one", status="fail", kind="timeout", message="no answer", latency=2000.0),
            probe("fast-one", status="fail", kind="refused", message="refused", latency=3.0),
            probe("mid-one", status="fail", kind="timeout", message="no answer", latency=20.0),
        ]
        html = tmp_path / "r.html"
        sink = HtmlReport(str(html))
        for record in records:
            sink.record(record)
        sink.close()
        assert CHROMIUM is not None
        browser = Browser(CHROMIUM, FLAGS, tmp_path / "profile-cdp")
        try:
            browser.open(html.as_uri())
            visible = "[...document.querySelectorAll('#failtable tbody tr')].filter(r => !r.hidden).length"
            assert browser.evaluate(visible) == 3
            browser.evaluate(
                "const f = document.getElementById('filter'); f.value = 'REFUSED';"
                "f.dispatchEvent(new Event('input'))"
            )
            assert browser.evaluate(visible) == 1
            hosts = "[...document.querySelectorAll('#failtable tbody tr')].map(r => r.cells[1].textContent)"
            latency_header = "document.querySelectorAll('#failtable th')[5].click()"
            browser.evaluate(latency_header)
            assert browser.evaluate(hosts) == ["fast-one", "mid-one", "slow-one"]  # 3 ms < 20 ms < 2 s
            browser.evaluate(latency_header)
            assert browser.evaluate(hosts) == ["slow-one", "mid-one", "fast-one"]
            logged = [e for e in browser.events if e.get("method") in CONSOLE_EVENTS]
            assert logged == []
            browser.evaluate("console.error('the capture works')")  # … as this shows
            browser.evaluate("1")
            logged = [e for e in browser.events if e.get("method") in CONSOLE_EVENTS]
            assert "the capture works" in json.dumps(logged)
        finally:
            browser.close()


class TestTheCheckCanFail:
    """Without these, `console == []` could pass because the messages were never captured."""

    def test_a_script_error_is_caught(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The page's own script (allowed by its hash) throws: the console shows it."""
        monkeypatch.setattr(page, "JS", 'throw new Error("injected failure");')
        monkeypatch.setattr(
            page, "CSP", re.sub(r"script-src '[^']+'", f"script-src {page._sha256(page.JS)}", page.CSP)
        )
        html = tmp_path / "broken.html"
        sink = HtmlReport(str(html))
        sink.record(probe("a"))
        sink.close()
        _, console, _ = dump(html, tmp_path)
        assert any("Uncaught Error: injected failure" in line for line in console), console

    def test_a_script_outside_the_policy_is_refused_and_caught(self, tmp_path: Path) -> None:
        """A second inline script (as an escaping bug would let in) is blocked by the CSP, and the
        refusal is on the console."""
        html = tmp_path / "report.html"
        sink = HtmlReport(str(html))
        sink.record(probe("a"))
        sink.close()
        text = html.read_text().replace("</main>", '<script>document.title="pwned"</script></main>')
        html.write_text(text)
        dom, console, _ = dump(html, tmp_path)
        assert any("Content Security Policy" in line for line in console), console
        assert "<title>pwned</title>" not in dom


class TestScale:
    def test_100k_record_report_renders_quickly(self, tmp_path: Path) -> None:
        """The page of 100,000 records renders in about the time of a 10-record page (same run)."""
        timings = {}
        for count in (10, 100_000):
            html = tmp_path / f"r{count}.html"
            records = mixed(count, groups=max(1, count // 50))
            sink = HtmlReport(str(html))
            for record in records:
                sink.record(record)
            sink.close(sweep_line(records))
            _, console, timings[count] = dump(html, tmp_path)
            assert console == []
        print(f"chromium: 10 records {timings[10]:.1f} s, 100k records {timings[100_000]:.1f} s")
        assert timings[100_000] < timings[10] * 3 + 5


def test_artifacts_are_ignored_by_git() -> None:
    """Screenshots never end up in a commit."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", "check-ignore", "-q", str(ARTIFACTS / "x.png")], cwd=ROOT, check=False)
    assert done.returncode == 0
