"""`/probe?target=…&module=…`: one probe of one target, now, answered as blackbox_exporter answers.

Modelled on blackbox_exporter's prober/handler.go: `module` (default `http_2xx`) names a probe of the
inventory; `target` is required; the probe's timeout is the smaller of the module's and Prometheus'
`X-Prometheus-Scrape-Timeout-Seconds` less 0.5 s (blackbox's --timeout-offset; 120 s without the
header); the answer is the probe's metrics only, without labels (Prometheus adds `instance` and `job`),
`probe_success`, `probe_duration_seconds`, `probe_timeout_seconds` and the kind's families first.

What a target may be (the scraper chooses it, so it must not widen what prober can be made to send):
- `host` or `host:port` (`[v6]:port`), by the rules an inventory's host names follow: never a URL, a
  path or `user@`. It only fills the places the module's templates give it ({host}, {address},
  {port}); scheme, path, headers, command and payload stay the module's.
- An inventory host planned with that module is probed exactly as the sweeps probe it (its group's vars
  and overrides). Any other target (with `--probe-targets any`, the default) gets the module's own
  parameters with `defaults.vars`, in group `probe` — unless the module sends a secret (a header value,
  URL credentials, a password or payload from the environment): that would hand it to whichever host
  the scraper names, so it is refused (403). `--probe-targets inventory` refuses every other target.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from prober.budget import Budget, budgets
from prober.errors import InventoryError
from prober.inventory import fields, tables
from prober.inventory.defs import GroupDef, HostDecl, Inventory
from prober.model import Job, Result
from prober.plan import SweepSettings, build_plan
from prober.probes import registry
from prober.record import to_record
from prober.runtime.execute import build_engine
from prober.runtime.prepare import Prepared
from prober.sinks import promfamilies as fam

DEFAULT_MODULE = "http_2xx"  # blackbox's default module name
TIMEOUT_OFFSET = 0.5  # blackbox's --timeout-offset default: room for the scrape's own overhead
NO_HEADER_TIMEOUT = 120.0  # blackbox's timeout without the Prometheus header
ADHOC_GROUP = "probe"
PREPARED_MAX = 4096  # cached contexts, keys and patterns kept for /probe before starting afresh


class Refused(Exception):
    """A request /probe will not serve: the HTTP status and blackbox-style message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def scrape_timeout(header: str | None, module_timeout: float) -> float:
    """blackbox's getTimeout: the scrape's timeout less the offset, or the module's when smaller."""
    seconds = 0.0
    if header:
        try:
            seconds = float(header)
        except ValueError:
            raise Refused(500, f"Failed to parse timeout from Prometheus header: {header!r}") from None
    if not seconds or seconds != seconds:  # 0 or NaN
        seconds = NO_HEADER_TIMEOUT
    most = seconds - TIMEOUT_OFFSET
    return module_timeout if module_timeout < most or most <= 0 else most


class Plan:
    """An inventory in use, its settings and plan, with its (host, probe) → job index built on demand."""

    def __init__(self, inventory: Inventory, settings: SweepSettings, jobs: tuple[Job, ...]) -> None:
        self.inventory, self.settings, self.jobs = inventory, settings, jobs
        self._index: dict[tuple[str, str], Job] | None = None
        self._budgets: dict[str, tuple[int, Budget]] | None = None

    def budgets(self) -> dict[str, tuple[int, Budget]]:
        """Each planned group's hosts and max_fail budget, as `prober sweep` counts them."""
        if self._budgets is None:
            self._budgets = budgets(self.inventory, self.settings, self.jobs)
        return self._budgets

    def planned(self, host: str, module: str) -> Job | None:
        if self._index is None:
            self._index = {(job.target.name, job.spec.name): job for job in self.jobs}
        return self._index.get((host, module))


def resolve(plan: Plan, target: str, module: str, any_target: bool) -> Job:
    """The job for (target, module), or Refused saying why not."""
    from prober.inventory.sources.sd import split_target

    if not target:
        raise Refused(400, "Target parameter is missing")
    if module not in plan.inventory.probes:
        raise Refused(400, f"Unknown module {module!r} (modules are the inventory's probes)")
    try:
        host, port = split_target(target)
    except ValueError as exc:
        raise Refused(400, str(exc)) from None
    job = plan.planned(host, module) if port is None else None
    if job is not None:
        return job
    if not any_target:
        raise Refused(403, f"target {target!r} is not an inventory host probed by {module!r}")
    return _adhoc(plan, host, port, module)


def _adhoc(plan: Plan, host: str, port: int | None, module: str) -> Job:
    probe = plan.inventory.probes[module]
    templated = [
        fields.template_names(value)
        for name, value in probe.params.items()
        if name in tables.templated(probe.kind) and isinstance(value, str)
    ]
    if port is not None and not any("port" in names for names in templated):
        raise Refused(
            400, f"module {module!r} has no {{port}} in its templates: give the target without a port"
        )
    variables = dict(plan.inventory.defaults.vars)
    if port is not None:
        variables["port"] = port
    declared = HostDecl(pattern=host, line=probe.line, address=host, vars=variables)
    group = GroupDef(ADHOC_GROUP, probe.line, (declared,), (module,))
    one = dataclasses.replace(plan.inventory, groups={ADHOC_GROUP: group})
    try:
        (job,) = build_plan(one, plan.settings)
    except InventoryError as exc:
        raise Refused(400, "; ".join(p.message for p in exc.problems)) from None
    if registry.get(job.spec.kind).secrets(job.spec):
        raise Refused(403, f"module {module!r} sends secrets: only its inventory hosts can be probed with it")
    return job


async def probe_once(job: Job, seconds: float, prepared: Prepared) -> tuple[dict[str, Any], float]:
    """Run the job once (no retry: the next scrape is the retry) within `seconds`; (record, elapsed)."""
    spec = dataclasses.replace(job.spec, timeout=seconds, retries=0)
    one = (Job(0, job.target, spec),)
    results: list[Result] = []
    # The deadline also bounds preparation (a first TLS context or SSH key): the probe's own timeout
    # plus the room the scrape keeps for overhead, so the answer is back before the scrape gives up.
    engine, resources = build_engine(one, results.append, concurrency=1, deadline=seconds + TIMEOUT_OFFSET)
    resources.prepared = prepared
    engine.announce = False  # nothing is logged per request
    started = time.perf_counter()
    try:
        await engine.run()
    finally:
        await resources.aclose()
    return to_record(results[0], "probe"), time.perf_counter() - started


def fresh(prepared: Prepared) -> Prepared:
    """The same cache, or a new one once it holds PREPARED_MAX items (targets keep changing it)."""
    held = (prepared.ssl, prepared.patterns, prepared.ssh, prepared.ssh_hosts, prepared.known_hosts)
    return Prepared() if sum(len(cache) for cache in held) + len(prepared.store) > PREPARED_MAX else prepared


def exposition(record: Mapping[str, Any], timeout: float, elapsed: float) -> bytes:
    """The probe's metrics as blackbox writes them: no labels but the ones a sample adds."""
    from prometheus_client import generate_latest
    from prometheus_client.core import GaugeMetricFamily

    from prober.runtime.watchstate import Families

    latency = record.get("latency_ms")
    duration = float(latency) / 1000 if latency is not None else elapsed
    built: dict[int, GaugeMetricFamily] = {}
    timeout_family = GaugeMetricFamily(
        "probe_timeout_seconds", "Returns how long the probe timeout is in seconds"
    )
    timeout_family.add_metric([], timeout)
    samples = [s for s in fam.record_samples(record) if s[0] != fam.DURATION]
    for index, extra, value in [(fam.DURATION, (), duration), *samples]:
        family = built.get(index)
        if family is None:
            info = fam.FAMILIES[index]
            family = built[index] = GaugeMetricFamily(info.name, info.help, labels=[n for n, _ in extra])
        family.add_metric([v for _, v in extra], value)
    ordered = sorted(built.items())
    families = [ordered[0][1], ordered[1][1], timeout_family, *(f for _, f in ordered[2:])]
    return generate_latest(Families(families))


__all__ = [
    "DEFAULT_MODULE",
    "Plan",
    "Refused",
    "exposition",
    "fresh",
    "probe_once",
    "resolve",
    "scrape_timeout",
]
