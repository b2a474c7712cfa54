"""Run prober with stdout and/or stderr on a real pseudo-terminal (pty.openpty), as a person would."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from dataclasses import dataclass

from tests.conftest import ROOT, cli_env

CLEAR = "\r\x1b[K"


@dataclass
class Ran:
    code: int
    out: str
    err: str


def _terminal(rows: int, cols: int) -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return master, slave


def _drain(fd: int, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: every slave end is closed
                return
            if not chunk:
                return
            into.append(chunk)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def run(
    *args: str,
    stdout_tty: bool = False,
    stderr_tty: bool = False,
    same_tty: bool = False,
    rows: int = 24,
    cols: int = 100,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 90,
) -> Ran:
    """`python -m prober ARGS` with the chosen streams on ptys (`same_tty`: both on one, as in an
    interactive shell) and the others on pipes; the terminal's output with CRLF read back as LF."""
    masters: list[int] = []
    out_fd: int | None = None
    err_fd: int | None = None
    if stdout_tty or same_tty:
        master, out_fd = _terminal(rows, cols)
        masters.append(master)
        err_fd = out_fd if same_tty else None
    if stderr_tty and not same_tty:
        master, err_fd = _terminal(rows, cols)
        masters.append(master)
    proc = subprocess.Popen(
        [sys.executable, "-m", "prober", *args],
        stdout=out_fd if out_fd is not None else subprocess.PIPE,
        stderr=err_fd if err_fd is not None else subprocess.PIPE,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        env=cli_env(env),
        cwd=ROOT,
    )
    for fd in {out_fd, err_fd} - {None}:
        os.close(fd)  # type: ignore[arg-type]
    chunks: list[list[bytes]] = [[] for _ in masters]
    readers = [_drain(master, into) for master, into in zip(masters, chunks, strict=True)]
    piped_out, piped_err = proc.communicate(stdin, timeout=timeout)
    for reader in readers:
        reader.join(10)
    for master in masters:
        os.close(master)
    terminal = [b"".join(c).decode(errors="replace").replace("\r\n", "\n") for c in chunks]
    out = terminal[0] if out_fd is not None else piped_out.decode(errors="replace")
    if same_tty:
        err = out
    elif err_fd is not None:
        err = terminal[-1]
    else:
        err = piped_err.decode(errors="replace")
    return Ran(proc.returncode, out, err)


def visible_lines(text: str) -> list[str]:
    """Each line as the terminal shows it: what follows the last carriage-return-and-erase."""
    return [line.split(CLEAR)[-1] for line in text.split("\n")]
