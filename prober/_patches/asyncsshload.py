"""Import asyncssh without the compiler and linker runs of its liboqs lookup.

asyncssh.crypto.pq asks ctypes.util.find_library for liboqs (optional post-quantum key exchange)
when it is imported. On Linux that runs `ldconfig -p`, then `gcc` and `ld` found on PATH, once
for each of two names: child processes at the start of every SSH sweep, and a monitoring tool
that executes whatever `ld` comes first on PATH. While asyncssh is imported here, find_library
looks in the dynamic linker's own directories only (LD_LIBRARY_PATH, ld.so.conf, the system
library directories) and returns the full path, which ctypes loads as it would the name: liboqs is
used exactly when the loader can find it.

Private API: that asyncssh.crypto.pq calls `ctypes.util.find_library` at import (asyncssh 2.24:
for 'oqs' and 'liboqs'); the stdlib function is replaced process-wide for the import's duration
(prober imports its probe kinds on one thread, before any probe runs).
Tested with: asyncssh 2.24.1, CPython 3.11.7, Debian 12 (glibc).
Gain: ~20 ms of CPU in child processes and ~50 ms of wall per SSH sweep (commit 2b0b4e1), and no
program from PATH executed.
Guard: Linux only (elsewhere find_library starts no linker). If asyncssh stops looking liboqs up
at import, the patch does nothing; if it looks it up another way, that way runs unchanged.
Switch: with PROBER_NO_PATCHES=1, `load()` is a plain `import asyncssh`.
Test: tests/patches/test_asyncsshload.py (test_guard_pq_uses_find_library fails if asyncssh stops
calling find_library at import; the patched import starts no process, the stock one does).
"""

from __future__ import annotations

import contextlib
import ctypes.util
import glob
import os
import sys
import sysconfig
from collections.abc import Iterator
from typing import Any

from prober._patches import enabled


def _ld_so_conf_dirs(path: str = "/etc/ld.so.conf") -> list[str]:
    dirs: list[str] = []
    for conf in [path, *sorted(glob.glob("/etc/ld.so.conf.d/*.conf"))]:
        with contextlib.suppress(OSError), open(conf, encoding="utf-8", errors="replace") as handle:
            dirs += [line.strip() for line in handle if line.strip().startswith("/")]
    return dirs


def linker_dirs() -> list[str]:
    """Where the dynamic linker looks, in its order (LD_LIBRARY_PATH first)."""
    triplet = sysconfig.get_config_var("MULTIARCH") or ""
    system = ["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib"]
    if triplet:
        system = [f"/lib/{triplet}", f"/usr/lib/{triplet}", *system]
    env = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if d]
    return list(dict.fromkeys([*env, *_ld_so_conf_dirs(), *system]))


def _is_elf(path: str) -> bool:
    # lib<name>.so can be a linker script (glibc's libc.so is), which dlopen refuses.
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def find_library(name: str) -> str | None:
    """Full path of lib<name>.so.N (or .so) in the linker's directories, or None; starts no process."""
    for directory in linker_dirs():
        versioned = sorted(glob.glob(os.path.join(glob.escape(directory), f"lib{name}.so.*")))
        for candidate in [*versioned, os.path.join(directory, f"lib{name}.so")]:
            if _is_elf(candidate):
                return candidate
    return None


@contextlib.contextmanager
def _linker_dirs_only() -> Iterator[None]:
    real = ctypes.util.find_library
    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = real


def load() -> Any:
    """The asyncssh module (imported once; if something imported it already, it is left as it is)."""
    if "asyncssh" not in sys.modules:
        patched = enabled() and sys.platform.startswith("linux")
        with _linker_dirs_only() if patched else contextlib.nullcontext():
            import asyncssh  # noqa: F401
    return sys.modules["asyncssh"]
