"""Output files written whole or not at all: a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable

from prober.errors import InputError, Problem


def check_output(path: str, flag: str) -> None:
    """Raise InputError now, before any work, if `path` cannot be written (missing directory, ...)."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError([Problem(path, None, flag, "is a directory; give a file name")])
    if not os.path.isdir(directory):
        raise InputError([Problem(path, None, flag, f"directory {directory} does not exist")])
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError([Problem(path, None, flag, f"directory {directory} is not writable")])


def write_atomic(path: str, chunks: Iterable[str]) -> None:
    """Write `chunks` (UTF-8) to `path` through a temporary file and a rename.

    A reader (a CI artifact upload, a browser) never sees half a file, and a failed write leaves the
    previous file in place. The file is created with mode 0666 minus the umask, like any other output
    (tempfile.mkstemp would make it 0600). OSError propagates after the temporary file is removed."""
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_or_fail(path: str, flag: str, chunks: Iterable[str]) -> None:
    """write_atomic, with an OSError (disk full, permissions) turned into InputError naming `path`."""
    try:
        write_atomic(path, chunks)
    except OSError as exc:
        raise InputError([Problem(path, None, flag, f"cannot write: {exc.strerror or exc}")]) from None


__all__ = ["check_output", "write_atomic", "write_or_fail"]
