"""Split one plan across worker processes behind ONE JSONL stream and ONE summary.

The parent forks N children. Hosts are dealt round-robin to the children in plan order, so slow
ranges spread evenly while every probe of one host stays in one child (its SSH probes must share
one connection). Each child runs the ordinary engine on its share with ceil(concurrency / N)
slots. Children do not write stdout: they send batches of (job index, summary fields, JSON line)
over a pipe; the parent writes the lines, feeds the summary and writes the one `sweep` line. If a
child dies, the parent records every job it had not reported as `internal`, so each planned probe
still yields exactly one record. SIGINT/SIGTERM received by the parent are forwarded to the
children, which record their unfinished jobs as `cancelled`, as a single process would.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from prober.model import ErrorInfo, Job, Result, Status
from prober.sinks.summary import Summary
from prober.workerchild import FRAME, run_child, write_all

# Probes per extra worker before one pays off. Measured on 2 cores, wall, median of 10: HTTP 200
# probes 285 → 269 ms with 2 workers, 400: 339 → 306, 800: 463 → 370; but SSH 300 (sshd on the
# same cores) 3.76 → 3.87 s for 18% more CPU: each process sets up its own SSH options and loop,
# and the copy-on-write pages of the forked plan cost the children page faults.
MIN_PLAN_PER_EXTRA_WORKER = 500
MAX_WORKERS = 64
KILL_GRACE_S = 10.0
# Which stop reason wins when children disagree: a user's Ctrl-C beats a deadline beats a crash.
_PRECEDENCE = ("output_closed", "cancelled", "deadline", "internal")


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers(planned: int) -> int:
    """Usable CPUs when the plan is large enough to pay for the extra processes, else 1."""
    return max(1, min(usable_cpus(), planned // MIN_PLAN_PER_EXTRA_WORKER, MAX_WORKERS))


def shard(jobs: Sequence[Job], workers: int) -> list[list[int]]:
    """Plan positions per worker: each address goes to one worker, addresses dealt round-robin."""
    owner: dict[str, int] = {}
    shares: list[list[int]] = [[] for _ in range(workers)]
    for position, job in enumerate(jobs):
        share = owner.setdefault(job.target.address, len(owner) % workers)
        shares[share].append(position)
    return shares


def merge_stop(reasons: Sequence[str | None]) -> str | None:
    for reason in _PRECEDENCE:
        if reason in reasons:
            return reason
    return next((r for r in reasons if r), None)


_STATUS = {status.value: status for status in Status}  # Status(value) is a slow enum lookup


class _Parent:
    """Reads every child's frames, writes lines to out_fd, feeds the summary."""

    def __init__(self, jobs: Sequence[Job], out_fd: int, summary: Summary) -> None:
        self.jobs, self.out_fd, self.summary = jobs, out_fd, summary
        self.recorded = bytearray(len(jobs))
        self.reasons: list[str | None] = []
        self.output_closed = False
        self.children: dict[int, int] = {}  # read fd → pid

    def item(
        self,
        index: int,
        status: str,
        latency: float | None,
        attempts: int,
        kind: str | None,
        message: str | None,
        warning: str | None,
        line: bytes,
    ) -> bytes:
        """Count one result; return its line, or b"" if the job was already recorded."""
        if self.recorded[index]:
            return b""
        self.recorded[index] = 1
        error = ErrorInfo(kind, message or "") if kind else None
        self.summary(Result(self.jobs[index], _STATUS[status], latency, attempts, 0.0, error, warning))
        return line

    def write(self, line: bytes) -> None:
        if self.output_closed:
            return
        try:
            write_all(self.out_fd, line)
        except BrokenPipeError:
            # The reader left (`| head`): silence the fd and stop the children, as the sink would.
            self.output_closed = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.out_fd)
            os.close(devnull)
            self.signal_children(signal.SIGTERM)

    def signal_children(self, signum: int) -> None:
        for pid in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def frame(self, message: tuple[str, Any]) -> None:
        kind, body = message
        if kind == "items":
            # One write per batch: the parent is stdout's only writer, so lines cannot interleave.
            self.write(b"".join([self.item(*item) for item in body]))
        elif kind == "lag":  # the child's worst event-loop lag (ms): the sweep line shows the worst
            self.summary.loop_lag_max_ms = max(body, self.summary.loop_lag_max_ms or 0.0)
        else:  # "done": the child's stop reason
            self.reasons.append(body)


def run_workers(
    jobs: Sequence[Job], settings: Any, *, workers: int, out_fd: int, run_id: str
) -> tuple[Summary, str | None, float, bool]:
    """Fork `workers` children over the plan; same return shape as sweep.execute."""
    _preload(jobs)
    summary = Summary(len(jobs))
    parent = _Parent(jobs, out_fd, summary)
    started = time.perf_counter()
    sys.stdout.flush()
    sys.stderr.flush()
    shares = shard(jobs, workers)
    for indices in shares:
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never return into the caller's code
            status = 70
            try:
                os.close(rfd)
                for other in parent.children:
                    os.close(other)
                status = run_child(jobs, indices, workers, settings, run_id, wfd)
            finally:
                sys.stderr.flush()
                os._exit(status)
        os.close(wfd)
        parent.children[rfd] = pid
    exits = _pump(parent)
    for indices, code in zip(shares, exits, strict=True):
        _fill_missing(parent, indices, code, run_id)
    stop = "output_closed" if parent.output_closed else merge_stop(parent.reasons)
    return summary, stop, time.perf_counter() - started, parent.output_closed


def _pump(parent: _Parent) -> list[int]:
    """Read frames until every child's pipe is closed; forward SIGINT/SIGTERM; reap the children."""
    forwarded: list[float] = []

    def forward(signum: int, frame: object) -> None:
        forwarded.append(time.monotonic())
        if len(forwarded) > 1:  # as in one process: a second signal leaves at once
            parent.signal_children(signal.SIGKILL)
            leave_now()
        parent.reasons.append("cancelled")
        parent.signal_children(signal.SIGTERM)

    from prober.stopsignals import STOP_SIGNALS, leave_now

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    buffers = {rfd: bytearray() for rfd in parent.children}
    # sweep.run holds the stop signals blocked from planning on; the forwarder takes them now.
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        with selectors.DefaultSelector() as selector:
            for rfd in parent.children:
                selector.register(rfd, selectors.EVENT_READ)
            while selector.get_map():
                if forwarded and time.monotonic() - forwarded[0] > KILL_GRACE_S:
                    parent.signal_children(signal.SIGKILL)  # a child ignoring SIGTERM must not hang us
                for key, _ in selector.select(timeout=1.0):
                    rfd = key.fd
                    chunk = os.read(rfd, 1 << 16)
                    if chunk:
                        buffers[rfd] += chunk
                        _drain(parent, buffers[rfd])
                    else:
                        selector.unregister(rfd)
                        os.close(rfd)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in parent.children.values()]


def _drain(parent: _Parent, buffer: bytearray) -> None:
    """Handle every complete frame in buffer, consuming it in place."""
    while len(buffer) >= FRAME.size:
        (size,) = FRAME.unpack_from(buffer)
        if len(buffer) < FRAME.size + size:
            break
        message = pickle.loads(bytes(buffer[FRAME.size : FRAME.size + size]))
        del buffer[: FRAME.size + size]
        parent.frame(message)


def _fill_missing(parent: _Parent, indices: list[int], code: int, run_id: str) -> None:
    """One record for each job at `indices` its child never reported (it died, or was killed)."""
    from prober.record import to_record
    from prober.sinks.jsonl import dumps

    missing = [i for i in indices if not parent.recorded[i]]
    if not missing:
        return
    if "cancelled" in parent.reasons:
        kind, message = "cancelled", "the sweep was interrupted before this probe finished"
    else:
        why = f"signal {-code}" if code < 0 else f"exit status {code}"
        kind, message = "internal", f"the worker process running this probe died ({why})"
        parent.reasons.append("internal")
    for index in missing:
        result = Result(parent.jobs[index], Status.FAIL, None, 0, time.time(), ErrorInfo(kind, message))
        parent.recorded[index] = 1
        parent.summary(result)
        parent.write(dumps(to_record(result, run_id)))


def _preload(jobs: Sequence[Job]) -> None:
    """Prepare what the children need once, before forking, so each child does not pay for it:
    probe kinds' imports, TLS contexts, SSH keys and known_hosts, regexes (prober.probes.prepare)."""
    from prober.probes.prepare import inherit

    inherit(jobs)
    with contextlib.suppress(ImportError):
        import uvloop  # noqa: F401


__all__ = ["default_workers", "merge_stop", "run_workers", "shard", "usable_cpus"]
