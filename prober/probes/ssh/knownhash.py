"""Hashed known_hosts lines (`|1|salt|hmac`) matched against the host names a sweep will look up.

A hashed line can only be tested by computing HMAC-SHA1(salt, name) for each name: with its own
salt per line, nothing can be indexed, so matching is O(lines * names). asyncssh does it per
connection, for every hashed line (50,000 lines: ~0.2 s of CPU on the event loop per connection).
Here it is done once per sweep for the names the plan will look up, off the event loop.

Per (line, name) pair, measured on this 2-core machine (min of 5, Python 3.11, OpenSSL SHA-1):
  hmac.digest(salt, name, "sha1")           ~1,220 ns  (sets the key up on every call)
  hmac.new(salt, digestmod=sha1).copy()       ~775 ns
  sha1(ipad) / sha1(opad) precomputed, copied ~450 ns  ← used here: the key pads once per line
Above PARALLEL_PAIRS pairs the lines are split over one process per usable CPU: `python -m` this
module, fed by a pipe (no fork of a process running an event loop and threads, no multiprocessing
main-module re-import), killed on a stop request. Numbers for whole files are in bench/README.md.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import os
import pickle
import select
import subprocess
import sys
import threading
from collections.abc import Sequence

from prober.errors import Stopped

Hashed = tuple[bytes, bytes, int]  # (salt, HMAC-SHA1 digest, line number)

_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
BLOCK = 64  # SHA-1's block size: longer HMAC keys are hashed first
PARALLEL_PAIRS = 3_000_000  # ~1.3 s on one core: below that, spawning processes (~0.1 s each) does not pay
CHUNK_PAIRS = 400_000  # ~0.2 s: how often the one-thread loop checks for a stop request
MAX_PROCESSES = 8
PAIR_NS = 480  # measured per (line, name) pair in match_chunk, one core
WARN_PAIRS = 20_000_000  # ~10 s of CPU: worth a word in the log



def parse(pattern: str) -> tuple[bytes, bytes]:
    """(salt, digest) of a `|1|salt|hmac` host field; ValueError as asyncssh raises it."""
    try:
        magic, salt, digest = pattern[1:].split("|")
        raw_salt, raw_digest = binascii.a2b_base64(salt), binascii.a2b_base64(digest)
    except (ValueError, binascii.Error):
        raise ValueError(f"Invalid known hosts hash entry: {pattern}") from None
    if magic != "1":
        raise ValueError(f"Invalid known hosts hash type: {magic}")
    return raw_salt, raw_digest


def match_chunk(lines: Sequence[Hashed], names: Sequence[bytes]) -> list[tuple[int, int]]:
    """(line number, name index) for each pair whose HMAC matches."""
    found = []
    sha1 = hashlib.sha1
    for salt, digest, number in lines:
        key = (sha1(salt).digest() if len(salt) > BLOCK else salt).ljust(BLOCK, b"\0")
        inner, outer = sha1(key.translate(_IPAD)).copy, sha1(key.translate(_OPAD)).copy
        for index, name in enumerate(names):
            head = inner()
            head.update(name)
            tail = outer()
            tail.update(head.digest())
            if tail.digest() == digest:
                found.append((number, index))
    return found


def match(
    lines: Sequence[Hashed], names: Sequence[str], stop: threading.Event | None = None
) -> dict[str, list[int]]:
    """Each name → the numbers of the hashed lines that hash it, in file order."""
    encoded = [name.encode() for name in names]
    pairs = len(lines) * len(encoded)
    workers = min(_cpus(), MAX_PROCESSES) if pairs >= PARALLEL_PAIRS else 1
    if pairs >= WARN_PAIRS:
        from prober import logs

        logs.get().warning(
            "known_hosts: matching hashed lines against every planned host before the sweep; plain "
            "lines or @cert-authority lines would avoid this",
            hashed_lines=len(lines),
            names=len(encoded),
            cpu_s_estimate=round(pairs * PAIR_NS / 1e9),
            processes=workers,
        )
    found = (
        _in_processes(lines, encoded, workers, stop) if workers > 1 else _in_thread([lines], encoded, stop)
    )
    result: dict[str, list[int]] = {name: [] for name in names}
    for number, index in sorted(found):
        result[names[index]].append(number)
    return result


def _in_processes(
    lines: Sequence[Hashed], names: list[bytes], workers: int, stop: threading.Event | None
) -> list[tuple[int, int]]:
    """Each share of the lines in a `python -m prober.probes.ssh.knownhash` process; in this thread if
    a process cannot be started or fails. Processes are killed on a stop request."""
    shares = [lines[start::workers] for start in range(workers)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for share in shares:
            proc = subprocess.Popen(
                [sys.executable, "-m", __name__, str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            procs.append(proc)
            assert proc.stdin is not None
            proc.stdin.write(pickle.dumps((list(share), names), protocol=pickle.HIGHEST_PROTOCOL))
            proc.stdin.close()
        return [pair for proc in procs for pair in _result(proc, stop)]
    except (OSError, EOFError, pickle.UnpicklingError, subprocess.SubprocessError):
        return _in_thread([[*share] for share in shares], names, stop)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _result(proc: subprocess.Popen[bytes], stop: threading.Event | None) -> list[tuple[int, int]]:
    """The worker's pickled answer, read until EOF while watching for a stop request."""
    assert proc.stdout is not None
    fd, data = proc.stdout.fileno(), bytearray()
    while True:
        if stop is not None and stop.is_set():
            raise Stopped
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            data += chunk
    if proc.wait() != 0:
        raise subprocess.SubprocessError(f"exit status {proc.returncode}")
    pairs: list[tuple[int, int]] = pickle.loads(data)
    return pairs


def _in_thread(
    chunks: Sequence[Sequence[Hashed]], names: list[bytes], stop: threading.Event | None
) -> list[tuple[int, int]]:
    pairs: list[tuple[int, int]] = []
    for chunk in chunks:
        rows = max(1, CHUNK_PAIRS // max(1, len(names)))
        for start in range(0, len(chunk), rows):
            if stop is not None and stop.is_set():
                raise Stopped
            pairs += match_chunk(chunk[start : start + rows], names)
    return pairs


def _cpus() -> int:
    from prober.runtime.cpus import usable_cpus

    return usable_cpus()


def _main(parent: int) -> None:
    """Worker process: (lines, names) pickled on stdin → matching pairs pickled on stdout. It dies with
    prober: a sweep stopped by a signal leaves with os._exit, before its thread could kill it."""
    _die_with_parent()
    lines, names = pickle.load(sys.stdin.buffer)
    rows = max(1, CHUNK_PAIRS // max(1, len(names)))
    found: list[tuple[int, int]] = []
    for start in range(0, len(lines), rows):
        if os.getppid() != parent:  # prober is gone (where no parent-death signal exists)
            os._exit(1)
        found += match_chunk(lines[start : start + rows], names)
    pickle.dump(found, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


def _die_with_parent() -> None:
    """SIGKILL when prober exits (Linux PR_SET_PDEATHSIG); best effort elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


if __name__ == "__main__":
    _main(int(sys.argv[1]))

__all__ = ["Hashed", "Stopped", "match", "match_chunk", "parse"]
