"""The JSONL sink's documented limits, as literal numbers: lines of at most 4096 bytes (PIPE_BUF), long
values cut rather than records dropped, and a writer queue that stays bounded behind a stalled reader."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time

from prober.sinks.jsonl import BackgroundJsonlSink, dumps
from prober.sinks.writer import ThreadWriter

PIPE_BUF = 4096  # README: "each probe line under 4 KiB ... never torn"


def record(**sections: object) -> dict[str, object]:
    base: dict[str, object] = {"event": "probe", "host": "h", "probe": "p", "type": "ssh", "status": "fail"}
    return {**base, **sections}


class TestLineCap:
    def test_a_6_kb_record_is_cut_to_4096_bytes(self) -> None:
        """A record of ~6 KB (below 8 KiB) still becomes a line of at most 4096 bytes."""
        line = dumps(record(ssh={"stdout": "o" * 6000, "exit_status": 1, "port": 22}))
        assert len(line) <= PIPE_BUF
        assert json.loads(line)["ssh"]["stdout"].startswith("ooo")

    def test_several_long_values_are_each_cut_and_every_key_kept(self) -> None:
        """Four 5,000-character values: each is cut (its start kept), the record keeps every key of every
        section (status, exit status, the check's numbers), and the line stays under 4096 bytes."""
        long = {name: name[0] * 5000 for name in ("stdout", "message", "name", "unit")}
        original = record(
            ssh={"stdout": long["stdout"], "exit_status": 2, "port": 22},
            error={"kind": "assertion", "message": long["message"]},
            check={"name": long["name"], "value": 97.5, "unit": long["unit"], "warn": 80, "crit": 90},
        )
        line = dumps(original)
        parsed = json.loads(line)
        assert len(line) <= PIPE_BUF
        for section in ("ssh", "error", "check"):
            assert parsed[section].keys() == original[section].keys()  # type: ignore[attr-defined]
        assert parsed["ssh"]["exit_status"] == 2 and parsed["check"]["value"] == 97.5
        assert parsed["error"]["kind"] == "assertion"
        cut = [parsed["ssh"]["stdout"], parsed["error"]["message"], parsed["check"]["name"]]
        cut.append(parsed["check"]["unit"])
        for value, name in zip(cut, ("stdout", "message", "name", "unit"), strict=True):
            assert 0 < len(value) < 5000 and value.rstrip("…").strip(name[0]) == ""


class TestQueueBound:
    def test_a_producer_that_never_waits_is_blocked_at_twice_the_bound(self) -> None:
        """A reader that reads nothing: a producer writing 1,000 lines through a 64-line queue is held
        once 128 lines are queued (memory stays bounded); when the reader starts, every line arrives,
        in order."""
        read_fd, write_fd = os.pipe()
        fcntl.fcntl(read_fd, fcntl.F_SETPIPE_SZ, PIPE_BUF)  # holds ~20 of these lines
        sink = BackgroundJsonlSink(write_fd, "run", max_lines=64)
        sink.writer.start()
        written: list[int] = []

        def produce() -> None:
            for index in range(1000):
                sink.write({"event": "probe", "index": index, "pad": "z" * 150})
                written.append(index)

        producer = threading.Thread(target=produce, daemon=True)
        producer.start()
        time.sleep(0.5)
        assert producer.is_alive() and len(written) < 128 + 30  # queue + the pipe's page
        assert sink.writer.queued <= 128 and sink.writer.peak <= 128
        lines: list[bytes] = []
        with os.fdopen(read_fd, "rb") as stream:
            reader = threading.Thread(target=lambda: lines.extend(stream))
            reader.start()
            producer.join(30)
            sink.close()
            os.close(write_fd)
            reader.join(30)
        assert [json.loads(line)["index"] for line in lines] == list(range(1000))
        assert sink.writer.peak <= 128

    def test_full_and_room_follow_the_queue(self) -> None:
        """full() is true from `limit` queued items on and false again once the thread wrote them."""
        read_fd, write_fd = os.pipe()
        writer = ThreadWriter(write_fd, limit=3)
        for _ in range(3):
            writer.put(b"x\n")
        assert writer.full()
        writer.start()
        writer.close()
        assert not writer.full() and writer.queued == 0 and os.read(read_fd, 100) == b"x\n" * 3
        os.close(read_fd)
        os.close(write_fd)
