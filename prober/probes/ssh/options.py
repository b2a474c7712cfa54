"""Build asyncssh client options once per distinct SSH spec: keys, known_hosts and secrets preloaded."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from typing import Any

import asyncssh

from prober.errors import SetupError
from prober.probes.ssh.spec import SSHSpec

# asyncssh's default puts chacha20-poly1305 first, which builds a new cipher context for every
# packet; AES-GCM (hardware-accelerated, one context per key) costs less client CPU. All
# defaults stay accepted, only the preference changes.
CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
)


def cache_key(spec: SSHSpec) -> tuple[Any, ...]:
    """Specs with equal keys get the same options object (timeouts are enforced by the caller)."""
    return (
        spec.user,
        spec.key,
        spec.known_hosts,
        spec.password_env,
        spec.passphrase_env,
        spec.agent,
        spec.insecure_ignore_host_key,
        spec.ssh_config,
    )


def _secret(env: str | None, what: str) -> str | None:
    """The value of a password variable (prober.masking reads it too, to mask it in records)."""
    if env is None:
        return None
    value = os.environ.get(env)
    if value is None:
        raise SetupError("auth", f"{what} environment variable {env} is not set")
    return value


def _client_keys(spec: SSHSpec, passphrase: str | None) -> list[Any] | None:
    if spec.key is None:
        return None
    path = os.path.expanduser(spec.key)
    try:
        return [asyncssh.read_private_key(path, passphrase)]
    except FileNotFoundError:
        raise SetupError("auth", f"key file not found: {spec.key}") from None
    except (OSError, asyncssh.KeyImportError, ValueError) as exc:
        # Never echo the exception text: it may quote the file it failed to parse.
        raise SetupError("auth", f"cannot load key {spec.key}: {type(exc).__name__}") from None


def user_config_paths() -> list[str]:
    """~/.ssh/config, for specs with ssh_config: true (asyncssh skips a missing file)."""
    path = os.path.expanduser("~/.ssh/config")
    return [path] if os.path.exists(path) else []


UNKNOWN_USER = "root"  # the local login name when the uid has none (and the remote default then)


def _local_user() -> str:
    """The local login name. asyncssh asks getpass.getuser() for it on every connection and refuses
    to connect without one (ValueError), which a uid with no /etc/passwd entry and no $LOGNAME or
    $USER hits: a container run as an arbitrary uid (OpenShift, `runAsUser`) would record every SSH
    probe as `internal`. Then $LOGNAME is set, once, for this process (asyncssh's own advice)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        os.environ["LOGNAME"] = UNKNOWN_USER
        return UNKNOWN_USER


def build(spec: SSHSpec, known_hosts: Callable[[], Any]) -> asyncssh.SSHClientConnectionOptions:
    """Options with everything preloaded, so each connection does no file I/O; `known_hosts()`
    gives the prepared known_hosts (sshprep) or None, or raises SetupError."""
    local_user = _local_user()  # first: asyncssh needs one, for these options and each connection
    password = _secret(spec.password_env, "password")
    passphrase = _secret(spec.passphrase_env, "key passphrase")
    keys = _client_keys(spec, passphrase)
    agent_path = os.environ.get("SSH_AUTH_SOCK") if spec.agent else None
    if keys is None and agent_path and spec.agent:
        keys = []  # asyncssh disables the agent when client_keys is None
    extra: dict[str, Any] = {}
    if spec.user or not spec.ssh_config:  # with ssh_config, an unset user comes from its User line
        extra["username"] = spec.user or local_user
    if keys is not None or not spec.ssh_config:  # with ssh_config and no key: its IdentityFile lines
        extra["client_keys"] = keys
    return asyncssh.SSHClientConnectionOptions(
        **extra,
        known_hosts=known_hosts(),
        password=password,
        agent_path=agent_path,
        config=None,  # ~/.ssh/config only with ssh_config: true, evaluated per target (sshprep)
        ignore_encrypted=True,
        encryption_algs=CIPHERS,
        x509_trusted_certs=None,
        x509_trusted_cert_paths=None,
    )
