"""Frozen definitions a validated inventory is made of; each remembers its key path and line."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any, NoReturn

from prober.budget import Budget
from prober.inventory import ranges


class _Nothing(Mapping[str, Any]):
    """The empty read-only mapping of host declarations that set no vars or overrides (nearly all of a
    100k-line host list: two empty dicts per host were 12 MB); hashable, so a dataclass default."""

    __slots__ = ()

    def __getitem__(self, key: str) -> NoReturn:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, key: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


NOTHING: Mapping[str, Any] = _Nothing()


@dataclass(frozen=True)
class Layer:
    """Probe parameters set at one place of the file: converted values, their lines, their key path."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    line: int = 0
    spelled: dict[str, str] = field(default_factory=dict)  # parameter → the key written (`name`: process)

    def where(self, name: str) -> tuple[str, int]:
        """Key path (as written in the file) and line of one parameter of this layer."""
        return f"{self.key}.{self.spelled.get(name, name)}", self.lines.get(name, self.line)


@dataclass(frozen=True)
class ProbeDef:
    """A named probe as the inventory defines it, values converted, lines kept."""

    name: str
    kind: str
    params: dict[str, Any]
    line: int
    lines: dict[str, int] = field(default_factory=dict)
    spelled: dict[str, str] = field(default_factory=dict)

    @property
    def layer(self) -> Layer:
        return Layer(f"probes.{self.name}", self.params, self.lines, self.line, self.spelled)


@dataclass(frozen=True, slots=True)
class SourceHost:
    """What a host read from a source (`sources:`) carries besides its name, address and vars."""

    origin: str  # where the source declared it: "hosts.ini:12", "sd/web.json:4", the URL as shown
    ssh: Layer | None = None  # ansible_port/_user/_ssh_private_key_file: below every layer of the file
    labels: tuple[str, ...] = ()  # file_sd/http_sd labels: copied into every record as `labels`


@dataclass(frozen=True, slots=True)
class HostDecl:
    """A host entry in a group: a name or range pattern, and its own settings.

    Slotted: an explicit list has one per host (no instance dict: ~100 bytes less each). Its key path
    is taken but not kept: nothing reads it (problems are reported while the file is read, with the
    path at hand), and one string per line was 7 MB of a 100k-host inventory."""

    pattern: str
    line: int
    address: str | None = None
    vars: Mapping[str, Any] = NOTHING
    overrides: Mapping[str, Layer] = NOTHING
    key: InitVar[str] = ""
    source: SourceHost | None = None  # a host read from a source: its name is literal (no ranges)

    def names(self) -> Iterator[str]:
        """The host names this declaration stands for: a range expanded; a source's host as named."""
        return iter((self.pattern,)) if self.source is not None else ranges.expand(self.pattern)

    def count(self) -> int:
        return 1 if self.source is not None else ranges.count(self.pattern)


del HostDecl.key  # the InitVar's default: `host.key` fails rather than reading as ""


@dataclass(frozen=True)
class GroupDef:
    """A group: hosts, the probes run on them, and group-level vars and overrides."""

    name: str
    line: int
    hosts: tuple[HostDecl, ...]
    probes: tuple[str, ...]
    vars: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Layer] = field(default_factory=dict)
    max_fail: Budget | None = None  # None: the sweep's default (--max-fail, else defaults.max_fail)
    labels: tuple[str, ...] = ()  # vars copied into every record's `labels` (besides the defaults')


@dataclass(frozen=True)
class Defaults:
    """Sweep-wide settings; CLI flags replace them."""

    timeout: float = 2.0
    retries: int = 1
    concurrency: int = 256
    latency_warn: float | None = None
    deadline: float | None = None
    max_fail: Budget | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inventory:
    """A validated inventory file."""

    path: str
    defaults: Defaults
    probes: dict[str, ProbeDef]
    groups: dict[str, GroupDef]
    # Every group the sources know (Ansible groups with children resolved, discovery groups) → its
    # hosts' names, for --limit; groups not named under `groups:` included.
    source_groups: Mapping[str, tuple[str, ...]] = NOTHING
