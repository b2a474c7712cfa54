"""Inline SVG latency histograms: log-spaced bins, bars stacked by status; size independent of the data."""

from __future__ import annotations

import math
from html import escape

from prober.sinks.report.collect import Latencies

PER_DECADE = 8  # bins per factor of 10 (each bin 1.33 times wider than the last)
WIDTH, HEIGHT, AXIS = 320, 96, 16
COLOURS = {"ok": "#2e7d32", "warn": "#e0a800", "fail": "#c62828"}
STATUSES = ("ok", "warn", "fail")
FLOOR_MS = 0.01  # latencies below this (or 0) share the first bin


def duration(ms: float) -> str:
    """A latency for people: 0.42 ms, 12 ms, 1.5 s."""
    if ms >= 1000:
        return f"{ms / 1000:.3g} s"
    return f"{ms:.2g} ms" if ms < 10 else f"{ms:.0f} ms"


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def _bin(ms: float, low: int) -> int:
    return int((math.log10(max(ms, FLOOR_MS)) - low) * PER_DECADE)


def histogram(lat: Latencies) -> tuple[int, int, dict[str, list[int]]]:
    """(lowest decade, highest decade, counts per bin by status) over every latency."""
    values = [v for series in lat.by_status.values() for v in series]
    if not values:
        return 0, 0, {}
    low = math.floor(math.log10(max(min(values), FLOOR_MS)))
    high = max(low + 1, math.ceil(math.log10(max(max(values), FLOOR_MS)) + 1e-9))
    bins = (high - low) * PER_DECADE
    counts = {status: [0] * bins for status in STATUSES}
    for status, series in lat.by_status.items():
        row = counts.setdefault(status, [0] * bins)
        for ms in series:
            row[min(bins - 1, _bin(ms, low))] += 1
    return low, high, counts


def svg(name: str, lat: Latencies) -> str:
    """One chart: bars stacked ok/warn/fail, decade ticks, a tooltip per bar."""
    low, high, counts = histogram(lat)
    if not counts:
        return '<p class="muted">no latency (no probe ran)</p>'
    bins = (high - low) * PER_DECADE
    tallest = max(sum(counts[s][i] for s in counts) for i in range(bins)) or 1
    step = WIDTH / bins
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + AXIS}" width="{WIDTH}" height="{HEIGHT + AXIS}" '
        f'role="img" aria-label="latency histogram of {escape(name)}">'
    ]
    for i in range(bins):
        y = float(HEIGHT)
        edge = (10 ** (low + i / PER_DECADE), 10 ** (low + (i + 1) / PER_DECADE))
        tip = f"{duration(edge[0])} to {duration(edge[1])}: " + ", ".join(
            f"{counts[s][i]} {s}" for s in counts if counts[s][i]
        )
        for status in STATUSES:
            n = counts.get(status, [0] * bins)[i]
            if n:
                h = max(1.0, n / tallest * (HEIGHT - 4))
                y -= h
                parts.append(
                    f'<rect x="{i * step + 0.5:.1f}" y="{y:.1f}" width="{step - 1:.1f}" height="{h:.1f}" '
                    f'fill="{COLOURS.get(status, "#666")}"><title>{escape(tip)}</title></rect>'
                )
    for decade in range(low, high + 1):
        x = (decade - low) * PER_DECADE * step
        anchor = "start" if decade == low else "end" if decade == high else "middle"
        parts.append(
            f'<line x1="{x:.1f}" y1="{HEIGHT}" x2="{x:.1f}" y2="{HEIGHT + 4}" stroke="#888"/>'
            f'<text x="{x:.1f}" y="{HEIGHT + 14}" text-anchor="{anchor}">{duration(10.0**decade)}</text>'
        )
    parts.append(f'<line x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#888"/></svg>')
    return "".join(parts)


def caption(lat: Latencies) -> str:
    """p50, p95 and max, and how many probes never ran."""
    ordered = lat.all()
    parts = [f"{len(ordered):,} timed"]
    if ordered:
        parts += [
            f"p50 {duration(percentile(ordered, 0.5))}",
            f"p95 {duration(percentile(ordered, 0.95))}",
            f"max {duration(ordered[-1])}",
        ]
    if lat.no_latency:
        parts.append(f"{lat.no_latency:,} never ran")
    return " · ".join(parts)


__all__ = ["caption", "duration", "histogram", "percentile", "svg"]
