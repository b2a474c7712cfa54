"""Executable dynamic inventories: `SCRIPT --list` prints JSON groups and `_meta.hostvars`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from typing import IO, Any

from prober import redact
from prober.inventory.sources._ansible.data import Builder
from prober.inventory.sources._ansible.errors import SourceError, Where, fail
from prober.inventory.sources._ansible.loadfile import MAX_BYTES, json_hook
from prober.inventory.sources._ansible.model import UnsafeText

_STDERR_SHOWN = 200  # characters of the script's last stderr line shown in an error


class NotAProgram(SourceError):
    """The file is executable but no program (an INI file with the x bit): other readers decide."""


def run_script(builder: Builder, path: str, timeout: float) -> None:
    """Run path --list (and --host NAME for each host when there is no _meta) within timeout seconds."""
    deadline = time.monotonic() + timeout
    data = _json(path, ["--list"], deadline, timeout)
    if not isinstance(data, dict):
        raise fail(Where(path), f"{path} --list must print a JSON object, got {type(data).__name__}")
    hostvars = _meta_hostvars(path, data)
    seen: dict[str, None] = {}
    for group, body in data.items():
        if group != "_meta":
            _group(builder, path, group, body, seen)
    for host in seen:
        got = _json(path, ["--host", host], deadline, timeout) if hostvars is None else hostvars.get(host, {})
        if not isinstance(got, dict):
            raise fail(
                Where(path, None, f"_meta.hostvars.{host}"), f"the vars of host {host!r} must be an object"
            )
        for key, value in got.items():
            builder.set_var(host, key, value, Where(path, None, f"_meta.hostvars.{host}.{key}"))


def _meta_hostvars(path: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if "_meta" not in data:
        return None  # old-style script: Ansible asks `--host NAME` for each host
    meta = data["_meta"]
    hostvars = meta.get("hostvars") if isinstance(meta, dict) else None
    if not isinstance(hostvars, dict):
        raise fail(Where(path, None, "_meta.hostvars"), "must be an object of host name → vars")
    return hostvars


def _group(builder: Builder, path: str, group: str, body: Any, seen: dict[str, None]) -> None:
    where = Where(path, None, group)
    builder.add_group(group, where)
    if not isinstance(body, dict):
        body = {"hosts": body}  # a bare list of hosts
    elif not any(key in body for key in ("hosts", "vars", "children")):
        # Ansible's reading of a group with none of them: a host of that name, whose vars it never templates
        body = {"hosts": [group], "vars": _untrusted(body)}
    if "hosts" in body:
        if not isinstance(body["hosts"], list):
            raise fail(where, f"{group}.hosts must be a list of host names", f"{group}.hosts")
        for host in body["hosts"]:
            builder.add_host(host, group, None, where)
            seen[host] = None
    if "vars" in body:
        if not isinstance(body["vars"], dict):
            raise fail(where, f"{group}.vars must be an object", f"{group}.vars")
        for key, value in body["vars"].items():
            builder.set_var(group, key, value, Where(path, None, f"{group}.vars.{key}"))
    children = body.get("children", [])
    if not isinstance(children, list | dict | str):
        raise fail(where, f"{group}.children must be a list of group names", f"{group}.children")
    for child in children:
        builder.add_child(group, builder.add_group(child, where), where)


def _untrusted(value: Any) -> Any:
    """Every string in value made UnsafeText (keys stay as they are)."""
    if isinstance(value, str):
        return UnsafeText(value)
    if isinstance(value, dict):
        return {key: _untrusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_untrusted(item) for item in value]
    return value


def _json(path: str, args: list[str], deadline: float, timeout: float) -> Any:
    command = f"{path} {' '.join(args)}"
    out = _run(path, args, deadline, timeout)
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        raise fail(Where(path), f"`{command}` printed output that is not UTF-8") from None
    if args[0] == "--host" and not text.strip():
        return {}
    try:
        return json.loads(text, object_hook=json_hook(path))
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            detail = f"{exc.msg} (line {exc.lineno}, column {exc.colno} of its output)"
        else:
            detail = str(exc)
        raise fail(Where(path), f"`{command}` did not print valid JSON: {detail}") from None
    except RecursionError:
        raise fail(Where(path), f"`{command}` printed JSON nested too deep") from None


def _run(path: str, args: list[str], deadline: float, timeout: float) -> bytes:
    """The script's stdout; SourceError if it cannot start, times out, fails or prints too much."""
    command = f"{path} {' '.join(args)}"
    # Files, not pipes: no pipe-buffer deadlock, and a grandchild keeping a pipe open cannot hang us.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(
                [os.path.abspath(path), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group: a timeout kills its children too
            )
        except OSError as exc:
            raise NotAProgram(
                [Where(path).problem(f"cannot run `{command}`: {exc.strerror or exc}")]
            ) from None
        try:
            code = process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(process)
            raise fail(
                Where(path), f"`{command}` did not finish within {timeout:g} s; it was killed"
            ) from None
        if code != 0:
            status = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            raise SourceError([Where(path).problem(f"`{command}` {status}{_stderr_tail(err)}")])
        if out.tell() > MAX_BYTES:
            raise fail(Where(path), f"`{command}` printed over {MAX_BYTES >> 20} MiB")
        out.seek(0)
        return out.read()


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the script and whatever it started (its process group), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def _stderr_tail(err: IO[bytes]) -> str:
    """': <last stderr line>', shortened, URL passwords hidden; '' if it printed nothing."""
    err.seek(max(0, err.tell() - 4096))
    lines = [line.strip() for line in err.read().decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        return ""
    last = " ".join(redact.url(word) if "://" in word else word for word in lines[-1].split())
    return f": {last[:_STDERR_SHOWN]}{'…' if len(last) > _STDERR_SHOWN else ''}"
