"""Fixtures for the Ansible inventory reader's tests: the ansible-core oracle, JSON normalisation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.inventory.ansible.oracle import HAVE_ANSIBLE, SKIP_REASON, Oracle


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Oracle:
    if not HAVE_ANSIBLE:
        pytest.skip(SKIP_REASON)
    return Oracle(tmp_path_factory.mktemp("ansible-home"))


def as_json(value: Any) -> Any:
    """A value as JSON gives it back (tuples become lists, FrozenDicts dicts), to compare with ansible's."""
    return json.loads(json.dumps(value))


def write(root: Path, files: dict[str, str], executable: tuple[str, ...] = ()) -> Path:
    """Create files under root (dirs as needed); names in executable get mode 0755."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755 if name in executable else 0o644)
    return root
