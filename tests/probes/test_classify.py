"""classify(): foreign exceptions → (kind, short message), for errors a loopback test cannot provoke."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from prober.classify import classify
from prober.errors import ProbeFailed, SetupError
from prober.model import ERROR_KINDS
from prober.probes.http.spec import HTTPSpec
from prober.runtime.resources import Resources
from tests.probes.conftest import run_probe

TLS_KEY = ConnectionKey("web", 443, True, True, None, None, None, None)
KEY = ConnectionKey("web", 80, False, True, None, None, None, None)
BARE_CERT_ERROR = ssl.SSLCertVerificationError(1, "x")  # no verify_message: its reason is said
BARE_CERT_ERROR.verify_message, BARE_CERT_ERROR.reason = "", "X"


class TestClassify:
    @pytest.mark.parametrize(
        ("exc", "kind", "message"),
        [
            (
                socket.gaierror(-2, "Name or service not known"),
                "dns",
                "name resolution failed: Name or service not known",
            ),
            (
                ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9)"),
                "refused",
                "Connection refused",
            ),
            (OSError(errno.EHOSTUNREACH, "Connect call failed"), "refused", "No route to host"),
            (ConnectionResetError(104, "Connection reset by peer"), "reset", "Connection reset by peer"),
            (BrokenPipeError(32, "Broken pipe"), "reset", "Broken pipe"),
            (TimeoutError(), "timeout", "no answer within the probe timeout"),
            # The kernel's connect timeout, wrapped: by aiohttp, or folded by asyncio over addresses.
            (
                aiohttp.ClientConnectorError(
                    ConnectionKey("web", 80, False, True, None, None, None, None),
                    TimeoutError(errno.ETIMEDOUT, "Connect call failed ('10.0.0.5', 80)"),
                ),
                "timeout",
                "web:80: Connection timed out",
            ),
            # A socket timeout (no errno) wrapped by aiohttp is a timeout too, not a protocol error.
            (
                aiohttp.ClientConnectorError(
                    ConnectionKey("web", 80, False, True, None, None, None, None), TimeoutError("timed out")
                ),
                "timeout",
                "web:80: timed out",
            ),
            (
                OSError(
                    "Multiple exceptions: [Errno 110] Connect call failed ('::1', 80, 0, 0), "
                    "[Errno 110] Connect call failed ('127.0.0.1', 80)"
                ),
                "timeout",
                "Connection timed out (every address)",
            ),
            (
                OSError(
                    "Multiple exceptions: [Errno 111] Connect call failed ('::1', 80, 0, 0), "
                    "[Errno 111] Connect call failed ('127.0.0.1', 80)"
                ),
                "refused",
                "Connection refused (every address)",
            ),
            (
                OSError("Multiple exceptions: [Errno 111] a, [Errno 99] b"),
                "protocol",
                "Multiple exceptions: a, b",
            ),
            (
                asyncio.IncompleteReadError(b"ab", 10),
                "reset",
                "the connection closed before the expected data arrived",
            ),
            (EOFError(), "reset", "EOFError"),
            (
                ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
                "tls",
                "TLS error: [SSL: WRONG_VERSION_NUMBER] wrong version number",
            ),
            (
                aiohttp.ServerDisconnectedError(),
                "reset",
                "the server closed the connection without a complete response",
            ),
            (
                aiohttp.ClientPayloadError(
                    "Response payload is not completed: <ContentLengthError: 400, "
                    "message='Not enough data to satisfy content length header.'>"
                ),
                "protocol",
                "invalid response body: Not enough data to satisfy content length header",
            ),
            # aiohttp's parser messages: one line, the raw bytes it quotes dropped, no trailing ':' or '.'.
            (
                aiohttp.ClientResponseError(
                    None,
                    (),
                    status=400,
                    message="Expected HTTP/, RTSP/ or ICE/:\n\n  b'SSH-2.0-OpenSSH_9.6'\n    ^",
                ),
                "protocol",
                "invalid HTTP response: Expected HTTP/, RTSP/ or ICE/",
            ),
            (
                aiohttp.ClientResponseError(None, (), status=400, message="Invalid header token X"),
                "protocol",
                "invalid HTTP response: Invalid header token X",
            ),
            (
                aiohttp.ClientResponseError(None, (), status=400, message="b'\\x00\\x01'"),
                "protocol",
                "invalid HTTP response: malformed",
            ),
            (ssl.SSLError(), "tls", "TLS error: SSLError"),  # asyncio's TLS layer raises it bare
            # OSErrors without a usable errno or text: named plainly, never "[Errno 0]" or an empty text.
            (PermissionError(1, "x"), "protocol", "Operation not permitted"),
            (
                OSError("Multiple exceptions: [Errno 1] a, [Errno 1] b"),
                "protocol",
                "Operation not permitted (every address)",
            ),
            (
                OSError("Multiple exceptions: [Errno 0] a, [Errno 0] b"),
                "protocol",
                "Multiple exceptions: a, b",
            ),
            (ConnectionResetError(), "reset", "connection closed by the peer"),
            (BrokenPipeError(), "reset", "connection closed by the peer while sending"),
            (ConnectionAbortedError(), "reset", "connection aborted"),  # as with errno ECONNABORTED
            (ConnectionRefusedError(), "refused", "ConnectionRefusedError"),
            (
                aiohttp.ClientConnectorCertificateError(TLS_KEY, ValueError("bad cert")),
                "tls",
                "web:443: bad cert",
            ),
            (aiohttp.ClientConnectorCertificateError(TLS_KEY, ValueError()), "tls", "web:443: ValueError"),
            (aiohttp.InvalidURL("http://h:bad/"), "protocol", "invalid URL http://h:bad/"),
            (
                aiohttp.ClientConnectorDNSError(KEY, socket.gaierror(-2, "Name or service not known")),
                "dns",
                "web:80: name resolution failed: Name or service not known",
            ),
            (
                aiohttp.TooManyRedirects(None, (1, 2, 3)),
                "protocol",
                "too many redirects: gave up after 3 (max_redirects)",
            ),
            # Other resets aiohttp reports keep their own words.
            (
                aiohttp.ClientConnectionResetError("Connection reset by peer"),
                "reset",
                "Connection reset by peer",
            ),
            (aiohttp.ClientOSError(104, "Connection reset by peer"), "reset", "Connection reset by peer"),
            (
                aiohttp.ClientConnectionResetError("Cannot write to closing transport"),
                "reset",
                "connection closed before the request was sent (the server hung up or spoke first)",
            ),
            (
                aiohttp.ClientConnectorError(KEY, ConnectionRefusedError()),
                "refused",
                "web:80: ConnectionRefusedError",
            ),
            (
                aiohttp.ClientPayloadError("Response payload is not completed"),
                "protocol",
                "invalid response body: Response payload is not completed",
            ),
            (
                aiohttp.ClientConnectorCertificateError(KEY, BARE_CERT_ERROR),
                "tls",
                "web:80: certificate verify failed: X",
            ),
            (
                aiohttp.NonHttpUrlClientError(),
                "protocol",
                "refused URL (only http and https are requested): ",
            ),
            (ValueError("boom"), "internal", "ValueError: boom"),
            (ProbeFailed("assertion", "exit status 3, expected 0"), "assertion", "exit status 3, expected 0"),
            (SetupError("auth", "key file not found: ~/.ssh/x"), "auth", "key file not found: ~/.ssh/x"),
        ],
    )
    def test_kind_and_message(self, exc: BaseException, kind: str, message: str) -> None:
        """Each exception maps to its documented kind and a plain message."""
        got_kind, got_message = classify(exc)
        assert got_kind == kind and got_kind in ERROR_KINDS
        assert got_message == message
        assert "Errno" not in got_message and "_ssl.c" not in got_message

    def test_invalid_url_message_hides_the_password(self) -> None:
        """aiohttp's InvalidURL text is the URL; its password never reaches the message."""
        kind, message = classify(aiohttp.InvalidURL("http://deploy:s3cret-pw@web01.test:8080/x", "bad host"))
        assert kind == "protocol" and "s3cret-pw" not in message
        assert message == "invalid URL http://<redacted>:<redacted>@web01.test:8080/x: bad host"

    def test_messages_are_capped(self) -> None:
        """A foreign exception's 1 MB message is cut to 300 characters after its type; a known kind's
        message to 300 in all."""
        assert classify(RuntimeError("x" * 1_000_000)) == ("internal", "RuntimeError: " + "x" * 300)
        assert classify(ConnectionResetError("y" * 1_000)) == ("reset", "y" * 300)
        assert classify(RuntimeError("  ")) == ("internal", "RuntimeError: unexpected error")


class TestSetupErrors:
    async def test_missing_ca_file_is_tls(self, resources: Resources) -> None:
        """A ca_file that does not exist fails the probe with kind tls naming the file, without a request."""
        probe_spec = HTTPSpec(
            name="web", url="https://127.0.0.1:9/", ca_file="/nonexistent/ca.pem", retries=2
        )
        _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "tls" and record["attempts"] == 1
        assert record["error"]["message"].startswith("cannot load CA file /nonexistent/ca.pem")
