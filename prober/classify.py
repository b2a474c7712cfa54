"""Translate any exception raised by a probe into an error kind and a short message, in one place."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import socket
import ssl
import sys

from prober import redact
from prober.errors import ProbeFailed, SetupError

_REFUSED_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}
_RESET_ERRNOS = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}
_RESET_TYPES = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
_MESSAGE_MAX = 300
_RAW_BYTES = re.compile(r"""\s*:?\s*b['"].*$""")  # parser errors quote the raw bytes they choked on
_INNER_MESSAGE = re.compile(r"""message=(['"])(.*?)\1""")
# What an OSError raised without errno or text (asyncio's TLS layer does this) means.
_SILENT_OS_ERRORS: dict[type[BaseException], str] = {
    ConnectionResetError: "connection closed by the peer",
    ConnectionAbortedError: "connection aborted",
    BrokenPipeError: "connection closed by the peer while sending",
}
_ERRNO = re.compile(r"\[Errno (-?\d+)\] ?")


def _message(exc: BaseException, fallback: str) -> str:
    text = str(exc).strip() or fallback
    return text[:_MESSAGE_MAX]


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
        # prober follows redirects itself (probes/redirects.py); these stay classified all the same.
        ((aiohttp.RedirectClientError, aiohttp.NonHttpUrlClientError), "protocol"),
    )
    for types, kind in checks:
        if isinstance(exc, types):
            if kind == "" and isinstance(exc, aiohttp.ClientConnectorError):
                return _os_kind(exc.os_error)
            return kind
    return None


def _one_line(text: str) -> str:
    """aiohttp parser messages span lines and quote raw bytes: keep the first sentence."""
    text = _RAW_BYTES.sub("", " ".join(text.split()))
    return text.rstrip(":. ") or "malformed"


def _aiohttp_message(exc: BaseException) -> str | None:
    """aiohttp's messages repeat themselves or dump reprs; say it once and plainly."""
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None or not isinstance(exc, aiohttp.ClientError):
        return None
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"{exc.host}:{exc.port}: {_os_reason(exc.certificate_error)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"{exc.host}:{exc.port}: {_os_reason(exc.os_error)}"
    if isinstance(exc, aiohttp.InvalidURL):  # its text is the URL itself: hide a password in it
        reason = f": {exc.description}" if getattr(exc, "description", None) else ""
        return f"invalid URL {redact.url(str(exc.url))}{reason}"
    if isinstance(exc, aiohttp.RedirectClientError | aiohttp.NonHttpUrlClientError):
        url = exc.args[0] if exc.args else ""  # these carry the refused URL as their only text
        return f"refused URL (only http and https are requested): {redact.url(str(url))}"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return f"too many redirects: gave up after {len(exc.history)} (max_redirects)"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"invalid HTTP response: {_one_line(exc.message)}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        inner = _INNER_MESSAGE.search(str(exc))
        return f"invalid response body: {_one_line(inner.group(2) if inner else str(exc))}"
    if isinstance(exc, aiohttp.ClientConnectionResetError) and "closing transport" in str(exc):
        # aiohttp could not send the request: the server hung up, or spoke first (an SSH or SMTP
        # banner) and the response parser already gave up on the connection (seen on uvloop).
        return "connection closed before the request was sent (the server hung up or spoke first)"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without a complete response"
    if isinstance(exc, OSError):
        return _os_reason(exc)
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


def _shared_errno(exc: OSError) -> int | None:
    """asyncio (3.11) folds failed connects to several addresses of one name into a bare
    OSError('Multiple exceptions: [Errno 111] ..., [Errno 111] ...'): recover the errno they share."""
    if exc.errno is not None:
        return exc.errno
    text = str(exc)
    if not text.startswith("Multiple exceptions"):
        return None
    codes = {int(code) for code in _ERRNO.findall(text)}
    return codes.pop() if len(codes) == 1 else None


def _os_kind(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    code = _shared_errno(exc)
    if isinstance(exc, ConnectionRefusedError) or code in _REFUSED_ERRNOS:
        return "refused"
    # Aborted like reset: the same connection lost, and ECONNABORTED is already reset (retried).
    if isinstance(exc, _RESET_TYPES) or code in _RESET_ERRNOS:
        return "reset"
    if isinstance(exc, TimeoutError) or code == errno.ETIMEDOUT:
        return "timeout"
    return "protocol"


def _os_reason(exc: BaseException) -> str:
    """The reason of an OSError without errno numbers, C file names or asyncio's address tuples."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message or getattr(exc, 'reason', None) or exc}"
    if isinstance(exc, ssl.CertificateError):
        return f"certificate verify failed: {exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {getattr(exc, 'reason', None) or exc.strerror or type(exc).__name__}"
    if isinstance(exc, OSError):
        if isinstance(exc, socket.gaierror):
            return f"name resolution failed: {exc.strerror or exc}"
        if exc.errno and exc.errno > 0:
            return os.strerror(exc.errno)  # asyncio's strerror is "Connect call failed ('1.2.3.4', 80)"
        code = _shared_errno(exc)
        if code is not None and code > 0:
            return f"{os.strerror(code)} (every address)"
        text = _ERRNO.sub("", exc.strerror or str(exc))
        return text or _SILENT_OS_ERRORS.get(type(exc), type(exc).__name__)
    return str(exc) or type(exc).__name__


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
        if isinstance(exc, asyncio.IncompleteReadError):
            return kind, "the connection closed before the expected data arrived"
    if kind is None:
        return "internal", f"{type(exc).__name__}: {_message(exc, 'unexpected error')}"
    message = _aiohttp_message(exc)
    if message is None and isinstance(exc, OSError) and _asyncssh_kind(exc) is None:
        message = _os_reason(exc)
    return kind, (message or _message(exc, type(exc).__name__))[:_MESSAGE_MAX]
