"""asyncssh is imported without running ldconfig, gcc or ld, and liboqs is still found where it is."""

from __future__ import annotations

import ctypes.util
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prober._patches import SWITCH, asyncsshload
from tests.conftest import ROOT, cli_env

AUDIT = """
import sys
started = []
sys.addaudithook(lambda event, args: started.append(args[0]) if event == "subprocess.Popen" else None)
from prober.probes import probe_for
probe_for("ssh")
import asyncssh.crypto.pq as pq
print(len(started), pq.mlkem_available)
"""

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the dynamic linker's directories")


def _processes_started(switch: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", AUDIT], capture_output=True, text=True, env=cli_env({SWITCH: switch}),
        cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_guard_pq_uses_find_library() -> None:
    """asyncssh.crypto.pq still looks liboqs up with ctypes.util.find_library when imported: if an
    upgrade changes that, this fails (the patch would silently do nothing)."""
    import asyncssh.crypto.pq as pq

    assert "ctypes.util.find_library(" in inspect.getsource(pq)


@linux
def test_ssh_probe_import_starts_no_process() -> None:
    """Loading the SSH probe imports asyncssh (ML-KEM via cryptography still available) and runs
    no child process."""
    assert _processes_started("") == ["0", "True"]


@linux
def test_switched_off_is_the_stock_import() -> None:
    """PROBER_NO_PATCHES=1: asyncssh imported as it comes, which on Linux starts ldconfig (and gcc,
    ld) from ctypes.util.find_library; ML-KEM available all the same."""
    count, mlkem = _processes_started("1")
    assert int(count) > 0 and mlkem == "True"


@linux
def test_finds_a_system_library_like_ctypes() -> None:
    """libc is found in the linker's directories, under the name ctypes finds (or its dev link)."""
    found = asyncsshload.find_library("c")
    assert found is not None and os.path.isfile(found)
    expected = ctypes.util.find_library("c")
    assert expected is not None and Path(found).name == expected
    ctypes.CDLL(found)  # loadable by full path


def test_finds_a_library_in_ld_library_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A liboqs only in LD_LIBRARY_PATH is found there (the loader would find it there too)."""
    (tmp_path / "liboqs.so.9").write_bytes(b"\x7fELF" + bytes(60))
    (tmp_path / "libscript.so").write_text("GROUP ( /lib/libscript.so.1 )")  # a linker script
    monkeypatch.setenv("LD_LIBRARY_PATH", f"/nonexistent{os.pathsep}{tmp_path}")
    assert asyncsshload.find_library("oqs") == str(tmp_path / "liboqs.so.9")
    assert asyncsshload.find_library("no-such-library-prober") is None
    assert asyncsshload.find_library("script") is None
