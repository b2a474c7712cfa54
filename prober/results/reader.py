"""Read a results file (prober's JSON lines) back, streaming, with file:line errors for anything else."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

import orjson

from prober.errors import InputError, Problem

# One line is at most this long: probe lines stay under 4 KiB, the sweep line grows with the number of
# groups (~60 bytes each), so 64 MiB is a million groups. Past it the file is not prober output, and
# reading on would only hold the whole file in memory.
LINE_MAX = 64 << 20
STATUSES = frozenset({"ok", "warn", "fail"})
EVENTS = ("probe", "sweep")


class ResultsFile:
    """The probe records of a results file, yielded one by one; `sweep` is its last sweep line.

    Every line must be a JSON object with an "event" of "probe" or "sweep", and a probe record must
    carry what reports and diffs read (host, probe, group, status, error, latency_ms, warning) with the
    documented types. Anything else raises InputError naming the file, the line and the key: a report
    or a gate built on a file that is not prober output would be wrong without saying so.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.sweep: dict[str, Any] | None = None
        self.run_ids: dict[str, None] = {}  # insertion-ordered set
        self.probes = 0
        self.lineno = 0  # the line of the record last yielded (or read)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        lineno = 0
        for lineno, raw in self._lines():
            self.lineno = lineno
            obj = self._parse(lineno, raw)
            if obj is None:
                continue
            if obj["event"] == "sweep":
                self.sweep = obj
                continue
            self.probes += 1
            self.run_ids.setdefault(str(obj.get("run_id")), None)
            yield obj
        if self.probes == 0 and self.sweep is None:
            where = "the file is empty" if lineno == 0 else f"{lineno} lines without one"
            self._fail(None, "", f'no prober records ({where}); expected JSON lines with "event": "probe"')

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below; errors get their own message
        except OSError as exc:
            self._fail(None, "", f"cannot read: {exc.strerror or exc}")
        with handle:
            lineno = 0
            while True:
                try:
                    raw = handle.readline(LINE_MAX + 1)
                except OSError as exc:  # a directory, an I/O error
                    self._fail(lineno + 1 if lineno else None, "", f"cannot read: {exc.strerror or exc}")
                if not raw:
                    return
                lineno += 1
                if len(raw) > LINE_MAX:
                    self._fail(lineno, "", f"line longer than {LINE_MAX >> 20} MiB: not prober output")
                yield lineno, raw

    def _parse(self, lineno: int, raw: bytes) -> dict[str, Any] | None:
        if not raw.strip():
            return None
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            cut = " (cut off: was the sweep killed while writing?)" if not raw.endswith(b"\n") else ""
            self._fail(lineno, "", f"not JSON: {exc}{cut}")
        if not isinstance(obj, dict) or "event" not in obj:
            self._fail(lineno, "event", 'not a prober record: expected a JSON object with an "event" key')
        event = obj["event"]
        if event not in EVENTS:
            hint = " (that is `prober plan` output, not results)" if event == "plan" else ""
            self._fail(lineno, "event", f"{_show(event)} is not a result; expected probe or sweep{hint}")
        if event == "probe":
            self._check_probe(lineno, obj)
        elif not isinstance(obj.get("duration_ms", 0), int | float):
            self._fail(lineno, "duration_ms", "expected a number")
        return obj

    def _check_probe(self, lineno: int, obj: dict[str, Any]) -> None:
        for key in ("host", "probe", "group"):
            if not isinstance(obj.get(key), str):
                self._fail(lineno, key, f"expected a string, got {_show(obj.get(key))}")
        if obj.get("status") not in STATUSES:
            self._fail(lineno, "status", f"expected ok, warn or fail, got {_show(obj.get('status'))}")
        error = obj.get("error")
        if error is None:
            if obj["status"] == "fail":
                self._fail(lineno, "error", "a failed probe must say why (error.kind)")
        elif not isinstance(error, dict) or not isinstance(error.get("kind"), str):
            self._fail(lineno, "error", f"expected null or {{kind, message}}, got {_show(error)}")
        elif not isinstance(error.get("message", ""), str):
            self._fail(lineno, "error.message", "expected a string")
        latency = obj.get("latency_ms")
        if latency is not None and (
            isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0
        ):
            self._fail(lineno, "latency_ms", f"expected null or a number ≥ 0, got {_show(latency)}")
        if not isinstance(obj.get("warning") or "", str):
            self._fail(lineno, "warning", f"expected null or a string, got {_show(obj.get('warning'))}")

    def _fail(self, lineno: int | None, key: str, message: str) -> NoReturn:
        raise InputError([Problem(self.path, lineno, key, message)])


def _show(value: object) -> str:
    """A short, one-line rendering of an unexpected value for an error message."""
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 60 else text[:57] + "…"


__all__ = ["ResultsFile"]
