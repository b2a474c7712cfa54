"""The self-contained report page: inline CSS, JS and SVG under a Content-Security-Policy that loads nothing.

The policy allows exactly the page's one `<style>` and one `<script>` (by SHA-256) and nothing else:
no network, no other inline script or style. Remote text is escaped anyway (sections.esc); the policy
is the second wall should an escape ever be missed."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

from prober import __version__
from prober.sinks.report import sections
from prober.sinks.report.collect import ReportData
from prober.sinks.report.sections import esc

CSS = """
:root{--ok:#2e7d32;--warn:#b58100;--fail:#c62828;--muted:#666;--line:#ddd;--bg:#fff;--fg:#1a1a1a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0}
body{color:var(--fg);background:var(--bg)}
header,section,footer{padding:12px 24px}
header{border-bottom:1px solid var(--line)}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:8px 0}
nav a{margin-right:12px}
.muted{color:var(--muted)}.good{color:var(--ok)}
.totals{display:flex;gap:24px;margin-top:8px}
.total{font-size:24px;font-weight:600}
.total small{display:block;font-size:12px;font-weight:400;color:var(--muted)}
.n-ok,.s-ok{color:var(--ok)}.n-warn,.s-warn{color:var(--warn)}.n-fail,.s-fail{color:var(--fail)}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:8px}
.tile{border:1px solid var(--line);border-left:6px solid var(--ok);border-radius:4px;padding:6px 8px}
.tile.warn{border-left-color:var(--warn)}.tile.fail{border-left-color:var(--fail)}
.tile .name{font-weight:600;overflow-wrap:anywhere}.tile .nums{font-size:12px}
svg.bar{display:block;width:100%;height:6px;margin-top:4px}
.chip{display:inline-block;border:1px solid var(--line);border-radius:10px;padding:0 8px;margin:2px}
.chip{font-size:12px}
.c-newly_failing{color:var(--fail);font-weight:600}.c-recovered{color:var(--ok)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
td{overflow-wrap:anywhere}
th{cursor:pointer;user-select:none;background:#f6f6f6}
th[data-sort=asc]::after{content:" \\25B2"}th[data-sort=desc]::after{content:" \\25BC"}
.kind{font-family:ui-monospace,monospace;color:var(--fail);white-space:nowrap}
input[type=search]{width:min(480px,100%);padding:4px 6px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
figure{margin:0}figcaption{font-size:12px;overflow-wrap:anywhere}
svg.chart text{font-size:9px;fill:var(--muted)}
"""

JS = """
"use strict";
(function () {
  var filter = document.getElementById("filter");
  var table = document.getElementById("failtable");
  if (filter && table) {
    filter.addEventListener("input", function () {
      var needle = filter.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) < 0;
      });
    });
  }
  function key(cell) {
    var timed = cell.querySelector("[data-ms]");
    return timed ? parseFloat(timed.getAttribute("data-ms")) : cell.textContent.toLowerCase();
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable th"), function (th) {
    th.addEventListener("click", function () {
      var body = th.closest("table").tBodies[0];
      var index = th.cellIndex;
      var up = th.getAttribute("data-sort") !== "asc";
      Array.prototype.forEach.call(th.parentNode.cells, function (other) {
        other.removeAttribute("data-sort");
      });
      th.setAttribute("data-sort", up ? "asc" : "desc");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a.cells[index]), y = key(b.cells[index]);
        return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP = (
    f"default-src 'none'; style-src {_sha256(CSS)}; script-src {_sha256(JS)}; "
    "base-uri 'none'; form-action 'none'"
)


def _header(data: ReportData, source: str) -> str:
    total = data.total
    run_ids = list(data.run_ids)
    runs = ", ".join(esc(r) for r in run_ids[:3]) + (
        f" and {len(run_ids) - 3} more" if len(run_ids) > 3 else ""
    )
    facts = [f"results {esc(source)}", f"run {runs}" if runs else ""]
    if data.first_ts:
        facts.append(f"{esc(data.first_ts)} to {esc(data.last_ts)}")
    sweep = data.sweep or {}
    if isinstance(sweep.get("duration_ms"), int | float):
        facts.append(f"sweep took {sweep['duration_ms'] / 1000:.2f} s")
    if sweep.get("stopped"):
        facts.append(f'<span class="s-fail">stopped early: {esc(sweep["stopped"])}</span>')
    if data.insecure:
        facts.append(f'<span class="s-warn">{data.insecure:,} probes with verification off (insecure)</span>')
    numbers = "".join(
        f'<div class="total n-{s}">{total[s]:,}<small>{s}</small></div>' for s in ("ok", "warn", "fail")
    )
    links = ["groups", "failures", "changes" if data.baseline is not None else "", "latency", "slowest"]
    nav = " ".join(f'<a href="#{name}">{name}</a>' for name in links if name)
    return (
        f'<header><h1>prober report</h1><p class="muted">{" · ".join(f for f in facts if f)}</p>'
        f'<div class="totals">{numbers}</div><nav>{nav}</nav></header>'
    )


def render(data: ReportData, source: str) -> Iterator[str]:
    """The page, in chunks (written as they come by write_atomic)."""
    title = f"prober report: {sum(data.total.values()):,} probes, {data.total['fail']:,} failing"
    yield (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width,initial-scale=1">\n'
        f'<meta name="referrer" content="no-referrer">\n<title>{esc(title)}</title>\n'
        f"<style>{CSS}</style></head>\n<body>\n"
    )
    yield _header(data, source)
    yield "<main>\n"
    for section in (sections.tiles, sections.failures, sections.changes, sections.latency, sections.slowest):
        yield section(data) + "\n"
    footer = f"prober {esc(__version__)}; this page loads nothing from the network."
    yield f'</main>\n<footer class="muted">{footer}</footer>\n'
    yield f"<script>{JS}</script>\n</body></html>\n"


__all__ = ["CSP", "CSS", "JS", "render"]
