"""The files of a sharded sweep, checked before `prober merge` writes anything: one whole file per
shard I of N, every one from the same plan, and the budgets they apply, summed fleet-wide.

Each file is read with the checked reader (prober.results.reader). A file fails when its lines are
not all of one shard and one plan (`shard`, `plan_fingerprint`), when it has no sweep line (the shard
was cut short), holds more than one sweep, or has fewer or more probe records than its sweep line
planned. The set fails when a shard is missing or given twice, when the files come from different
plans or shard counts, or when their gates disagree (fail_on, baseline, a group's max_fail). Every
problem is reported, each naming its file (a missing shard is named by its I/N).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from prober import budget
from prober.budget import Budget
from prober.errors import InputError, Problem
from prober.model import StopReason
from prober.results.reader import ResultsFile
from prober.shard import FINGERPRINT_FIELD, SHARD_FIELD, Shard, parse

# How a shard stopped, worst first: the merged sweep reports the worst (a single sweep stops once).
STOPS = ("cancelled", "internal", "deadline")


@dataclass(frozen=True)
class ShardFile:
    """One checked shard file: which shard, of which plan, and its sweep line."""

    path: str
    shard: Shard
    fingerprint: str
    sweep: dict[str, Any]


@dataclass(frozen=True)
class Fleet:
    """The shards in index order and what the merged sweep line is built from."""

    files: tuple[ShardFile, ...]
    groups: dict[str, tuple[int, Budget]]  # each group's hosts over every shard, and its budget
    planned: int
    fail_on: str
    baseline: str | None

    @property
    def count(self) -> int:
        return self.files[0].shard.count

    def stamp(self) -> dict[str, Any]:
        """The merged sweep line's shard fields: all/N, the plan, each shard's run_id by index."""
        return {
            SHARD_FIELD: f"all/{self.count}",
            FINGERPRINT_FIELD: self.files[0].fingerprint,
            "shard_runs": [str(f.sweep.get("run_id")) for f in self.files],
        }

    def stopped(self) -> StopReason | None:
        reasons = {f.sweep.get("stopped") for f in self.files}
        return next((StopReason(reason) for reason in STOPS if reason in reasons), None)

    def duration(self) -> float:
        """Seconds: the longest shard's (they run side by side)."""
        return max(float(f.sweep.get("duration_ms") or 0) for f in self.files) / 1000

    def loop_lag_max_ms(self) -> float | None:
        lags = [f.sweep.get("loop_lag_max_ms") for f in self.files]
        numbers = [float(lag) for lag in lags if isinstance(lag, int | float) and not isinstance(lag, bool)]
        return max(numbers) if numbers else None


def _fail(path: str, line: int | None, key: str, message: str) -> Problem:
    return Problem(path, line, key, message)


def _refuse(path: str, line: int | None, key: str, message: str) -> NoReturn:
    raise InputError([Problem(path, line, key, message)])


def _shard_of(path: str, line: int | None, value: object) -> Shard:
    """The shard a line names; InputError for a missing, merged or malformed one."""
    if not isinstance(value, str):
        why = "missing" if value is None else f"expected I/N, got {value!r}"
        _refuse(path, line, SHARD_FIELD, f"{why}: not written by `prober sweep --shard`")
    if value.startswith("all/"):
        _refuse(path, line, SHARD_FIELD, f"{value}: already merged; give the shards' files")
    try:
        return parse(value, {})
    except ValueError as exc:
        _refuse(path, line, SHARD_FIELD, str(exc))


def read_shard(path: str) -> ShardFile:
    """Read one shard's file through, checking it is whole and of one shard; InputError otherwise."""
    results = ResultsFile(path)
    mark: tuple[object, object] | None = None
    first_line = 0
    mixed: Problem | None = None  # lines of two shards: reported once the sweep line is known
    for record in results:
        if results.sweep is not None:  # a record after a sweep line: a second sweep appended
            message = "a probe record after the sweep line: holds 2 sweeps or more (--append?)"
            _refuse(path, results.lineno, "event", message + "; one sweep per file")
        seen = (record.get(SHARD_FIELD), record.get(FINGERPRINT_FIELD))
        if mark is None:
            mark, first_line = seen, results.lineno
            _shard_of(path, first_line, seen[0])
        elif seen != mark and mixed is None:
            message = f"{seen[0]} {seen[1]}, but line {first_line} has {mark[0]} {mark[1]}: one file a shard"
            mixed = _fail(path, results.lineno, SHARD_FIELD, message)
    sweep = results.sweep
    if sweep is None and mixed is None:
        message = "no sweep line: the shard was cut short (killed, output lost, still running); run it again"
        _refuse(path, None, "", message)
    if mixed is not None:
        if sweep is not None:
            _shard_of(path, None, sweep.get(SHARD_FIELD))  # prober merge's own output says so
        raise InputError([mixed])
    assert sweep is not None
    swept = (sweep.get(SHARD_FIELD), sweep.get(FINGERPRINT_FIELD))
    shard = _shard_of(path, None, swept[0])
    if mark is not None and swept != mark:
        message = f"the sweep line has {swept[0]} {swept[1]}, the probe records {mark[0]} {mark[1]}"
        _refuse(path, None, SHARD_FIELD, message)
    if not isinstance(swept[1], str) or not swept[1]:
        _refuse(path, None, FINGERPRINT_FIELD, "missing: not from `prober sweep --shard`")
    runs = set(results.run_ids) | {str(sweep.get("run_id"))}
    if len(runs) > 1:
        message = f"holds {len(runs)} sweeps (run_ids {', '.join(sorted(runs))}; --append?); one per file"
        _refuse(path, None, "run_id", message)
    if sweep.get("planned") != results.probes:
        message = f"{results.probes} probe records, but the sweep line planned {sweep.get('planned')}"
        _refuse(path, None, "planned", message)
    _check_gate(path, sweep)
    return ShardFile(path, shard, swept[1], sweep)


def _check_gate(path: str, sweep: Mapping[str, Any]) -> None:
    gate = sweep.get("gate")
    groups = gate.get("groups") if isinstance(gate, dict) else None
    if not isinstance(groups, dict) or gate.get("fail_on") not in ("fail", "warn"):  # type: ignore[union-attr]
        _refuse(path, None, "gate", "expected the sweep's gate: {fail_on, baseline, groups}")
    for name, group in groups.items():
        key = f"gate.groups.{name}"
        hosts = group.get("hosts") if isinstance(group, dict) else None
        if not isinstance(hosts, int) or isinstance(hosts, bool) or hosts < 0:
            _refuse(path, None, f"{key}.hosts", f"expected a count of hosts, got {hosts!r}")
        try:
            budget.parse(group.get("max_fail"))
        except ValueError as exc:
            _refuse(path, None, f"{key}.max_fail", str(exc))


def fleet(paths: Sequence[str]) -> Fleet:
    """Check every file and the set; the shards in index order with their budgets summed."""
    files: list[ShardFile] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            files.append(read_shard(path))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    problems = _set_problems(files) + _gate_problems(files)
    if problems:
        raise InputError(problems)
    files.sort(key=lambda f: f.shard.index)
    gate = files[0].sweep["gate"]
    return Fleet(
        tuple(files),
        _groups(files),
        sum(int(f.sweep["planned"]) for f in files),
        gate["fail_on"],
        gate.get("baseline"),
    )


def _set_problems(files: Sequence[ShardFile]) -> list[Problem]:
    """Shards of one plan and one count, each given once, none missing."""
    first = files[0]
    problems: list[Problem] = []
    owners: dict[int, ShardFile] = {}
    for f in files:
        if f.shard.count != first.shard.count:
            message = f"{f.shard}, but {first.path} is {first.shard}: shards of different counts"
            problems.append(_fail(f.path, None, SHARD_FIELD, message))
        elif f.fingerprint != first.fingerprint:
            message = (
                f"{f.fingerprint} differs from {first.path}'s {first.fingerprint}: another plan "
                "(inventory, --limit, timeout, retries, deadline or max_fail)"
            )
            problems.append(_fail(f.path, None, FINGERPRINT_FIELD, message))
        elif f.shard.index in owners:
            other = owners[f.shard.index].path
            same = os.path.realpath(other) == os.path.realpath(f.path)
            twice = "the file is given twice" if same else f"{other} is that shard too"
            message = f"{f.shard} again: {twice}"
            problems.append(_fail(f.path, None, SHARD_FIELD, message))
        else:
            owners[f.shard.index] = f
    if problems:
        return problems
    given = ", ".join(f"{f.shard} {f.path}" for f in sorted(files, key=lambda f: f.shard.index))
    for index in range(first.shard.count):
        if index not in owners:
            shard = f"shard {index}/{first.shard.count}"
            problems.append(_fail(shard, None, "", f"missing: no file given for it (given: {given})"))
    return problems


def _gate_problems(files: Sequence[ShardFile]) -> list[Problem]:
    """The shards' gates must agree: what counts as failing, the baseline, each group's budget."""
    first = files[0].sweep["gate"]
    problems: list[Problem] = []
    budgets: dict[str, tuple[str, str]] = {}  # group → (max_fail, the file it was first seen in)
    for f in files:
        gate = f.sweep["gate"]
        for key in ("fail_on", "baseline"):
            if gate.get(key) != first.get(key):
                message = f"{gate.get(key)!r}, but {files[0].path} has {first.get(key)!r}"
                problems.append(_fail(f.path, None, f"gate.{key}", message))
        for name, group in gate["groups"].items():
            seen = budgets.setdefault(name, (group["max_fail"], f.path))
            if seen[0] != group["max_fail"]:
                message = f"{group['max_fail']!r}, but {seen[1]} has {seen[0]!r}"
                problems.append(_fail(f.path, None, f"gate.groups.{name}.max_fail", message))
    return problems


def _groups(files: Sequence[ShardFile]) -> dict[str, tuple[int, Budget]]:
    """Each group's hosts summed over the shards (a host is in exactly one shard) and its budget,
    which prober.budget then applies to the fleet-wide count (10% of all the group's hosts)."""
    hosts: dict[str, int] = {}
    texts: dict[str, str] = {}
    for f in files:
        for name, group in f.sweep["gate"]["groups"].items():
            hosts[name] = hosts.get(name, 0) + group["hosts"]
            texts[name] = group["max_fail"]
    return {name: (hosts[name], budget.parse(texts[name])) for name in sorted(hosts)}


__all__ = ["Fleet", "ShardFile", "fleet", "read_shard"]
