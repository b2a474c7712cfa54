"""The HTML page as text: hostile records stay text, the policy allows only the page's own style and
script, nothing points off the page, and 100k records make a page of bounded size."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from prober.results import diff
from prober.results.baseline import Baseline
from prober.sinks.report import HtmlReport, page, sections
from prober.sinks.report.collect import FAILURES_SHOWN
from tests.outputs.records import HOSTILE, mixed, probe, sweep_line

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "div", "span", "nav", "a",
    "main", "section", "input", "table", "thead", "tbody", "tr", "th", "td", "svg", "rect", "line", "text",
    "figure", "figcaption", "b", "small", "details", "summary", "footer", "script",
}  # fmt: skip


class Page(HTMLParser):
    """Every element, attribute and text node of a page, and the text inside <style> and <script>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.raw: dict[str, list[str]] = {"style": [], "script": []}
        self._open: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in self.raw else None

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.raw[self._open].append(data)
        else:
            self.text.append(data)


def render(records: list[dict[str, Any]], tmp_path: Path, baseline: Baseline | None = None) -> str:
    sink = HtmlReport(str(tmp_path / "r.html"), baseline=baseline, source="results.jsonl")
    for record in records:
        sink.record(record)
    sink.close(sweep_line(records))
    return (tmp_path / "r.html").read_text()


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


class TestHostileRecords:
    def test_markup_in_every_field_stays_text(self, tmp_path: Path) -> None:
        """Hostile group, host, probe, message and warning: only the page's own elements exist, no
        event handler or source attribute, one style and one script; the text reads as written."""
        records = [probe(t, probe_name=t, group=t, status="fail", message=t) for t in HOSTILE]
        records += [probe(f"w{i}", status="warn", warning=t) for i, t in enumerate(HOSTILE)]
        base = Baseline.from_records([probe(t, probe_name=t, group=t) for t in HOSTILE], "old<script>.jsonl")
        parsed = Page(render(records, tmp_path, base))
        tags = {tag for tag, _ in parsed.tags}
        assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
        assert [tag for tag, _ in parsed.tags].count("script") == 1
        assert [tag for tag, _ in parsed.tags].count("style") == 1
        for _, attrs in parsed.tags:
            assert not any(name.startswith("on") or name in ("src", "srcset", "style") for name in attrs)
            assert attrs.get("href") is None or attrs["href"].startswith("#")  # type: ignore[union-attr]
        text = "".join(parsed.text)
        assert '<script>console.error("xss")</script>' in text  # shown, as text
        assert "old<script>.jsonl" in text
        assert not any(c in text for c in "\x1b\x00\u202e")  # controls, a right-to-left override

    def test_policy_allows_exactly_the_inline_style_and_script(self, tmp_path: Path) -> None:
        """The CSP meta comes first in <head>, loads nothing, and its hashes are those of the page's
        own <style> and <script> text (a browser would refuse them otherwise: see the browser test)."""
        text = render(mixed(50), tmp_path)
        parsed = Page(text)
        metas = [attrs for tag, attrs in parsed.tags if tag == "meta"]
        assert metas[1]["http-equiv"] == "Content-Security-Policy"
        csp = metas[1]["content"] or ""
        assert "default-src 'none'" in csp and "unsafe" not in csp and "http" not in csp
        assert f"style-src {sha256(''.join(parsed.raw['style']))};" in csp
        assert f"script-src {sha256(''.join(parsed.raw['script']))};" in csp
        assert not re.search(r"https?://", "".join(parsed.raw["style"] + parsed.raw["script"]))


class TestSections:
    def test_counts_tiles_failures_slowest(self, tmp_path: Path) -> None:
        records = [
            probe("a", group="web", latency=5.0),
            probe("b", group="web", status="fail", kind="refused", message="connection refused", latency=1.0),
            probe("c", group="db", status="warn", warning="slow", latency=800.0),
        ]
        text = render(records, tmp_path)
        assert '<div class="total n-fail">1<small>fail</small></div>' in text
        assert re.search(r'<div class="tile fail"><div class="name">web</div>', text)
        assert '<td>b</td><td>health</td><td><span class="kind">refused</span></td>' in text
        slowest = text.split('id="slowtable"')[1]
        assert slowest.index("<td>c</td>") < slowest.index("<td>a</td>") < slowest.index("<td>b</td>")
        assert 'id="changes"' not in text  # no baseline, no changes section

    def test_no_failures(self, tmp_path: Path) -> None:
        assert "No failures." in render([probe("a")], tmp_path)

    def test_one_odd_failure_is_not_buried(self, tmp_path: Path) -> None:
        """10,000 timeouts in one group and one TLS failure in another: the table shows the TLS one."""
        records = [probe(f"t{i}", group="big", status="fail", kind="timeout") for i in range(10_000)]
        records.append(probe("lonely", group="small", status="fail", kind="tls", message="expired"))
        text = render(records, tmp_path)
        assert "<td>lonely</td>" in text
        assert f"showing {FAILURES_SHOWN:,} of 10,001 failures" in text

    def test_changes_match_the_diff(self, tmp_path: Path) -> None:
        old = [probe("a"), probe("b", status="fail"), probe("gone")]
        new = [probe("a", status="fail", kind="refused"), probe("b"), probe("fresh")]
        text = render(new, tmp_path, Baseline.from_records(old, "old.jsonl"))
        counts = diff.counts(diff.compare(Baseline.from_records(old), Baseline.from_records(new)))
        for change, count in counts.items():
            assert f'<span class="chip c-{change}">{change.replace("_", " ")} {count}</span>' in text
        assert "<details><summary>added 1, removed 1 (not failing now)</summary>" in text


class TestScale:
    def test_100k_records_make_a_bounded_page(self, tmp_path: Path) -> None:
        """100,000 records in 2,000 groups, a 100,000-record baseline: the page stays under 1 MiB (tables
        capped, charts aggregated) and is built in seconds; 1,000 records make a page of similar size."""
        small_page = render(mixed(1_000, groups=20), tmp_path)
        records = mixed(100_000, groups=2_000)
        base = Baseline.from_records(mixed(100_000, groups=2_000, fail_every=5))
        started = time.process_time()
        text = render(records, tmp_path, base)
        cpu = time.process_time() - started
        size = len(text.encode())
        print(f"100k: page {size / 1e3:.0f} kB (1k: {len(small_page) / 1e3:.0f} kB), cpu {cpu:.2f} s")
        assert size < 1 << 20
        assert text.count("<tr>") < 1_500
        assert f"… and {2_000 - sections.TILES_SHOWN:,} more groups" in text
        assert cpu < 30  # ~2 s here; generous for a loaded 2-core machine
        assert page.CSP in text


class TestSafeText:
    def test_controls_and_bidi_overrides_are_replaced(self) -> None:
        """C0/C1 controls, DEL, noncharacters, lone surrogates and bidi controls become U+FFFD; tabs,
        line breaks, non-ASCII letters and emoji stay."""
        from prober.sinks.safetext import clean, one_line

        assert clean("a\x00b\x1b\x7f\x9b\ufffe\ud800c") == "a\ufffdb" + "\ufffd" * 5 + "c"
        assert clean("x\u202ey\u2066z\u200f") == "x\ufffdy\ufffdz\ufffd"
        assert clean("é\tß\n🚀\r") == "é\tß\n🚀\r"
        assert one_line("a\r\n\tb\nc", 4) == "a b…"
