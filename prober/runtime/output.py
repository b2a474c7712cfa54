"""Where records go: stdout, or -o FILE (a FIFO included), opened before the sweep and closed after it."""

from __future__ import annotations

import errno
import os

from prober import logs
from prober.errors import InventoryError, Problem
from prober.exits import Exit

STDOUT = 1


def open_output(path: str | None, append: bool = False) -> int:
    """The fd records go to: stdout, or FILE created/truncated (appended to with `append`; a FIFO:
    once a reader opens it); InventoryError if neither is usable."""
    if path is None or path == "-":
        try:
            os.fstat(STDOUT)
        except OSError:
            problem = Problem(
                "<stdout>", None, "", "stdout is closed: nowhere to write results (use -o FILE)"
            )
            raise InventoryError([problem]) from None
        return STDOUT
    try:
        return _open_file(path, append)
    except OSError as exc:
        raise InventoryError([Problem(path, None, "--output", f"cannot write: {exc.strerror}")]) from None


def _open_file(path: str, append: bool) -> int:
    """Open FILE for writing. A FIFO without a reader (a non-blocking open fails with ENXIO instead of
    waiting) is waited for, saying so; SIGINT/SIGTERM interrupt the wait (exit 130)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    try:
        fd = os.open(path, flags | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        if exc.errno != errno.ENXIO:
            raise
        logs.get().info("waiting for a reader to open the output FIFO", output=path)
        return os.open(path, flags, 0o644)
    os.set_blocking(fd, True)
    return fd


def close_output(fd: int, code: int) -> int:
    """Close FILE; a write error reported only now (as NFS does on close) is still exit 2."""
    try:
        os.close(fd)
    except OSError as exc:
        logs.get().error("cannot write results", error=exc.strerror or str(exc))
        return Exit.FAILED if code in (Exit.OK, Exit.WARNING) else code
    return code
