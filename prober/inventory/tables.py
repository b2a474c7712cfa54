"""The keys each probe kind accepts, their converters, and the cross-field rules of a probe definition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prober.inventory.fields import (
    Converter,
    boolean,
    byte_regex,
    choice,
    command,
    duration,
    env_name,
    headers,
    headers_env,
    integer,
    jump_host,
    method,
    names,
    number,
    port,
    rate,
    regex,
    status_ranges,
    text,
    url,
)


def ssh_problems(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Cross-field checks of an SSH probe definition: (key, message) for each problem."""
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


def http_problems(params: dict[str, Any]) -> list[tuple[str, str]]:
    """A header set twice (literally and from the environment) would leave which one is sent unclear."""
    literal = {name.lower() for name, _ in params.get("headers", ())}
    twice = [name for name, _ in params.get("headers_env", ()) if name.lower() in literal]
    if twice:
        return [("headers_env", f"header {twice[0]!r} is also set in 'headers': give it once")]
    return []


def tcp_problems(params: dict[str, Any]) -> list[tuple[str, str]]:
    if "send" in params and "send_env" in params:
        return [("send_env", "give either 'send' or 'send_env'")]
    return []


# Cross-field validators per kind, run by the loader on a probe definition.
CROSS_CHECKS: dict[str, Callable[[dict[str, Any]], list[tuple[str, str]]]] = {
    "ssh": ssh_problems,
    "http": http_problems,
    "tcp": tcp_problems,
}


COMMON_FIELDS: dict[str, Converter] = {
    "timeout": duration,
    "retries": integer(0, 10),
    "latency_warn": duration,
}

KIND_FIELDS: dict[str, dict[str, Converter]] = {
    "http": {
        "url": url,
        "method": method,
        "headers": headers,
        "headers_env": headers_env,
        "safe_headers": names,
        "safe_query": names,
        "expect_status": status_ranges,
        "body_regex": regex,
        "body_max_bytes": integer(0, 16 * 1024 * 1024),
        "verify_tls": boolean,
        "ca_file": text,
        "follow_redirects": boolean,
        "max_redirects": integer(0, 50),
        "allow_insecure_redirects": boolean,
        "cert_min_days": number(0, 36500),
    },
    "tcp": {
        "port": port,
        "send": text,
        "send_env": env_name,
        "expect": byte_regex,
        "read_max_bytes": integer(1, 1024 * 1024),
    },
    "ssh": {
        "command": command,
        "port": port,
        "user": text,
        "key": text,
        "known_hosts": text,
        "password_env": env_name,
        "passphrase_env": env_name,
        "agent": boolean,
        "insecure_ignore_host_key": boolean,
        "expect_exit": integer(-1, 255),
        "stdout_regex": regex,
        "stdout_max_bytes": integer(0, 16 * 1024 * 1024),
        "jump": jump_host,
        "ssh_config": boolean,
        "connect_timeout": duration,
        "login_timeout": duration,
        "per_host_concurrency": integer(1, 64),
        "ssh_rate": rate,
        "check": choice("disk", "memory", "load", "process", "systemd", "nagios"),
        "path": text,
        "inodes": boolean,
        "warn": number(0, 1e12),
        "crit": number(0, 1e12),
        "per_cpu": boolean,
        "process": text,
        "min": integer(0, 1_000_000),
        "max": integer(0, 1_000_000),
        "unit": text,
    },
}

# Inventory spellings stored under another spec field: `name` is taken by the probe's own name,
# so the issue's `{check: process, name: nginx}` lands in SSHSpec.process.
ALIASES: dict[str, dict[str, str]] = {"ssh": {"name": "process"}}

REQUIRED: dict[str, tuple[str, ...]] = {"http": ("url",), "tcp": ("port",), "ssh": ()}
# Fields that may contain {host}, {address}, {group} and vars; all others are taken literally.
TEMPLATED: frozenset[str] = frozenset(
    {"url", "port", "command", "send", "user", "jump", "path", "process", "unit"}
)
