"""Diagnostics from several processes sharing stderr stay whole lines (as under --workers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import cli_env

WRITERS = 4
LINES = 300

_CHILD = textwrap.dedent(
    """
    import os, sys
    from prober import logs
    logs.configure()
    log = logs.get()
    for index in range(LINES):
        log.info("probes starting", writer=os.getpid(), index=index, pad="x" * 1500)
    """
).replace("LINES", str(LINES))


class TestDiagnosticLines:
    def test_processes_sharing_stderr_never_glue_lines(self) -> None:
        """Four processes logging 300 lines of ~1.6 KB each to one pipe: every line is one JSON object."""
        # One shared pipe for all writers: the parent reads it while they write.
        read_fd, write_fd = os.pipe()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _CHILD], stdout=subprocess.DEVNULL, stderr=write_fd, env=cli_env()
            )
            for _ in range(WRITERS)
        ]
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()
        for proc in procs:
            proc.wait()
        lines = data.decode().splitlines()
        assert len(lines) == WRITERS * LINES
        for line in lines:
            assert json.loads(line)["event"] == "probes starting"
