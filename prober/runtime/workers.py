"""Split one plan across worker processes behind ONE fan-out: the same sinks as in one process.

The parent forks N children. Hosts are dealt round-robin to the children in plan order, in small
runs of consecutive hosts (fewer copy-on-write pages), so slow ranges spread evenly while every
probe of one host stays in one child (its SSH probes must share one connection). Each child runs the
ordinary engine on its share with ceil(concurrency / N) slots. Children do not write stdout: they
send batches of (job index, JSON line) over a pipe; the parent reads each line back into its record
(~2 µs) and feeds the fan-out, whose JSONL sink writes the child's line as it is
(prober.sinks.base.Serialized); the caller closes the fan-out with the one `sweep` line. No event
loop and no reading loop ever blocks on a write: each side has a writer thread behind a bounded
queue, so a slow stdout only holds the sweep back once it is QUEUE_LINES behind. If a child dies,
the parent records every job it had not reported as `internal`, so each planned probe still yields
exactly one record. SIGINT/SIGTERM received by the parent are forwarded to the children, which
record their unfinished jobs as `cancelled`, as a single process would; a sink that asks to stop
(the JSONL sink's reader gone, its disk full) stops them too. Children die with the parent
(PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import selectors
import signal
import sys
import time
from array import array
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from prober.model import ErrorInfo, Job, Result, Status, StopReason
from prober.runtime.child import FRAME, die_with_parent, run_child
from prober.runtime.cpus import usable_cpus
from prober.runtime.execute import SweepOutcome
from prober.runtime.records import Recorder
from prober.sinks.base import FanOut, Serialized

if TYPE_CHECKING:
    from prober.plan import SweepSettings

# Probes per extra worker before one pays off. Measured on 2 cores, wall, median of 10: HTTP 200
# probes 285 → 269 ms with 2 workers, 400: 339 → 306, 800: 463 → 370; but SSH 300 (sshd on the
# same cores) 3.76 → 3.87 s for 18% more CPU: each process sets up its own SSH options and loop,
# and the copy-on-write pages of the forked plan cost the children page faults.
MIN_PLAN_PER_EXTRA_WORKER = 500
MAX_WORKERS = 64
DEAL_RUN = 64  # consecutive hosts dealt to one worker (see shard)
KILL_GRACE_S = 10.0
POLL_S = 0.1  # how soon the parent notices a lost output or an overdue child while nothing arrives
# Which stop reason wins when children disagree: a user's Ctrl-C beats a deadline beats a crash.
_PRECEDENCE = (StopReason.OUTPUT_CLOSED, StopReason.CANCELLED, StopReason.DEADLINE, StopReason.INTERNAL)


def default_workers(planned: int) -> int:
    """Usable CPUs when the plan is large enough to pay for the extra processes, else 1."""
    return max(1, min(usable_cpus(), planned // MIN_PLAN_PER_EXTRA_WORKER, MAX_WORKERS))


def shard(jobs: Sequence[Job], workers: int) -> list[array[int]]:
    """Plan positions per worker: each address goes to one worker, addresses dealt round-robin in runs
    of up to DEAL_RUN consecutive hosts (at least 16 runs per worker, so the shares stay within a
    run of each other).

    Why runs: a forked child shares the parent's memory until it writes to it, and merely reading a
    Python object writes its reference count. Dealt one by one, every child touches every page of
    the plan (its hosts sit next to everyone else's) and copies all of it; dealt in runs, each
    child copies mostly its own part. 100k hosts, 2 workers: 25-30 MB less. Positions are machine
    integers for the same reason (an int object read is a page copied)."""
    owner: dict[str, int] = {}
    run = max(1, min(DEAL_RUN, len(jobs) // (workers * 16)))
    shares = [array("q") for _ in range(workers)]
    for position, job in enumerate(jobs):
        share = owner.setdefault(job.target.address, len(owner) // run % workers)
        shares[share].append(position)
    return shares


def merge_stop(reasons: Sequence[StopReason | None]) -> StopReason | None:
    for reason in _PRECEDENCE:
        if reason in reasons:
            return reason
    return next((r for r in reasons if r), None)


class _Parent:
    """Reads every child's frames and feeds each record to the fan-out.

    The JSONL sink's writer thread owns the output, so a slow reader never stops the parent from
    reading its children; only a reader QUEUE_LINES behind does (then the children's queues fill and
    their engines wait)."""

    def __init__(self, jobs: Sequence[Job], fanout: FanOut, recorder: Recorder) -> None:
        self.jobs, self.fanout, self.recorder = jobs, fanout, recorder
        self.recorded = bytearray(len(jobs))
        self.reasons: list[StopReason | None] = []
        self.lag: float | None = None
        self.children: dict[int, int] = {}  # read fd → pid
        self.running: set[int] = set()  # pids not yet reaped: the only ones ever signalled
        self.forwarded: list[float] = []  # when each stop signal was forwarded
        self.asked_stop: StopReason | None = None  # a sink asked the sweep to stop (fan-out's stop)
        self._told_stop = False

    def frame(self, message: tuple[str, Any]) -> None:
        kind, body = message
        if kind == "items":
            record, recorded = self.fanout.record, self.recorded
            for index, line in body:
                if not recorded[index]:
                    recorded[index] = 1
                    record(Serialized(orjson.loads(line), line))
        elif kind == "lag":  # the child's worst event-loop lag (ms): the sweep line shows the worst
            self.lag = max(body, self.lag or 0.0)
        else:  # "done": the child's stop reason
            self.reasons.append(body)

    def ask_stop(self, reason: StopReason) -> None:
        """The fan-out's stop (from any thread): the reading loop stops the children (police)."""
        self.asked_stop = self.asked_stop or reason

    def signal_children(self, signum: int) -> None:
        for pid in self.running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def police(self) -> None:
        """Stop the children once a sink asked to; kill them if they outlast a stop's grace."""
        if self.asked_stop and not self._told_stop:
            self._told_stop = True
            self.signal_children(signal.SIGTERM)
        if self.forwarded and time.monotonic() - self.forwarded[0] > KILL_GRACE_S:
            self.signal_children(signal.SIGKILL)  # a child ignoring SIGTERM must not hang us

    def reap(self) -> list[int]:
        codes = []
        for pid in self.children.values():
            codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
            self.running.discard(pid)
        return codes

    def kill_remaining(self) -> None:
        """No worker outlives the parent, whatever stopped it."""
        for pid in list(self.running):
            with contextlib.suppress(ChildProcessError, ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            self.running.discard(pid)


def run_workers(
    jobs: Sequence[Job], settings: SweepSettings, *, workers: int, fanout: FanOut, recorder: Recorder
) -> SweepOutcome:
    """Fork `workers` children over the plan; the same records, to the same fan-out, as running it in
    one process (the caller closes the fan-out with the sweep line)."""
    _preload(jobs)
    parent = _Parent(jobs, fanout, recorder)
    fanout.bind(parent.ask_stop)
    started = time.perf_counter()
    sys.stdout.flush()
    sys.stderr.flush()
    shares = shard(jobs, workers)
    try:
        with _frozen():
            for indices in shares:
                _fork(parent, jobs, indices, workers, settings)
        with _forwarding(parent):
            fanout.start()  # after forking: the sinks' threads must not be copied into the children
            _read_children(parent)
            for indices, code in zip(shares, parent.reap(), strict=True):
                _fill_missing(parent, indices, code)
            fanout.drain()  # every record is out before the sweep line; a second signal still leaves
    finally:
        parent.kill_remaining()
    stop = parent.asked_stop or merge_stop(parent.reasons)
    return SweepOutcome(stop, time.perf_counter() - started, parent.lag)


@contextlib.contextmanager
def _frozen() -> Iterator[None]:
    """The garbage collector leaves the objects that exist now (the plan, the inventory) alone while
    the children are forked, and in the children for good.

    Forked children share the parent's memory until they write to it; a collection that reaches the
    old generation writes to every object it visits (its GC header), so each child would copy the
    whole plan. The parent collects them again once the children are forked.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()  # only the parent gets here: a child leaves _fork with os._exit


def _fork(
    parent: _Parent, jobs: Sequence[Job], indices: Sequence[int], workers: int, settings: SweepSettings
) -> None:
    """Start one child on the jobs at `indices`; the parent keeps the read end of its pipe."""
    rfd, wfd = os.pipe()
    parent_pid = os.getpid()
    pid = os.fork()
    if pid == 0:  # child: never return into the caller's code
        status = 70
        try:
            die_with_parent(parent_pid)
            os.close(rfd)
            for other in parent.children:
                os.close(other)
            status = run_child(jobs, indices, workers, settings, parent.recorder, wfd)
        finally:
            sys.stderr.flush()
            os._exit(status)
    os.close(wfd)
    parent.children[rfd] = pid
    parent.running.add(pid)


@contextlib.contextmanager
def _forwarding(parent: _Parent) -> Iterator[None]:
    """SIGINT/SIGTERM to the parent stop the children (SIGTERM); a second one leaves at once."""
    from prober.runtime.signals import STOP_SIGNALS, leave_now

    def forward(signum: int, frame: object) -> None:
        parent.forwarded.append(time.monotonic())
        if len(parent.forwarded) > 1:  # as in one process: a second signal leaves at once
            parent.signal_children(signal.SIGKILL)
            leave_now()
        parent.reasons.append(StopReason.CANCELLED)
        parent.signal_children(signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in STOP_SIGNALS}
    # sweep.run holds the stop signals blocked from planning on; the forwarder takes them now.
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _read_children(parent: _Parent) -> None:
    """Read frames until every child's pipe is closed, pausing only while the output is QUEUE_LINES behind."""
    buffers = {rfd: bytearray() for rfd in parent.children}
    with selectors.DefaultSelector() as selector:
        for rfd in parent.children:
            selector.register(rfd, selectors.EVENT_READ)
        while selector.get_map():
            parent.police()
            if parent.fanout.full():
                parent.fanout.wait_room(POLL_S)  # the children's pipes fill, then their engines wait
                continue
            for key, _ in selector.select(timeout=POLL_S):
                rfd = key.fd
                chunk = os.read(rfd, 1 << 16)
                if chunk:
                    buffers[rfd] += chunk
                    _drain(parent, buffers[rfd])
                else:
                    selector.unregister(rfd)
                    os.close(rfd)


def _drain(parent: _Parent, buffer: bytearray) -> None:
    """Handle every complete frame in buffer, consuming it in place."""
    while len(buffer) >= FRAME.size:
        (size,) = FRAME.unpack_from(buffer)
        if len(buffer) < FRAME.size + size:
            break
        message = pickle.loads(bytes(buffer[FRAME.size : FRAME.size + size]))
        del buffer[: FRAME.size + size]
        parent.frame(message)


def _fill_missing(parent: _Parent, indices: Sequence[int], code: int) -> None:
    """One record for each job at `indices` its child never reported (it died, or was killed)."""
    missing = [i for i in indices if not parent.recorded[i]]
    if not missing:
        return
    if StopReason.CANCELLED in parent.reasons:
        kind, message = "cancelled", "the sweep was interrupted before this probe finished"
    else:
        why = f"signal {-code}" if code < 0 else f"exit status {code}"
        kind, message = "internal", f"the worker process running this probe died ({why})"
        parent.reasons.append(StopReason.INTERNAL)
    for index in missing:
        result = Result(parent.jobs[index], Status.FAIL, None, 0, time.time(), ErrorInfo(kind, message))
        parent.recorded[index] = 1
        parent.fanout.record(parent.recorder(result))


def _preload(jobs: Sequence[Job]) -> None:
    """Prepare what the children need once, before forking, so each child does not pay for it:
    probe kinds' imports, TLS contexts, SSH keys and known_hosts, regexes (prober.runtime.prepare)."""
    from prober.runtime.prepare import inherit

    inherit(jobs)
    with contextlib.suppress(ImportError):  # for die_with_parent: ~1.4 ms once, not in every child
        import ctypes  # noqa: F401
    with contextlib.suppress(ImportError):
        import uvloop  # noqa: F401


__all__ = ["default_workers", "merge_stop", "run_workers", "shard", "usable_cpus"]
