"""The JSONL sink in-process: line cap, writer thread, backpressure, closed reader, non-blocking fds."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import threading
import time

from prober.sinks.jsonl import LINE_MAX, BackgroundJsonlSink, JsonlSink, dumps


def read_all(fd: int, delay: float = 0.0) -> tuple[threading.Thread, list[bytes]]:
    """Read a pipe to EOF on a thread, sleeping `delay` between reads; return the thread and chunks."""
    chunks: list[bytes] = []

    def reader() -> None:
        with os.fdopen(fd, "rb") as stream:
            while line := stream.readline():
                chunks.append(line)
                time.sleep(delay)

    thread = threading.Thread(target=reader)
    thread.start()
    return thread, chunks


class TestLineCap:
    def test_long_remote_text_is_cut_to_a_valid_line(self) -> None:
        """A record with 50 KB of remote text becomes one valid JSON line of at most 4096 bytes."""
        record = {"event": "probe", "host": "h", "ssh": {"stdout": "x" * 50_000}, "status": "ok"}
        line = dumps(record)
        assert len(line) <= LINE_MAX and line.endswith(b"\n")
        assert json.loads(line)["ssh"]["stdout"].startswith("xxx")

    def test_many_long_fields_still_give_valid_json(self) -> None:
        """Even when cutting strings is not enough, the line stays valid JSON with its identity keys."""
        error = {"kind": "protocol", "message": "z" * 3000}
        record = {"event": "probe", "host": "h", "status": "fail", "error": error}
        record |= {f"k{i}": "y" * 4000 for i in range(5)}
        line = dumps(record)
        parsed = json.loads(line)
        assert len(line) <= LINE_MAX and parsed["host"] == "h" and parsed["truncated"] is True
        assert parsed["error"]["kind"] == "protocol" and parsed["status"] == "fail"


    def test_a_line_of_exactly_4096_bytes_is_kept_whole(self) -> None:
        """4096 bytes (PIPE_BUF, newline included) is the largest line written as is; one byte more
        is cut and marked truncated."""
        empty = len(dumps({"event": "probe", "host": "h", "body": ""}))
        for size, cut in ((4096, False), (4097, True)):
            record = {"event": "probe", "host": "h", "body": "y" * (size - empty)}
            line = dumps(record)
            assert (len(line) == size) is not cut and len(line) <= 4096
            assert ("truncated" in json.loads(line)) is cut


class TestBackgroundSink:
    async def test_backpressure_keeps_order_and_every_line(self) -> None:
        """With a 4-line queue and a slow reader, 200 records all arrive, whole and in order."""
        read_fd, write_fd = os.pipe()
        thread, chunks = read_all(read_fd, delay=0.001)
        sink = BackgroundJsonlSink(write_fd, "run", max_lines=4).start()
        for index in range(200):
            sink.write({"event": "probe", "index": index, "pad": "z" * 1000})
        await asyncio.to_thread(sink.close)
        os.close(write_fd)
        thread.join(10)
        assert [json.loads(chunk)["index"] for chunk in chunks] == list(range(200))

    async def test_slow_reader_does_not_block_the_loop(self) -> None:
        """Writing 300 KB to a reader that has not started yet returns at once; the loop keeps ticking."""
        read_fd, write_fd = os.pipe()
        sink = BackgroundJsonlSink(write_fd, "run").start()
        started = time.perf_counter()
        for index in range(300):
            sink.write({"event": "probe", "index": index, "pad": "z" * 1000})
        # ~5 ms idle; a blocking write would never return here (the pipe holds 64 KB, nobody reads).
        assert time.perf_counter() - started < 3
        ticked = time.perf_counter()
        await asyncio.sleep(0.05)
        assert time.perf_counter() - ticked < 3
        thread, chunks = read_all(read_fd)
        await asyncio.to_thread(sink.close)
        os.close(write_fd)
        thread.join(10)
        assert len(chunks) == 300

    async def test_closed_reader_calls_back_on_the_loop(self) -> None:
        """When the reader closes the pipe, on_closed runs on the event loop and later writes are dropped."""
        read_fd, write_fd = os.pipe()
        os.close(read_fd)
        loop_thread: list[tuple[threading.Thread, str]] = []
        done = asyncio.Event()

        def on_closed(reason: str) -> None:
            loop_thread.append((threading.current_thread(), reason))
            done.set()

        sink = BackgroundJsonlSink(write_fd, "run", on_closed=on_closed).start()
        sink.write({"event": "probe"})
        await asyncio.wait_for(done.wait(), 5)
        sink.write({"event": "probe"})
        await asyncio.to_thread(sink.close)
        assert sink.closed and loop_thread == [(threading.current_thread(), "output_closed")]
        os.close(write_fd)


class TestNonBlockingFd:
    def test_nonblocking_pipe_waits_instead_of_failing(self) -> None:
        """A stdout left non-blocking by a parent still gets every line (EAGAIN is waited out)."""
        read_fd, write_fd = os.pipe()
        flags = fcntl.fcntl(write_fd, fcntl.F_GETFL)
        fcntl.fcntl(write_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        thread, chunks = read_all(read_fd, delay=0.0005)
        sink = JsonlSink(write_fd, "run")
        for index in range(300):
            sink.write({"event": "probe", "index": index, "pad": "z" * 1000})
        os.close(write_fd)
        thread.join(10)
        assert [json.loads(chunk)["index"] for chunk in chunks] == list(range(300))


class TestCILogCommands:
    def test_legacy_runner_commands_are_inert(self) -> None:
        """Remote text with '##[' is written escaped (same JSON value), so a CI log never obeys it."""
        record = {"event": "probe", "http": {"body": "x ##[stop-commands]tok ##[error]fake"}}
        line = dumps(record)
        assert b"##[" not in line
        assert json.loads(line) == record

    def test_escaping_keeps_a_cut_line_under_4096_bytes(self) -> None:
        """Escaping costs 5 bytes per '##[': a line cut to fit is cut further, never over 4096 bytes."""
        record = {
            "event": "probe", "ts": "t", "run_id": "r", "host": "h", "address": "a", "group": "g",
            "probe": "p", "type": "http", "status": "fail", "latency_ms": 1.0, "attempts": 1,
            "error": {"kind": "assertion", "message": "m"}, "warning": None,
            "http": {"status_code": 200, "url": "http://h/", "body": "##[" * 3000},
        }  # fmt: skip
        line = dumps(record)
        assert len(line) <= 4096 and b"##[" not in line
        assert json.loads(line)["http"]["body"].startswith("##[##[")

    def test_a_cut_escaped_line_still_fills_4096_bytes(self) -> None:
        """The cut steps down by 3/8 of the excess (+1 byte) a round: it lands on the longest line
        that fits, not a byte short of it (a text mixing '##[' and plain characters)."""
        line = dumps({"event": "probe", "host": "h", "out": ("##[" * 52 + "x" * 966) * 3})
        assert len(line) == 4096 and b"##[" not in line
