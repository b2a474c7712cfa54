"""JSON Lines sink: one record per line, written as each result arrives, one write() per line."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import orjson

from prober.model import Result
from prober.record import to_record

# A write() of at most PIPE_BUF bytes is atomic on a pipe, so readers never see torn lines.
LINE_MAX = 4096


def dumps(obj: dict[str, Any]) -> bytes:
    """One JSON line, shrunk below LINE_MAX by cutting remote text if needed."""
    line = orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    if len(line) <= LINE_MAX:
        return line
    return orjson.dumps(_shrunk(obj), option=orjson.OPT_APPEND_NEWLINE)[:LINE_MAX]


def _shrunk(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    for key, value in obj.items():
        if isinstance(value, dict):
            out[key] = {
                k: (v[:96] + "…" if isinstance(v, str) and len(v) > 100 else v) for k, v in value.items()
            }
    return out


class JsonlSink:
    """Writes records to a file descriptor; on a closed pipe, stops writing and tells `on_closed`."""

    def __init__(self, fd: int, run_id: str, on_closed: Callable[[], None] | None = None) -> None:
        self.fd = fd
        self.run_id = run_id
        self.on_closed = on_closed
        self.closed = False

    def __call__(self, result: Result) -> None:
        self.write(to_record(result, self.run_id))

    def write(self, obj: dict[str, Any]) -> None:
        if self.closed:
            return
        line = dumps(obj)
        try:
            view = memoryview(line)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
        except BrokenPipeError:
            self._closed_by_reader()

    def _closed_by_reader(self) -> None:
        # The reader went away (`| head`): point the fd at /dev/null so nothing else
        # (including interpreter shutdown) raises again, then stop the sweep quietly.
        self.closed = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.fd)
        os.close(devnull)
        if self.on_closed is not None:
            self.on_closed()
