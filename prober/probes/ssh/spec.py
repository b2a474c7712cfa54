"""The SSH probe's spec: its inventory keys, and the combinations of them that can never work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from prober.inventory import fields as f
from prober.model import BaseSpec
from prober.probes.registry import Problems, param

CHECK_NAMES = ("disk", "memory", "load", "process", "systemd", "nagios")


@dataclass(frozen=True, slots=True, kw_only=True)
class SSHSpec(BaseSpec):
    """An SSH login running one command (or a built-in host check), judged by its result."""

    kind: ClassVar[str] = "ssh"
    command: str | None = param(f.command, None, templated=True)
    port: int = param(f.port, 22, templated=True, rendered=f.port)
    user: str | None = param(f.text, None, templated=True)
    key: str | None = param(f.local_file, None)
    known_hosts: str | None = param(f.local_file, "~/.ssh/known_hosts")
    password_env: str | None = param(f.env_name, None)
    passphrase_env: str | None = param(f.env_name, None)
    agent: bool = param(f.boolean, True)
    insecure_ignore_host_key: bool = param(f.boolean, False)
    expect_exit: int = param(f.integer(-1, 255), 0)
    stdout_regex: str | None = param(f.regex, None)
    stdout_max_bytes: int = param(f.integer(0, 16 * 1024 * 1024), 65536)
    # Connection: a bastion ("user@host:port"), ~/.ssh/config, timeouts inside the probe's deadline.
    jump: str | None = param(f.jump_host, None, templated=True, rendered=f.rendered_jump_host)
    ssh_config: bool = param(f.boolean, False)
    connect_timeout: float | None = param(f.duration, None)  # TCP connect; None: the probe timeout
    login_timeout: float | None = param(f.duration, None)  # handshake and auth; None: the probe timeout
    per_host_concurrency: int = param(f.integer(1, 64), 1)  # connections per host shared by its probes
    ssh_rate: float | None = param(f.rate, None)  # new handshakes per second across the sweep
    # Built-in host checks: check is one of CHECK_NAMES.
    check: str | None = param(f.choice(*CHECK_NAMES), None)
    path: str = param(f.text, "/", templated=True)
    inodes: bool = param(f.boolean, False)
    warn: float | None = param(f.number(0, 1e12), None)
    crit: float | None = param(f.number(0, 1e12), None)
    per_cpu: bool = param(f.boolean, False)
    # The inventory spells it `name` (`{check: process, name: nginx}`); `name` is the probe's own name.
    process: str | None = param(f.text, None, templated=True, alias="name")
    min: int = param(f.integer(0, 1_000_000), 1)
    max: int | None = param(f.integer(0, 1_000_000), None)
    unit: str | None = param(f.text, None, templated=True)


def cross_checks(params: Mapping[str, Any]) -> Problems:
    """Cross-field checks of one SSH probe definition."""
    check = params.get("check")
    problems = []
    if check is None and "command" not in params:
        problems.append(("command", "an ssh probe needs 'command' or 'check'"))
    if check == "nagios" and "command" not in params:
        problems.append(("command", "check: nagios needs the plugin 'command'"))
    if check == "process" and "process" not in params:
        problems.append(("process", "check: process needs 'name' (the process name)"))
    if check == "systemd" and "unit" not in params:
        problems.append(("unit", "check: systemd needs 'unit'"))
    if check not in (None, "nagios") and "command" in params:
        problems.append(("command", f"check: {check} runs its own command; remove 'command'"))
    warn, crit = params.get("warn"), params.get("crit")
    if warn is not None and crit is not None and warn > crit:
        problems.append(("warn", f"warn ({warn}) must not be above crit ({crit})"))
    return problems


# Keys only a built-in check reads (the others would silently ignore them), keyed as written.
_CHECK_KEYS = {
    "path": ("disk",),
    "inodes": ("disk",),
    "warn": ("disk", "memory", "load"),
    "crit": ("disk", "memory", "load"),
    "per_cpu": ("load",),
    "process": ("process",),
    "min": ("process",),
    "max": ("process",),
    "unit": ("systemd",),
}
_COMMAND_KEYS = ("expect_exit", "stdout_regex")  # a check judges its own result instead


def combinations(params: Mapping[str, Any]) -> Problems:
    """Parameters that can never work together once every override layer and template is applied."""
    check, out = params.get("check"), []
    for key, checks in _CHECK_KEYS.items():
        if key in params and check not in checks:
            spelled = "name" if key == "process" else key
            using = " or ".join(f"check: {c}" for c in checks)
            out.append((key, f"'{spelled}' is only used by {using}, so it would be ignored here"))
    for key in [k for k in _COMMAND_KEYS if k in params] if check is not None else ():
        out.append((key, f"check: {check} judges its own result; '{key}' is only used with a command"))
    low, high = params.get("min"), params.get("max")
    if low is not None and high is not None and low > high:
        out.append(("min", f"min ({low}) is above max ({high}): the check could never pass"))
    return out
