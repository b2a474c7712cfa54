"""Splitting one plan over N machines by host, and the fingerprint that proves the pieces fit together.

A host goes to the shard with the highest weight for it (rendezvous, or highest-random-weight,
hashing): all of a host's probes stay in one shard (its SSH probes share one connection), every shard
decides alone from the host name, and going from N to N+1 shards moves only the hosts whose weight
for the new shard beats all others: about 1/(N+1) of them. Weights come from BLAKE2b of the host name
mixed with each shard's seed (SplitMix64), the same on every machine and Python version.

The fingerprint is a BLAKE2b digest of the whole plan before it is sharded (every host, address,
group and resolved probe parameters, in plan order) and of the settings that decide verdicts, so
`prober merge` can refuse shards that came from different inventories, flags or shard counts.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prober.inventory.defs import Inventory
    from prober.model import Job
    from prober.plan import SweepSettings

MASK64 = (1 << 64) - 1
INDEX_ENV = "JOB_COMPLETION_INDEX"  # set by Kubernetes in each pod of an Indexed Job
MAX_SHARDS = 10_000
SHARD_FIELD = "shard"  # on every line of a sharded sweep or plan: "I/N" ("all/N" on a merged sweep line)
FINGERPRINT_FIELD = "plan_fingerprint"
# Bumped when what the fingerprint covers changes, so shards of two prober versions never merge.
FINGERPRINT_VERSION = "prober-plan-1"
SPECS_CACHED = 4096
_SHARD = re.compile(r"^\s*(auto|\d+)\s*/\s*(\d+)\s*\Z")


def _mix(value: int) -> int:
    """SplitMix64's finaliser: every input bit moves every output bit."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


_SEEDS: list[int] = []


def _seeds(count: int) -> list[int]:
    while len(_SEEDS) < count:
        _SEEDS.append(_mix(len(_SEEDS) + 0x5EED))
    return _SEEDS[:count]


def owner(host: str, count: int) -> int:
    """The shard (0 … count-1) whose weight for `host` is highest."""
    base = int.from_bytes(hashlib.blake2b(host.encode(), digest_size=8).digest(), "big")
    best, best_weight = 0, -1
    for index, seed in enumerate(_seeds(count)):
        weight = _mix(base ^ seed)
        if weight > best_weight:
            best, best_weight = index, weight
    return best


@dataclass(frozen=True, slots=True)
class Shard:
    """This process's part of a sharded plan: shard `index` of `count`."""

    index: int
    count: int
    # The last host asked about and its answer: a plan yields a host's probes one after another, and
    # each answer costs ~0.6 us per shard (4.8 us at N=8), so it is computed once per host.
    _last: list[object] = field(default_factory=lambda: [None, False], compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def partial(self) -> bool:
        """True when this shard holds only part of the fleet (N > 1): its gate cannot judge the fleet."""
        return self.count > 1

    def owns(self, host: str) -> bool:
        if self.count == 1:
            return True
        last = self._last
        if last[0] != host:
            last[0], last[1] = host, owner(host, self.count) == self.index
        return bool(last[1])


def parse(text: str, environ: Mapping[str, str] = os.environ) -> Shard:
    """'I/N' (0 ≤ I < N), or 'auto/N' with I from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job);
    ValueError with a message naming what is wrong."""
    match = _SHARD.match(text)
    if not match:
        raise ValueError(f"expected I/N (shard I of N, from 0) or auto/N, got {text!r}")
    count = int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"the shard count must be between 1 and {MAX_SHARDS}, got {count}")
    given = match.group(1)
    if given == "auto":
        where = f"${INDEX_ENV} (set in each pod of a Kubernetes Indexed Job)"
        found = environ.get(INDEX_ENV)
        if found is None:
            raise ValueError(f"auto/{count} reads the shard index from {where}, which is not set")
        if not found.isascii() or not found.isdigit():
            raise ValueError(f"auto/{count} reads the shard index from {where}, got {found!r}")
        given = found
    index = int(given)
    if index >= count:
        raise ValueError(f"shard index {index} is not below the shard count {count}")
    return Shard(index, count)


class Fingerprint:
    """A running digest of a plan: the same plan and settings give the same hex digest anywhere."""

    def __init__(self, *context: object) -> None:
        self._digest = hashlib.blake2b(digest_size=12)
        # id(spec) → (spec, its text): specs are shared between hosts. The spec is held so its id
        # cannot be reused by another while cached; bounded, since templated specs are one per job.
        self._specs: dict[int, tuple[object, bytes]] = {}
        self._update(repr(context).encode())
        self.jobs = 0  # jobs of the whole plan seen (every shard's)

    def _update(self, data: bytes) -> None:
        self._digest.update(len(data).to_bytes(4, "big"))
        self._digest.update(data)

    def add(self, job: Job) -> None:
        spec = job.spec
        cached = self._specs.get(id(spec))
        if cached is not None and cached[0] is spec:
            text = cached[1]
        else:
            if len(self._specs) >= SPECS_CACHED:
                self._specs.clear()
            text = f"{type(spec).__name__}{spec!r}".encode()
            self._specs[id(spec)] = (spec, text)
        target = job.target
        self.jobs += 1
        self._update(f"{target.name}\0{target.address}\0{target.group}\0".encode() + text)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def plan_fingerprint(inventory: Inventory, settings: SweepSettings) -> Fingerprint:
    """A Fingerprint primed with what decides verdicts besides the plan's jobs: the sweep's deadline,
    timeout, retries and default budget, and each group's own `max_fail`. Not concurrency or outputs:
    shards may run on machines of different sizes and write where they like.

    Secrets read from the environment are not in the plan (only the variables' names are); a literal
    secret written in the inventory is hashed with everything else, so testing a guess against the
    digest needs the rest of that same file."""
    groups = sorted(
        (name, group.max_fail.text if group.max_fail else None) for name, group in inventory.groups.items()
    )
    default = settings.max_fail.text if settings.max_fail else None
    timing = (settings.timeout, settings.retries, settings.latency_warn, settings.deadline)
    return Fingerprint(FINGERPRINT_VERSION, timing, default, groups)


def stamp(shard: Shard, fingerprint: Fingerprint) -> dict[str, str]:
    """The fields every line of a sharded sweep or plan carries."""
    return {SHARD_FIELD: str(shard), FINGERPRINT_FIELD: fingerprint.hexdigest()}


__all__ = [
    "FINGERPRINT_FIELD",
    "INDEX_ENV",
    "SHARD_FIELD",
    "Fingerprint",
    "Shard",
    "owner",
    "parse",
    "plan_fingerprint",
    "stamp",
]
