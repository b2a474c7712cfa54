"""Import asyncssh without the compiler and linker runs of its liboqs lookup.

asyncssh.crypto.pq asks ctypes.util.find_library for liboqs (optional post-quantum key exchange)
when it is imported. On Linux that runs `ldconfig -p`, then `gcc` and `ld` found on PATH, once
for each of two names: ~20 ms of CPU in child processes and ~50 ms of wall time at the start of
every SSH sweep, and a monitoring tool that executes whatever `ld` comes first on PATH. While
asyncssh is imported here, find_library looks in the dynamic linker's own directories only
(LD_LIBRARY_PATH, ld.so.conf, the system library directories) and returns the full path, which
ctypes loads as it would the name: liboqs is used exactly when the loader can find it.
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
        linux = sys.platform.startswith("linux")
        with _linker_dirs_only() if linux else contextlib.nullcontext():
            import asyncssh  # noqa: F401
    return sys.modules["asyncssh"]
