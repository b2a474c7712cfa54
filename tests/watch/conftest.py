"""`prober watch` as a process on loopback: start it, read its port, scrape it, signal it; HTTP servers
that record when each request arrived and how many were in flight at once."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, cli_env
from tests.sinks.promtext import Series, series


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> Reply:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers), exc.read())


class WatchProcess:
    """`python -m prober watch INVENTORY --listen 127.0.0.1:0 ARGS`, stderr to a file."""

    def __init__(self, inventory: Path, *args: str, workdir: Path) -> None:
        self.log = workdir / f"watch-{id(self)}.stderr"
        with open(self.log, "wb") as errors:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "prober", "watch", str(inventory), "--listen", "127.0.0.1:0", *args],
                env=cli_env(),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
        self.port = self._wait_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def _wait_port(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for line in self.stderr().splitlines():
                if "watch listening" in line:
                    return int(json.loads(line)["address"].rsplit(":", 1)[1])
            if self.proc.poll() is not None:
                raise AssertionError(f"prober watch exited {self.proc.returncode}: {self.stderr()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"prober watch did not listen: {self.stderr()[-3000:]}")

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def logs(self, event: str) -> list[dict[str, Any]]:
        """Diagnostics lines (JSON) whose event is `event`."""
        out = []
        for line in self.stderr().splitlines():
            with contextlib.suppress(ValueError):
                item = json.loads(line)
                if isinstance(item, dict) and item.get("event") == event:
                    out.append(item)
        return out

    def get(self, path: str, **headers: str) -> Reply:
        return http_get(self.base + path, headers)

    def metrics(self) -> Series:
        reply = self.get("/metrics")
        assert reply.status == 200, reply
        return series(reply.body)

    def sweeps(self) -> int:
        return len(self.logs("sweep done"))

    def wait_for(self, what: str, check: Any, timeout: float = 60, every: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            if self.proc.poll() is not None:
                raise AssertionError(f"prober watch exited {self.proc.returncode} waiting for {what}")
            time.sleep(every)
        raise AssertionError(f"timed out waiting for {what}: {self.stderr()[-3000:]}")

    def wait_sweeps(self, count: int, timeout: float = 60) -> None:
        self.wait_for(f"{count} sweeps", lambda: self.sweeps() >= count, timeout)

    def send(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, float]:
        """Send signum; (exit code, seconds it took to exit)."""
        started = time.monotonic()
        self.send(signum)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def watch_process(tmp_path: Path) -> Iterator[Any]:
    """start(inventory, *args) → a running WatchProcess, killed after the test if still running."""
    started: list[WatchProcess] = []

    def start(inventory: Path, *args: str) -> WatchProcess:
        process = WatchProcess(inventory, *args, workdir=tmp_path)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


def gunzip(body: bytes) -> bytes:
    return gzip.decompress(body)


@dataclass
class Arrivals:
    """What a recording server saw: (address, wall time) per request, and the most in flight at once."""

    times: list[tuple[str, float]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    def of(self, address: str) -> list[float]:
        return [at for where, at in self.times if where == address]


class RecordingServers:
    """HTTP servers on loopback addresses in a background thread: each answers 200 'ok' after its
    delay (None: never answers) and records when every request arrived."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.arrivals = Arrivals()
        self._servers: list[asyncio.Server] = []
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def serve(self, address: str, port: int, delay: float | None = 0.0) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            arrivals = self.arrivals
            with contextlib.suppress(Exception):
                await reader.readuntil(b"\r\n\r\n")
            arrivals.times.append((address, time.time()))
            arrivals.in_flight += 1
            arrivals.most_in_flight = max(arrivals.most_in_flight, arrivals.in_flight)
            try:
                if delay is None:
                    await reader.read()  # until the client gives up
                    return
                await asyncio.sleep(delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
            finally:
                arrivals.in_flight -= 1
                writer.close()

        async def start() -> asyncio.Server:
            return await asyncio.start_server(handle, address, port, reuse_address=True)

        self._servers.append(asyncio.run_coroutine_threadsafe(start(), self.loop).result(10))

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture
def servers() -> Iterator[RecordingServers]:
    running = RecordingServers()
    try:
        yield running
    finally:
        running.close()


def inventory(path: Path, port: int, hosts: dict[str, list[str]], **defaults: Any) -> Path:
    """Groups of hosts (names are loopback addresses) probed over HTTP on `port` (`web`), plus a
    `tcp` probe on the same port for /probe tests."""
    settings = {"timeout": "2s", "retries": 0, "concurrency": 64, **defaults}
    lines = ["defaults:", *(f"  {key}: {json.dumps(value)}" for key, value in settings.items())]
    lines += [
        "probes:",
        f'  web: {{type: http, url: "http://{{address}}:{port}/", expect_status: [200]}}',
        f"  tcp: {{type: tcp, port: {port}}}",
        "groups:",
    ]
    for group, members in hosts.items():
        lines += [f"  {group}:", "    probes: [web]", "    hosts:"]
        lines += [f"      - {json.dumps(host)}" for host in members]
    path.write_text("\n".join(lines) + "\n")
    return path
