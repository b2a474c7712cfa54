"""`--tee FILE`: every JSON line of the sweep also written to FILE, as it is written to stdout.

For a pod whose stdout goes to the cluster's log stack while a shared volume keeps each shard's
file for `prober merge` (deploy/kubernetes/). The lines are the ones stdout gets (the same bytes,
sweep line last); a file that could not be written whole fails the sweep's outputs (exit 2) without
stopping the probes, so stdout still gets every record.
"""

from __future__ import annotations

import os

from prober.errors import InputError, Problem
from prober.sinks.base import Record
from prober.sinks.jsonl import BackgroundJsonlSink

FLAG = "--tee"


class TeeSink(BackgroundJsonlSink):
    """A JSON lines copy on a writer thread of its own; flushed to disk (fsync) before the exit."""

    def __init__(self, path: str, run_id: str) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise InputError([Problem(path, None, FLAG, f"cannot write: {exc.strerror or exc}")]) from None
        super().__init__(fd, run_id)
        self.path = path

    def close(self, sweep: Record | None = None) -> None:
        super().close(sweep)
        problem: str | None = self.lost
        try:
            if problem is None:
                os.fsync(self.fd)  # the merge Job may read it from another node right after
        except OSError as exc:
            problem = exc.strerror or str(exc)
        finally:
            os.close(self.fd)
        if problem is not None:
            why = problem.replace("_", " ")
            message = f"cannot write ({why}); the copy is incomplete"
            raise InputError([Problem(self.path, None, FLAG, message)])


__all__ = ["TeeSink"]
