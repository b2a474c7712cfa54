"""The keys each probe kind accepts, their converters, and the cross-field rules of a probe definition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prober.inventory.fields import (
    Converter,
    boolean,
    choice,
    command,
    duration,
    env_name,
    headers,
    headers_env,
    integer,
    jump_host,
    local_file,
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


def _ssh_combinations(params: dict[str, Any]) -> list[tuple[str, str]]:
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


def _http_combinations(params: dict[str, Any]) -> list[tuple[str, str]]:
    url, out = params.get("url", ""), []
    # Checked per templated job: look for user:password@ in the authority without a full URL parse.
    credentials = "@" in url and "@" in url.partition("//")[2].split("/", 1)[0].split("?", 1)[0]
    if credentials and any(name.lower() == "authorization" for name, _ in params.get("headers", ())):
        message = "a URL with user:password@ and an Authorization header cannot both be sent: keep one"
        out.append(("headers", message))
    if params.get("method") == "HEAD" and "body_regex" in params:
        out.append(("body_regex", "a HEAD response has no body: body_regex could never match"))
    if "cert_min_days" in params and url[:8].lower() != "https://" and not params.get("follow_redirects"):
        out.append(("cert_min_days", "the URL is plain http and redirects are not followed: no certificate"))
    return out


def combination_problems(kind: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """Parameters that can never work together once every layer (probe, group and host overrides) and
    template is applied: (parameter, message) for each; every probe using them would fail alike."""
    if kind == "ssh":
        return _ssh_combinations(params)
    return _http_combinations(params) if kind == "http" else []


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
        "ca_file": local_file,
        "follow_redirects": boolean,
        "max_redirects": integer(0, 50),
        "allow_insecure_redirects": boolean,
        "cert_min_days": number(0, 36500),
    },
    "tcp": {
        "port": port,
        "send": text,
        "send_env": env_name,
        "expect": regex,
        "read_max_bytes": integer(1, 1024 * 1024),
    },
    "ssh": {
        "command": command,
        "port": port,
        "user": text,
        "key": local_file,
        "known_hosts": local_file,
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
