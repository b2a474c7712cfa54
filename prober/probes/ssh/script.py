"""The combined check script: queued checks run at once in one remote `sh`, each under its own budget.

Each check runs as a background job of the script; its stdout, stderr and exit status come back
together as frames on the script's stdout (`@@<nonce> <index> <kind>\\n<data>@@<nonce>\\n`). A frame
is written in one write of at most 4096 bytes (PIPE_BUF), so frames of checks ending at the same
moment never interleave: dash's printf writes a frame at once, other shells' printf (bash's splits
at newlines) goes through `dd obs=4096`. A check whose output (capped first) is longer goes out in
several frames. A watchdog job stops each check still running when its budget passes (its process
tree, depth first, SIGSTOP then SIGKILL, found with procps `pgrep -P`) and reports `T` for it: a
hung `df` costs that check alone, and leaves no process behind. Only POSIX sh, coreutils (`dd`,
`head`, `tail`, `sleep`) and procps run on the host.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

STDERR_MAX_BYTES = 2048  # enough for the first line of an error message
FRAME_DATA_MAX = 3900  # + header and end marker (< 60 bytes) stays within PIPE_BUF = 4096

# D: set when `sh` is dash (the ash family, which lacks ${x:o:l}): its printf writes once, no dd needed.
# f: write one frame. c: cut $2 to $1 bytes into C (a fork only when it is longer). j: run one check
# (the host's own locale restored for it; eval'ed in the capture's own subshell, whose EXIT trap ends
# stdout with the nonce, `exit` in the check included), capture stderr, status and stdout, send them
# as frames.
# k: stop and kill a process tree. t: if job $1 is still a child of this script (never a reused pid),
# freeze it, report check $2 timed out, kill it: the report is out before `wait` lets the script end.
# z: sleep $1 s (whole $2 s where sleep takes no fractions), as the watchdog; the script's TERM
# (its jobs are done) sets x: y kills a sleep started as it came, and is the only one to exit.
_FUNCTIONS = (
    "L=${LC_ALL-}; l=${LC_ALL+1}; LC_ALL=C; M=$$; D=; (eval ': ${D:0:1}') 2>/dev/null || D=1",
    """g() { printf '@@%s %s %s\\n%s@@%s\\n' "$N" "$1" "$2" "$3" "$N"; }""",
    """f() { if [ -n "$D" ]; then g "$@"; else g "$@" | dd obs=4096 2>/dev/null; fi; }""",
    """c() { C=$2; [ ${#C} -le $1 ] || { C=$(printf %s "$2" | head -c $1; echo .); C=${C%.}; }; }""",
    'j() { r=$( { o=$( trap \'echo "$N"\' EXIT; if [ -n "$l" ]; then LC_ALL=$L; else unset LC_ALL; fi;'
    ' eval "$2" </dev/null 2>&3 3>&- ); s=$?;'
    """ printf '@@%s s %s\\n%s.' "$N" "$s" "$o"; } 3>&1 );"""
    f""" c {STDERR_MAX_BYTES} "${{r%%"@@$N s "*}}"; e=$C; c $(($3 + 24)) "${{r#*"@@$N s "}}";"""
    f""" p=$e"@@$N s "$C; while [ ${{#p}} -gt {FRAME_DATA_MAX} ]; do"""
    f""" h=$(printf %s "$p" | head -c {FRAME_DATA_MAX}; echo .); f $1 + "${{h%.}}";"""
    f""" p=$(printf %s "$p" | tail -c +{FRAME_DATA_MAX + 1}; echo .); p=${{p%.}}; done; f $1 '$' "$p"; }}""",
    "k() { kill -STOP $1 2>/dev/null; for q in $(pgrep -P $1 2>/dev/null); do k $q; done;"
    " kill -KILL $1 2>/dev/null; }",
    'y() { s=$!; if [ -n "$x" ]; then kill -9 $s; else wait $s; r=$?; [ -z "$x" ] || kill -9 $s; fi;'
    ' s=; [ -z "$x" ] || exit 0; }',
    "z() { sleep $1 2>/dev/null & y; [ $r = 1 ] && { sleep $2 & y; }; }",
    "t() { for q in $(pgrep -P $M 2>/dev/null); do"
    " [ $q = $1 ] && kill -STOP $1 && f $2 T '' && k $1; done; }",
)
_PRELUDE = "; ".join(_FUNCTIONS)


@dataclass(frozen=True, slots=True)
class Job:
    """One check of the script: its command, stdout cap and time budget on the host (seconds)."""

    command: str
    cap: int
    budget: float


def _watchdog(jobs: Sequence[Job]) -> str:
    """Sleep to each budget in turn (budgets are from the script's start) and stop what still runs."""
    steps, slept = [], 0.0
    for budget in sorted({round(job.budget, 2) for job in jobs}):
        wait = max(0.01, budget - slept)
        steps.append(f"z {wait:.2f} {math.ceil(wait)}")
        steps += [f"t $p{i} {i}" for i, job in enumerate(jobs) if round(job.budget, 2) == budget]
        slept = budget
    return f"(trap 'x=1; [ -z \"$s\" ] || kill -9 $s' TERM; {'; '.join(steps)}) 2>/dev/null & w=$!"


def script(jobs: Sequence[Job], nonce: str) -> str:
    """The whole script on one line (csh would refuse a newline inside quotes), for `sh -c`."""
    parts = [f"N={nonce}", _PRELUDE]
    parts += [f"j {i} {shlex.quote(job.command)} {job.cap} & p{i}=$!" for i, job in enumerate(jobs)]
    parts.append(_watchdog(jobs))
    parts.append("wait " + " ".join(f"$p{i}" for i in range(len(jobs))) + "; kill $w 2>/dev/null")
    return "; ".join(parts)


def command_line(jobs: Sequence[Job], nonce: str) -> str:
    """What the login shell runs: the script under `sh`, whatever the login shell is."""
    return "exec sh -c " + shlex.quote(script(jobs, nonce))


def budget(remaining: float) -> float:
    """A check's budget on the host: what is left of its probe's timeout, less a margin (10%, 0.05 to
    0.5 s) so the host's `T` frame arrives before the probe's own deadline does."""
    return max(0.01, remaining - min(0.5, max(0.05, remaining * 0.1)))


class Frames:
    """Cuts the script's stdout into (index, kind, data) frames; bytes outside frames are dropped."""

    def __init__(self, nonce: str) -> None:
        self.head = b"@@" + nonce.encode() + b" "
        self.end = b"@@" + nonce.encode() + b"\n"
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes, bytes]]:
        self.buf += data
        frames: list[tuple[int, bytes, bytes]] = []
        while (start := self.buf.find(self.head)) >= 0:
            newline = self.buf.find(b"\n", start)
            stop = self.buf.find(self.end, newline + 1) if newline >= 0 else -1
            if stop < 0:
                if len(self.buf) - start > 2 * 4096:  # no frame is that long: skip a false start
                    del self.buf[: start + len(self.head)]
                    continue
                del self.buf[:start]
                return frames
            fields = bytes(self.buf[start + len(self.head) : newline]).split()
            if len(fields) == 2 and fields[0].isdigit():
                frames.append((int(fields[0]), fields[1], bytes(self.buf[newline + 1 : stop])))
            del self.buf[: stop + len(self.end)]
        del self.buf[: max(0, len(self.buf) - len(self.head))]  # keep a header's start
        return frames


def split_result(payload: bytes, nonce: str, cap: int) -> tuple[bytes, bytes, int | None]:
    """A check's reassembled frames → (stdout capped, stderr capped, exit status or None if garbled)."""
    stderr, sep, rest = payload.partition(b"@@" + nonce.encode() + b" s ")
    status, newline, stdout = rest.partition(b"\n")
    if not sep or not newline or not status.isdigit():
        return b"", stderr[:STDERR_MAX_BYTES], None
    # The script ends stdout with the nonce (so the shell keeps its trailing newlines; only a check
    # that ran `exec` has none), then "." (the status line's newline stays). A cut one lost both,
    # but then still has more than `cap` bytes.
    stdout = stdout.removesuffix(b".").removesuffix(nonce.encode())
    return stdout[:cap], stderr[:STDERR_MAX_BYTES], int(status)
