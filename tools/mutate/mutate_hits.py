"""pytest plugin for `make mutate`: credit a test with the mutated functions its prober children ran.

mutmut 3 learns which tests reach a function by recording calls in the test process, so code that a
test reaches through `python -m prober` (signals, exit codes, the JSONL stream) would look untested.
During mutmut's stats run, this directory's sitecustomize.py makes every child append the functions it
calls to a file; before mutmut files a test's calls, this hands it what the children wrote meanwhile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

_offsets: dict[Path, int] = {}


@pytest.hookimpl(tryfirst=True)  # before mutmut's own collector files this test's calls
def pytest_runtest_teardown(item: Any, nextitem: Any) -> None:
    directory = os.environ.get("PROBER_MUTATE_HITS")
    if os.environ.get("MUTANT_UNDER_TEST") != "stats" or not directory:
        return
    from mutmut.state import state

    for path in Path(directory).glob("*.hits"):
        data = path.read_bytes()[_offsets.get(path, 0) :]
        complete = data[: data.rfind(b"\n") + 1]  # a child may be mid-write: leave its last line
        _offsets[path] = _offsets.get(path, 0) + len(complete)
        state()._stats.update(complete.decode().split())
