"""Prometheus metrics of the latest result of every (host, probe), for /metrics and node_exporter.

    metrics = PromMetrics()
    metrics.update(record)            # a probe record as written to JSONL: replaces that (host, probe)
    metrics.sweep(line)               # the sweep line
    metrics.retain({(host, probe)})   # forget probes no longer planned
    metrics.render()                  # the text format (0.0.4) as bytes, for an HTTP /metrics
    metrics.write_textfile(path)      # the same, written atomically, for the textfile collector
    registry.register(metrics)        # also a prometheus_client Collector (~10x slower than render())

prometheus_client writes every label set (escaping), value and header; render() keeps each (host, probe)'s
label text from one record to the next, so a scrape only joins text (bench/prom_render.py measures both).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import orjson
from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from prober.errors import InventoryError, Problem
from prober.sinks import promfamilies as fam
from prober.sinks import promsweep

__all__ = ["PromMetrics", "load_jsonl"]

_CACHE_MAX = 10_000  # label-name mappings, label texts and value texts memoised; past this, rebuilt


class _Entry(NamedTuple):
    """One (host, probe): its labels, their text as the library writes them, and its samples.

    Flat tuples, because this is what memory grows with: labels are (name, value, name, value, ...),
    samples (family index, labels the sample adds, value as text, ...): ~0.75 KB a key, not ~1.4 KB."""

    labels: tuple[str, ...]
    text: str
    samples: tuple[Any, ...]


class _Families:
    """A Collector over families already built (what generate_latest takes)."""

    def __init__(self, families: Iterable[Any]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Any]:
        return self.families


def label_text(pairs: fam.Pairs) -> str:
    """`{name="value",...}` for these labels, escaped and ordered by prometheus_client itself."""
    family = GaugeMetricFamily("x", "", labels=[name for name, _ in pairs])
    family.add_metric([value for _, value in pairs], 0)
    line = generate_latest(_Families([family])).decode("utf-8").rsplit("\n", 2)[-2]  # x{...} 0.0
    return line[1 : line.rindex(" ")]


def _header(family: fam.Family) -> str:
    return generate_latest(_Families([GaugeMetricFamily(family.name, family.help)])).decode("utf-8")


class PromMetrics(Collector):
    """The latest sample set of every (host, probe) and of the last sweep; memory is one entry per key."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._names: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._extras: dict[fam.Pairs, str] = {}
        self._values: dict[float, str] = {}
        self._headers: dict[str, str] = {}
        self._sweep: list[Any] = []
        self._sweeps = 0

    def __len__(self) -> int:
        return len(self._entries)

    def update(self, record: Mapping[str, Any]) -> None:
        """Take one probe record (a dict as written to JSONL); ValueError says what is malformed."""
        try:
            key = (str(record["host"]), str(record["probe"]))
            labels = self._labels(record)
            values, flat = self._values, list[Any]()
            for index, extra, value in fam.record_samples(record):
                flat += (index, extra, values.get(value) or self._value(value))
            samples = tuple(flat)
        except KeyError as exc:
            raise ValueError(f"a probe record needs {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"a probe record with a bad value: {exc}") from None
        for extra in samples[1::3]:
            if extra and extra not in self._extras:
                self._extra(extra)
        old = self._entries.get(key)
        # Labels rarely change between sweeps: the library writes a key's label text once, not per record.
        if old is not None and old.labels == labels:
            text = old.text
        else:
            text = label_text(tuple(zip(labels[::2], labels[1::2], strict=True)))
        self._entries[key] = _Entry(labels, text, samples)

    def sweep(self, line: Mapping[str, Any], now: float | None = None) -> None:
        """Take the sweep line; `now` is when the sweep ended (None: from the line, see promsweep)."""
        try:
            self._sweep = promsweep.families(line, now)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"a sweep line with a bad or missing value: {exc!r}") from None
        self._sweeps += 1

    def retain(self, keys: Iterable[tuple[str, str]]) -> None:
        """Forget every (host, probe) not in keys: a probe taken out of the inventory stops being exported."""
        keep = set(keys)
        self._entries = {key: entry for key, entry in self._entries.items() if key in keep}

    def _labels(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        value = fam.label_value
        base = (
            *("host", value(record["host"]) or ""),
            *("group", value(record["group"]) or ""),
            *("probe", value(record["probe"]) or ""),
            *("type", value(record["type"]) or ""),
        )
        labels = record.get("labels")
        if not isinstance(labels, Mapping) or not labels:
            return base
        keys = tuple(str(key) for key in labels)
        names = self._names.get(keys)
        if names is None:
            if len(self._names) >= _CACHE_MAX:
                self._names.clear()
            names = self._names[keys] = fam.label_names(keys)
        values = (value(item) for item in labels.values())
        return base + tuple(x for n, v in zip(names, values, strict=True) if v is not None for x in (n, v))

    def _value(self, value: float) -> str:
        """The value as the text format writes it (the library's Go-style float), memoised: most values
        repeat (0, 1, status codes), and formatting them was 40% of a render's time."""
        text = self._values.get(value)
        if text is None:
            text = floatToGoString(value)  # type: ignore[no-untyped-call]  # prometheus_client leaves it bare
            if len(self._values) < _CACHE_MAX:
                self._values[value] = text
        return text

    def _extra(self, pairs: fam.Pairs) -> str:
        """`name="value",...` (no braces) for the labels a sample adds to its record's."""
        if len(self._extras) >= _CACHE_MAX:
            self._extras.clear()
        text = self._extras[pairs] = label_text(pairs)[1:-1]
        return text

    def render(self) -> bytes:
        """The text exposition format: every (host, probe) family, then the sweep's."""
        entries = list(self._entries.values())  # a snapshot: a scrape may run while records arrive
        buckets: list[list[str]] = [[] for _ in fam.FAMILIES]
        appends = [bucket.append for bucket in buckets]
        names = [family.name for family in fam.FAMILIES]
        extras = self._extras
        for entry in entries:
            text, head = entry.text, entry.text[:-1]
            flat = iter(entry.samples)
            for index, extra, value in zip(flat, flat, flat, strict=True):
                if extra:
                    more = extras.get(extra) or self._extra(extra)
                    appends[index](f"{names[index]}{head},{more}}} {value}\n")
                else:
                    appends[index](f"{names[index]}{text} {value}\n")
        out: list[str] = []
        for family, bucket in zip(fam.FAMILIES, buckets, strict=True):
            if bucket:
                if family.name not in self._headers:
                    self._headers[family.name] = _header(family)
                out += (self._headers[family.name], "".join(bucket))
        return "".join(out).encode("utf-8") + generate_latest(_Families(self._sweep_families()))

    def collect(self) -> Iterator[Any]:
        """The same metrics as prometheus_client families, for a registry (render() is faster)."""
        built = [GaugeMetricFamily(family.name, family.help) for family in fam.FAMILIES]
        for entry in list(self._entries.values()):
            labels = dict(zip(entry.labels[::2], entry.labels[1::2], strict=True))
            flat = iter(entry.samples)
            for index, extra, value in zip(flat, flat, flat, strict=True):
                name = fam.FAMILIES[index].name
                built[index].add_sample(name, {**labels, **dict(extra)}, float(value))
        yield from (family for family in built if family.samples)
        yield from self._sweep_families()

    def _sweep_families(self) -> list[Any]:
        sweeps = CounterMetricFamily("prober_sweeps", "Sweep lines taken since start", value=self._sweeps)
        return [*self._sweep, sweeps]

    def write_textfile(self, path: str | os.PathLike[str]) -> None:
        """Write render() to path atomically (temporary file, fsync, rename) for node_exporter's textfile
        collector, which reads only `*.prom`: the hidden temporary file is never read half-written."""
        data = self.render()
        directory, name = os.path.split(os.path.abspath(os.fspath(path)))
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o644)  # mkstemp makes it 0600; node_exporter runs as another user
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise


def load_jsonl(path: str, metrics: PromMetrics | None = None) -> PromMetrics:
    """Feed every line of a prober JSONL file (probe records and sweep lines; with several sweeps
    appended, the latest record of each key wins); InventoryError names file:line of a bad line."""
    metrics = metrics if metrics is not None else PromMetrics()
    try:
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    _feed(metrics, path, number, line)
    except OSError as exc:
        raise InventoryError([Problem(path, None, "", f"cannot read: {exc.strerror or exc}")]) from None
    return metrics


def _feed(metrics: PromMetrics, path: str, number: int, line: bytes) -> None:
    try:
        item = orjson.loads(line)
        if not isinstance(item, dict):
            raise ValueError("not a JSON object")
        if item.get("event") == "probe":
            metrics.update(item)
        elif item.get("event") == "sweep":
            metrics.sweep(item)
        else:
            raise ValueError(f"event {item.get('event')!r} is neither 'probe' nor 'sweep'")
    except ValueError as exc:  # orjson.JSONDecodeError is one
        raise InventoryError([Problem(path, number, "", f"not a prober record: {exc}")]) from None
