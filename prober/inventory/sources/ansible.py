"""Read an Ansible inventory as Ansible does: INI, YAML, directories, dynamic scripts; select by patterns.

    inventory = load_ansible("inventories/prod/")    # InventoryError (file:line: key: message) on bad input
    inventory.hosts["web01"].address, .port, .user, .key_file, .vars
    select_hosts(inventory, "web:&prod:!web03")      # Ansible's host patterns (--limit)

The result equals `ansible-inventory -i SOURCE --list` (ansible-core 2.19, default configuration); the
tests compare the two. Where prober is stricter, it says so with an error instead of skipping: a source that
no reader accepts, vault-encrypted data, and connection settings that are Jinja2 templates."""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Sequence

from prober.errors import InventoryError, Problem
from prober.inventory.sources._ansible.build import build
from prober.inventory.sources._ansible.data import Builder
from prober.inventory.sources._ansible.errors import SourceError, Where, fail
from prober.inventory.sources._ansible.ini import parse_ini
from prober.inventory.sources._ansible.loadfile import load_data, read_text
from prober.inventory.sources._ansible.model import (
    AnsibleGroup,
    AnsibleHost,
    AnsibleInventory,
    FrozenDict,
    UnsafeText,
)
from prober.inventory.sources._ansible.patterns import PatternError, select_hosts, split_patterns
from prober.inventory.sources._ansible.script import NotAProgram, run_script
from prober.inventory.sources._ansible.yamlinv import parse_yaml

__all__ = [
    "AnsibleGroup",
    "AnsibleHost",
    "AnsibleInventory",
    "FrozenDict",
    "PatternError",
    "UnsafeText",
    "load_ansible",
    "select_hosts",
    "split_patterns",
]

DEFAULT_TIMEOUT = 30.0  # seconds a dynamic inventory script may run (all its calls together)
# Names Ansible skips in an inventory directory (IGNORED_ALWAYS and the default INVENTORY_IGNORE_EXTS).
_IGNORED = re.compile(
    r"^\.|^host_vars$|^group_vars$|^vars_plugins$"
    r"|(?:\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.cfg|\.retry)$"
)
_YAML_EXTENSIONS = ("", ".yml", ".yaml", ".json")  # Ansible's yaml plugin tries these
_SCRIPT = "as a dynamic inventory script"


def load_ansible(source: str | Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> AnsibleInventory:
    """Read one or more sources (as `-i A -i B`) into one inventory.

    A source is an INI or YAML file, an executable dynamic inventory script, or a directory of those (with
    group_vars/ and host_vars/ beside a file or inside a directory). InventoryError lists every problem."""
    sources = [source] if isinstance(source, str) else list(source)
    builder = Builder()
    # Reading makes ~10 objects per host and no garbage cycles: the cyclic collector's passes over them
    # are wasted (10,000-host INI file: 163 ms of CPU with it, 127 ms without).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in sources:
            _source(builder, path, timeout, top=True)
        return build(builder, sources)
    except SourceError as exc:
        raise InventoryError(exc.problems) from None
    finally:
        if collecting:
            gc.enable()


def _source(
    builder: Builder, path: str, timeout: float, top: bool = False, above: tuple[str, ...] = ()
) -> None:
    if os.path.isdir(path):
        _directory(builder, path, timeout, top, above)
    elif not os.path.exists(path):
        raise fail(Where(path), "no such file or directory")
    else:
        _file(builder, path, timeout)


def _directory(builder: Builder, path: str, timeout: float, top: bool, above: tuple[str, ...]) -> None:
    """Every entry is a source of its own, in name order, except what Ansible ignores."""
    real = os.path.realpath(path)
    if real in above:  # a symlink back up the tree: Ansible would recurse until it crashes
        raise fail(Where(path), f"a symlink loop: this is {real} again, which contains it")
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        raise fail(Where(path), f"cannot list: {exc.strerror or exc}") from None
    entries = [name for name in names if not _IGNORED.search(name)]
    if top and not entries:
        raise fail(
            Where(path), "the directory has no inventory file (only group_vars/, host_vars/ or ignored files)"
        )
    for name in entries:
        _source(builder, os.path.join(path, name), timeout, above=(*above, real))


def _file(builder: Builder, path: str, timeout: float) -> None:
    """Try each reader Ansible tries, in its order: script (if executable), YAML (by extension), INI; the
    first that reads the file wins. If none does, the complaints of the readers the file was meant for."""
    failures: dict[str, SourceError] = {}
    warned = len(builder.warnings)
    ext = os.path.splitext(path)[1]
    ran = False
    if os.access(path, os.X_OK):
        try:
            return run_script(builder, path, timeout)
        except NotAProgram as exc:
            failures[_SCRIPT] = exc
        except SourceError as exc:
            failures[_SCRIPT], ran = exc, True
    if ext == ".toml":
        raise _report(
            failures, "as TOML", fail(Where(path), "TOML inventories are not supported: use INI or YAML")
        )
    yaml_like = False
    if ext in _YAML_EXTENSIONS:
        try:
            return _yaml(builder, path)
        except _NotYamlInventory as exc:
            failures["as YAML"], yaml_like = exc.error, exc.mapping or ext != ""
            del builder.warnings[warned:]  # a reading that failed warns about nothing
    try:
        return parse_ini(builder, path)
    except SourceError as exc:
        del builder.warnings[warned:]
        ini = exc
    if ran:  # a program that ran and failed: what YAML or INI make of its code is noise
        raise failures[_SCRIPT]
    yaml_error = failures.pop("as YAML", None)
    # A .yml file, or one whose YAML was a mapping, was meant as YAML: INI's complaints about it are noise.
    if yaml_like and yaml_error:
        raise _report(failures, "as YAML", yaml_error)
    raise _report(failures, "as INI", ini)


class _NotYamlInventory(Exception):
    def __init__(self, error: SourceError, mapping: bool) -> None:
        self.error, self.mapping = error, mapping


def _report(failures: dict[str, SourceError], label: str, last: SourceError) -> SourceError:
    """One error with every reading's problems, each labelled with its reading when there are several."""
    failures[label] = last
    if len(failures) == 1:
        return last
    return SourceError([_labelled(name, p) for name, exc in failures.items() for p in exc.problems])


def _yaml(builder: Builder, path: str) -> None:
    data: object = None
    try:
        data = load_data(path, read_text(path), builder.warnings)
        parse_yaml(builder, path, data)
    except SourceError as exc:
        raise _NotYamlInventory(exc, isinstance(data, dict)) from None


def _labelled(label: str, problem: Problem) -> Problem:
    return Problem(problem.file, problem.line, problem.key, f"read {label}: {problem.message}")
