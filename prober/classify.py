"""Translate any exception raised by a probe into an error kind and a message, in one place."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import sys

from prober.errors import ProbeFailed, SetupError

_REFUSED_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}
_RESET_ERRNOS = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}


def _message(exc: BaseException, fallback: str) -> str:
    text = str(exc).strip() or fallback
    return text[:500]


def _aiohttp_kind(exc: BaseException) -> str | None:
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None:
        return None
    checks: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
        (aiohttp.ClientConnectorDNSError, "dns"),
        ((aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch), "tls"),
        (aiohttp.TooManyRedirects, "protocol"),
        (aiohttp.ServerDisconnectedError, "reset"),
        (aiohttp.ClientConnectorError, ""),  # decided by its OSError below
        ((aiohttp.ClientPayloadError, aiohttp.ClientResponseError, aiohttp.InvalidURL), "protocol"),
    )
    for types, kind in checks:
        if isinstance(exc, types):
            if kind == "" and isinstance(exc, aiohttp.ClientConnectorError):
                return _os_kind(exc.os_error)
            return kind
    return None


def _connector_message(exc: BaseException) -> str | None:
    """aiohttp's connector errors repeat themselves; say it once: 'host:port: reason'."""
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None or not isinstance(exc, aiohttp.ClientConnectorError):
        return None
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"{exc.host}:{exc.port}: certificate verify failed: {exc.certificate_error}"
    reason = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
    return f"{exc.host}:{exc.port}: {reason}"
    return None


def _asyncssh_kind(exc: BaseException) -> str | None:
    asyncssh = sys.modules.get("asyncssh")
    if asyncssh is None or not isinstance(exc, asyncssh.Error):
        return None
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return "host_key"
    if isinstance(exc, asyncssh.PermissionDenied):
        return "auth"
    if isinstance(exc, asyncssh.ConnectionLost):
        return "reset"  # includes sshd dropping the connection at MaxStartups: worth a retry
    if isinstance(exc, asyncssh.ChannelOpenError) and exc.code == asyncssh.OPEN_CONNECT_FAILED:
        return "refused"  # a jump host could not reach the target
    return "protocol"


def _os_kind(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, ConnectionRefusedError) or exc.errno in _REFUSED_ERRNOS:
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError) or exc.errno in _RESET_ERRNOS:
        return "reset"
    if isinstance(exc, TimeoutError) or exc.errno == errno.ETIMEDOUT:
        return "timeout"
    return "protocol"


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, message) for an exception that ended a probe attempt."""
    if isinstance(exc, ProbeFailed | SetupError):
        return exc.kind, exc.message
    if isinstance(exc, TimeoutError):
        return "timeout", "no answer within the probe timeout"
    kind = _aiohttp_kind(exc) or _asyncssh_kind(exc)
    if kind is None and isinstance(exc, OSError):
        kind = _os_kind(exc)
    if kind is None and isinstance(exc, EOFError | asyncio.IncompleteReadError):
        kind = "reset"
    if kind is None:
        return "internal", f"{type(exc).__name__}: {_message(exc, 'unexpected error')}"
    return kind, _connector_message(exc) or _message(exc, type(exc).__name__)
