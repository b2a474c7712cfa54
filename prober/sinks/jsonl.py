"""JSON Lines sink: one record per line, written as each result arrives, one write() per line."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import orjson

from prober.model import Result
from prober.record import to_record
from prober.sinks.writer import ThreadWriter, failure, write_all

# A write() of at most PIPE_BUF bytes is atomic on a pipe, so readers never see torn lines.
LINE_MAX = 4096
# Lines a slow reader may fall behind by before new probes wait for it (~3 MiB of typical records).
QUEUE_LINES = 8192
_ESSENTIAL = (
    "event",
    "ts",
    "run_id",
    "host",
    "address",
    "group",
    "probe",
    "type",
    "status",
    "latency_ms",
    "attempts",
    "error",
)


def dumps(obj: dict[str, Any], cap: bool = True) -> bytes:
    """One JSON line, shrunk below LINE_MAX by cutting remote text if needed (unless `cap` is False)."""
    line = orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    if len(line) <= LINE_MAX or not cap:
        return line
    line = orjson.dumps(_shrunk(obj), option=orjson.OPT_APPEND_NEWLINE)
    if len(line) <= LINE_MAX:
        return line
    # Still too long (huge keys or many fields): keep it valid JSON rather than cutting bytes.
    keep = {k: obj[k] for k in _ESSENTIAL if k in obj and len(orjson.dumps(obj[k])) <= 256}
    if isinstance(obj.get("error"), dict):  # the error kind must survive any cut
        error = obj["error"]
        keep["error"] = {"kind": str(error.get("kind"))[:32], "message": str(error.get("message"))[:200]}
    return orjson.dumps({**keep, "truncated": True}, option=orjson.OPT_APPEND_NEWLINE)


def _shrunk(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    for key, value in obj.items():
        if isinstance(value, dict):
            out[key] = {
                k: (v[:96] + "…" if isinstance(v, str) and len(v) > 100 else v) for k, v in value.items()
            }
    return out


class JsonlSink:
    """Writes records to a file descriptor. When it cannot (reader gone: "output_closed"; disk full or
    I/O error: "output_error"), it stops writing, keeps the reason in `lost` and tells `on_closed`."""

    def __init__(self, fd: int, run_id: str, on_closed: Callable[[str], None] | None = None) -> None:
        self.fd = fd
        self.run_id = run_id
        self.on_closed = on_closed
        self.lost: str | None = None

    @property
    def closed(self) -> bool:
        return self.lost is not None

    def __call__(self, result: Result) -> None:
        self.write(to_record(result, self.run_id))

    def write(self, obj: dict[str, Any], cap: bool = True) -> None:
        """Queue or write one record; `cap=False` only for the single final sweep line."""
        if not self.closed:
            self._put(dumps(obj, cap))

    def _put(self, line: bytes) -> None:
        try:
            write_all(self.fd, line)
        except OSError as exc:
            self._lost(failure(self.fd, exc))

    def _lost(self, reason: str) -> None:
        self.lost = reason
        if self.on_closed is not None:
            self.on_closed(reason)


class BackgroundJsonlSink(JsonlSink):
    """A JsonlSink whose writes happen on a writer thread (one write() per line), so a slow reader never
    blocks the event loop. A reader more than max_lines behind makes `room()` wait, which the engine
    awaits before starting each probe: memory stays bounded and probes in flight keep true timings."""

    def __init__(
        self,
        fd: int,
        run_id: str,
        on_closed: Callable[[str], None] | None = None,
        max_lines: int = QUEUE_LINES,
    ) -> None:
        super().__init__(fd, run_id, on_closed)
        self.writer = ThreadWriter(fd, limit=max_lines, on_lost=self._lost_on_thread, name="prober-jsonl")
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> BackgroundJsonlSink:
        """Start the writer thread; call from the event loop that should hear about a lost output."""
        self._loop = asyncio.get_running_loop()
        self.writer.start()
        return self

    async def room(self) -> None:
        await self.writer.room()

    def close(self) -> None:
        """Write every queued line, then stop the writer thread."""
        self.writer.close()

    def _put(self, line: bytes) -> None:
        self.writer.put(line)

    def _lost_on_thread(self, reason: str) -> None:
        self.lost = reason
        if self.on_closed is not None and self._loop is not None:
            # RuntimeError: the loop already finished, so there is nothing left to stop.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self.on_closed, reason)
