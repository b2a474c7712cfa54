"""Probe kinds: each declares everything about itself once, in one ProbeKind; the rest is derived.

A kind is a module (or package) directly under prober/probes/ with a module-level `KIND`. It gives:
its spec (a frozen dataclass whose fields carry `param(...)` metadata: converter, templated, alias;
a field without a default is required), the dotted path of its probe function (imported, with its
libraries, only when a plan uses the kind), its record section and that section's JSON Schema, what
makes a spec insecure, which values it sends are secrets, what it prepares before any probe's clock
starts, its cross-field checks, and the Prometheus metrics its record section gives. The inventory's
key tables, the loader's messages, the probe map, record shaping, the schema's per-kind parts and the
metrics sink's per-kind families come from here; nothing else names a kind.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from prober.inventory import fields as convert
from prober.model import BaseSpec, Job, Outcome, Target

if TYPE_CHECKING:
    from prober.runtime.prepare import Prepared
    from prober.runtime.resources import Resources

Converter = Callable[[Any], Any]
Problems = list[tuple[str, str]]
S = TypeVar("S", bound=BaseSpec)
S_contra = TypeVar("S_contra", bound=BaseSpec, contravariant=True)


@dataclass(frozen=True, slots=True)
class Param:
    """How an inventory key becomes a spec field."""

    convert: Converter
    templated: bool = False  # may hold {host}, {address}, {group} and vars, resolved per host
    alias: str | None = None  # the inventory's spelling, when the field's name is taken
    # A templated field's check of each host's rendered value (`convert` lets a template through
    # unchecked): a var can never make a value `convert` would have refused. None: taken as rendered.
    rendered: Converter | None = None


def param(convert: Converter, default: Any = dataclasses.MISSING, *, templated: bool = False,
          alias: str | None = None, rendered: Converter | None = None) -> Any:  # fmt: skip
    """A spec field read from the inventory; no default means the inventory must give it."""
    meta = {"param": Param(convert, templated, alias, rendered)}
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


# The fields every kind has (BaseSpec), as the inventory spells and converts them.
COMMON: dict[str, Param] = {
    "timeout": Param(convert.duration),
    "retries": Param(convert.integer(0, 10)),
    "latency_warn": Param(convert.duration),
}


class ProbeFn(Protocol[S_contra]):
    """`probe(target, spec, resources)`: details on success, ProbeFailed on a wrong answer; network
    errors propagate; it never sets its own overall deadline (the engine owns time)."""

    def __call__(self, target: Target, spec: S_contra, res: Resources, /) -> Awaitable[Outcome]: ...


Preparer = Callable[[Sequence[Job], "Prepared", "threading.Event | None"], None]


@dataclass(frozen=True, slots=True)
class Metric:
    """A Prometheus gauge family a kind exports (blackbox_exporter's name and help where they apply)."""

    name: str
    help: str


# (family, labels beyond the record's own, value); given the record's section and the whole record.
MetricSample = tuple[Metric, tuple[tuple[str, str], ...], float]
Metrics = Callable[[Mapping[str, Any], Mapping[str, Any]], Iterable[MetricSample]]


def _never(spec: BaseSpec) -> bool:
    return False


def _no_secrets(spec: BaseSpec) -> list[str]:
    return []


def _no_problems(params: Mapping[str, Any]) -> Problems:
    return []


def _nothing_to_load() -> None:
    return None


@dataclass(frozen=True)
class ProbeKind(Generic[S]):
    """Everything about one probe kind."""

    name: str
    spec: type[S]
    probe: str  # "module:function"
    record: Callable[[S, Mapping[str, Any]], dict[str, Any]]  # the record's section named after the kind
    record_schema: Mapping[str, Any]  # JSON Schema of that section
    doc: str = ""
    insecure: Callable[[S], bool] = _never  # verification switched off: records say "insecure": true
    secrets: Callable[[S], list[str]] = _no_secrets  # values it sends that no output may show
    prepare: Preparer | None = None  # before any clock starts: imports, contexts, keys, patterns
    libraries: Callable[[], None] = _nothing_to_load  # imports its libraries (with their patches)
    cross_checks: Callable[[Mapping[str, Any]], Problems] = _no_problems  # one probe definition
    combinations: Callable[[Mapping[str, Any]], Problems] = _no_problems  # after every override layer
    shown: Callable[[S], dict[str, Any]] | None = None  # `plan` parameters (secrets redacted)
    metrics: Metrics | None = None  # Prometheus samples from its record section (prober/sinks/prom.py)
    _loaded: list[ProbeFn[S]] = field(default_factory=list, repr=False, compare=False)

    @functools.cached_property
    def params(self) -> dict[str, Param]:
        """Field name → Param, the common ones first."""
        own = {f.name: f.metadata["param"] for f in dataclasses.fields(self.spec) if "param" in f.metadata}
        return {**COMMON, **own}

    @functools.cached_property
    def converters(self) -> dict[str, Converter]:
        """Field name → converter (an aliased field is written under its alias: see `aliases`)."""
        return {name: p.convert for name, p in self.params.items()}

    @functools.cached_property
    def aliases(self) -> dict[str, str]:
        """Inventory key → field name, where they differ."""
        return {p.alias: name for name, p in self.params.items() if p.alias}

    @functools.cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(
            f.name
            for f in dataclasses.fields(self.spec)
            if "param" in f.metadata
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        )

    @functools.cached_property
    def templated(self) -> frozenset[str]:
        return frozenset(name for name, p in self.params.items() if p.templated)

    def load(self) -> ProbeFn[S]:
        """The probe function, its module and libraries imported on first use."""
        if not self._loaded:
            self.libraries()
            module, _, function = self.probe.partition(":")
            self._loaded.append(getattr(importlib.import_module(module), function))
        return self._loaded[0]


_lock = threading.Lock()


@functools.cache
def kinds() -> Mapping[str, ProbeKind[Any]]:
    """Every kind: the `KIND` of each module or package directly under prober/probes/, by name."""
    import prober.probes as package

    found: dict[str, ProbeKind[Any]] = {}
    with _lock:
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if info.name.startswith("_") or info.name == "registry":
                continue
            kind = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "KIND", None)
            if isinstance(kind, ProbeKind):
                found[kind.name] = kind
    return found


def get(name: str) -> ProbeKind[Any]:
    """The kind called `name`; KeyError for an unknown one."""
    return kinds()[name]


def names() -> str:
    """'dns, http, ssh or tcp', for messages."""
    ordered = sorted(kinds())
    return ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} or {ordered[-1]}"


__all__ = [
    "COMMON",
    "Metric",
    "MetricSample",
    "Metrics",
    "Param",
    "ProbeFn",
    "ProbeKind",
    "get",
    "kinds",
    "names",
    "param",
]
