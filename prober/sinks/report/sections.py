"""The report's sections as HTML fragments; every value from a record goes through `esc`."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence

from prober.results import diff
from prober.results.baseline import Outcome
from prober.sinks.report import charts
from prober.sinks.report.collect import FAILURES_SHOWN, ReportData
from prober.sinks.safetext import clean

TILES_SHOWN = 120
CHARTS_SHOWN = 24
CHANGES_SHOWN = 100  # rows per kind of change
FAILING_CHANGES = ("newly_failing", "still_failing", "recovered")
STATUSES = ("ok", "warn", "fail")


def esc(value: object) -> str:
    """Text safe in HTML content and in quoted attributes: control characters replaced, markup escaped."""
    return html.escape(clean(str(value)), quote=True)


def _ms(latency: float | None) -> str:
    """A latency cell; data-ms lets the page's script sort by number, not text."""
    if latency is None:
        return '<span data-ms="-1">-</span>'
    return f'<span data-ms="{latency:.3f}">{charts.duration(latency)}</span>'


def _table(table_id: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A sortable table; cells must already be escaped."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<table id="{table_id}" class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def _more(shown: int, total: int, what: str) -> str:
    if total <= shown:
        return ""
    return f'<p class="muted">showing {shown:,} of {total:,} {what}</p>'


def _bar(counter: dict[str, int]) -> str:
    total = sum(counter.get(s, 0) for s in STATUSES) or 1
    x, rects = 0.0, []
    for status in STATUSES:
        width = counter.get(status, 0) / total * 100
        if width:
            rects.append(
                f'<rect x="{x:.2f}" width="{width:.2f}" height="6" fill="{charts.COLOURS[status]}"/>'
            )
            x += width
    return f'<svg class="bar" viewBox="0 0 100 6" preserveAspectRatio="none">{"".join(rects)}</svg>'


def tiles(data: ReportData) -> str:
    """One tile per group (ok, warn, fail), worst first."""
    groups = sorted(data.by_group.items(), key=lambda g: (-g[1]["fail"], -g[1]["warn"], g[0]))
    out = []
    for name, counter in groups[:TILES_SHOWN]:
        state = "fail" if counter["fail"] else "warn" if counter["warn"] else "ok"
        nums = " ".join(f'<span class="n-{s}">{counter[s]:,} {s}</span>' for s in STATUSES if counter[s])
        out.append(
            f'<div class="tile {state}"><div class="name">{esc(name)}</div>'
            f'<div class="nums">{nums}</div>{_bar(counter)}</div>'
        )
    rest = groups[TILES_SHOWN:]
    note = ""
    if rest:
        failing = sum(1 for _, c in rest if c["fail"])
        note = f'<p class="muted">… and {len(rest):,} more groups ({failing:,} of them failing) not shown</p>'
    return f'<section id="groups"><h2>Groups</h2><div class="tiles">{"".join(out)}</div>{note}</section>'


def failures(data: ReportData) -> str:
    """Failures by kind, then the failures table (capped, round-robin across group and kind)."""
    total = sum(data.by_kind.values())
    if not total:
        return '<section id="failures"><h2>Failures</h2><p class="good">No failures.</p></section>'
    chips = " ".join(f'<span class="chip">{esc(k)} {n:,}</span>' for k, n in data.by_kind.most_common())
    rows = [
        (
            esc(r.group),
            esc(r.host),
            esc(r.probe),
            f'<span class="kind">{esc(r.kind)}</span>',
            esc(r.message),
            _ms(r.latency_ms),
        )
        for r in data.failures()
    ]
    return (
        f'<section id="failures"><h2>Failures ({total:,})</h2><p>{chips}</p>'
        '<p><input id="filter" type="search" placeholder="filter failures (host, kind, message…)" '
        'aria-label="filter failures"></p>'
        + _table("failtable", ("group", "host", "probe", "kind", "message", "latency"), rows)
        + _more(min(total, FAILURES_SHOWN), total, "failures (a share of each group and kind)")
        + "</section>"
    )


def _side(outcome: Outcome | None) -> str:
    if outcome is None:
        return '<span class="muted">absent</span>'
    return f'<span class="s-{esc(outcome.status)}">{esc(outcome.kind or outcome.status)}</span>'


def _change_rows(found: list[diff.Change]) -> list[tuple[str, ...]]:
    """At most CHANGES_SHOWN rows of each kind of change."""
    shown: Counter[str] = Counter()
    rows: list[tuple[str, ...]] = []
    for change in found:
        shown[change.change] += 1
        if shown[change.change] <= CHANGES_SHOWN:
            rows.append(
                (
                    f'<span class="c-{change.change}">{change.change.replace("_", " ")}</span>',
                    esc(change.group),
                    esc(change.host),
                    esc(change.probe),
                    _side(change.before),
                    _side(change.after),
                    esc(diff.message(change)),
                )
            )
    return rows


def changes(data: ReportData) -> str:
    """What changed since the baseline (the `prober diff` logic); added and removed folded away."""
    if data.baseline is None or data.current is None:
        return ""
    found = diff.compare(data.baseline, data.current)
    counts = diff.counts(found)
    chips = " ".join(
        f'<span class="chip c-{c}">{c.replace("_", " ")} {counts[c]:,}</span>' for c in diff.CHANGES
    )
    headers = ("change", "group", "host", "probe", "before", "after", "message")
    failing = _change_rows([c for c in found if c.change in FAILING_CHANGES])
    other = _change_rows([c for c in found if c.change not in FAILING_CHANGES])
    body = _table("changetable", headers, failing) if failing else '<p class="good">No failure changed.</p>'
    if other:
        summary = f"added {counts['added']:,}, removed {counts['removed']:,} (not failing now)"
        body += f"<details><summary>{summary}</summary>{_table('movetable', headers, other)}</details>"
    cut = "".join(
        f'<p class="muted">{c.replace("_", " ")}: showing {CHANGES_SHOWN} of {counts[c]:,}</p>'
        for c in diff.CHANGES
        if counts[c] > CHANGES_SHOWN
    )
    return (
        f'<section id="changes"><h2>Changes since the baseline</h2>'
        f'<p class="muted">baseline {esc(data.baseline.path)}: {len(data.baseline.outcomes):,} probes</p>'
        f"<p>{chips}</p>{body}{cut}</section>"
    )


def latency(data: ReportData) -> str:
    """A histogram per probe name (the most frequent CHARTS_SHOWN names)."""
    names = sorted(data.latency, key=lambda n: (-data.latency[n].count(), n))
    figures = "".join(
        f"<figure><figcaption><b>{esc(name)}</b> {esc(charts.caption(data.latency[name]))}</figcaption>"
        f"{charts.svg(name, data.latency[name])}</figure>"
        for name in names[:CHARTS_SHOWN]
    )
    legend = " ".join(f'<span class="n-{s}">■ {s}</span>' for s in STATUSES)
    rest = _more(CHARTS_SHOWN, len(names), "probe names")
    return (
        f'<section id="latency"><h2>Latency by probe</h2><p>{legend}</p>'
        f'<div class="charts">{figures}</div>{rest}</section>'
    )


def slowest(data: ReportData) -> str:
    rows = [
        (
            _ms(r.latency_ms),
            esc(r.group),
            esc(r.host),
            esc(r.probe),
            f'<span class="s-{esc(r.status)}">{esc(r.status)}</span>',
            esc(r.kind),
        )
        for r in data.slowest()
    ]
    if not rows:
        return ""
    return (
        '<section id="slowest"><h2>Slowest probes</h2>'
        + _table("slowtable", ("latency", "group", "host", "probe", "status", "kind"), rows)
        + "</section>"
    )


__all__ = ["changes", "esc", "failures", "latency", "slowest", "tiles"]
