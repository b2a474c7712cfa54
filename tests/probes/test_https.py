"""HTTPS probe against loopback servers with certificates generated at test time."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import pytest
from aiohttp import web

from prober.runtime.resources import Resources
from tests.probes.conftest import AppServer, CertFactory, RawServer, reset, run_probe
from tests.probes.httpapp import make_app, spec


class TestHTTPS:
    async def test_ca_signed_with_ca_file(self, certs: CertFactory, resources: Resources) -> None:
        """A certificate signed by the CA given in ca_file verifies: ok, and the record is not insecure."""
        leaf = certs.leaf()
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            _, record = await run_probe(spec(srv.url("/ok"), ca_file=str(certs.ca_file)), resources)
        assert record["status"] == "ok" and "insecure" not in record

    @pytest.mark.parametrize(
        ("case", "needle"),
        [("self_signed", "self-signed"), ("expired", "expired"), ("wrong_host", "mismatch")],
    )
    async def test_bad_certificates_are_tls(
        self, certs: CertFactory, resources: Resources, case: str, needle: str
    ) -> None:
        """Self-signed, expired and wrong-hostname certificates fail with kind tls and a short reason."""
        leaf = {
            "self_signed": lambda: certs.leaf(self_signed=True),
            "expired": lambda: certs.leaf(days=-2),
            "wrong_host": lambda: certs.leaf(names=("other.test",)),
        }[case]()
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            _, record = await run_probe(
                spec(srv.url("/ok"), ca_file=str(certs.ca_file), retries=2), resources
            )
        assert record["error"]["kind"] == "tls"
        assert record["attempts"] == 1
        message = record["error"]["message"]
        assert needle in message and len(message) < 200 and message.count("certificate verify failed") <= 1

    async def test_redirect_from_http_to_bad_https_is_verified(
        self, certs: CertFactory, resources: Resources
    ) -> None:
        """An http:// URL redirecting to https:// with a self-signed certificate fails tls when followed."""
        leaf = certs.leaf(self_signed=True)
        async with AppServer(make_app(Counter()), leaf.server_context()) as tls_srv:

            async def to_tls(request: web.Request) -> web.Response:
                return web.Response(status=302, headers={"Location": tls_srv.url("/ok")})

            app = web.Application()
            app.router.add_get("/", to_tls)
            async with AppServer(app) as plain:
                probe_spec = spec(plain.url("/"), follow_redirects=True, ca_file=str(certs.ca_file))
                _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "tls" and "self-signed" in record["error"]["message"]

    async def test_upper_case_scheme_is_verified(self, certs: CertFactory, resources: Resources) -> None:
        """An 'HTTPS://' URL (valid, scheme case-insensitive) is verified like 'https://'."""
        leaf = certs.leaf(self_signed=True)
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            url = srv.url("/ok").replace("https://", "HTTPS://")
            _, record = await run_probe(spec(url, ca_file=str(certs.ca_file)), resources)
        assert record["error"]["kind"] == "tls" and "self-signed" in record["error"]["message"]

    async def test_verify_off_with_redirects_is_marked_insecure(self, resources: Resources) -> None:
        """verify_tls false on an http URL following redirects (maybe to https) marks the record insecure."""
        async with AppServer(make_app(Counter())) as srv:
            probe_spec = spec(srv.url("/redirect"), verify_tls=False, follow_redirects=True)
            _, record = await run_probe(probe_spec, resources)
            _, plain = await run_probe(spec(srv.url("/ok"), verify_tls=False), resources)
        assert record["status"] == "ok" and record["insecure"] is True
        assert "insecure" not in plain

    async def test_verify_off_is_ok_and_marked_insecure(
        self, certs: CertFactory, resources: Resources
    ) -> None:
        """verify_tls false accepts a self-signed certificate and marks the record insecure."""
        leaf = certs.leaf(self_signed=True)
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            _, record = await run_probe(spec(srv.url("/ok"), verify_tls=False), resources)
        assert record["status"] == "ok" and record["insecure"] is True

    async def test_cert_min_days_warns(self, certs: CertFactory, resources: Resources) -> None:
        """A valid certificate expiring sooner than cert_min_days gives warn with cert_days_left."""
        leaf = certs.leaf(days=10)
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            probe_spec = spec(srv.url("/ok"), ca_file=str(certs.ca_file), cert_min_days=30)
            _, record = await run_probe(probe_spec, resources)
        assert record["status"] == "warn" and "expires in" in record["warning"]
        assert 9.9 <= record["http"]["cert_days_left"] <= 10.0

    async def test_cert_min_days_satisfied(self, certs: CertFactory, resources: Resources) -> None:
        """A certificate valid longer than cert_min_days is ok and still reports cert_days_left."""
        leaf = certs.leaf(days=100)
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            probe_spec = spec(srv.url("/ok"), ca_file=str(certs.ca_file), cert_min_days=30)
            _, record = await run_probe(probe_spec, resources)
        assert record["status"] == "ok" and record["warning"] is None
        assert 99.9 <= record["http"]["cert_days_left"] <= 100.0

    @pytest.mark.parametrize(
        ("answer", "rest", "connections"),
        [(b"200 OK\r\nContent-Length: 900\r\n\r\nok", b"k" * 898, 1), (b"204 No Content\r\n\r\n", b"", 2)],
    )
    async def test_cert_expiry_read_from_the_answering_connection(
        self, certs: CertFactory, resources: Resources, answer: bytes, rest: bytes, connections: int
    ) -> None:
        """cert_min_days reads the certificate of the connection that answered while aiohttp holds it
        (body still coming); once released (no body) it makes a second handshake."""
        leaf = certs.leaf(days=20)

        async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError):
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 " + answer)
                await writer.drain()
                await asyncio.sleep(0.1)  # the rest of the body comes later (the probe reads it)
                writer.write(rest)
                await writer.drain()
            await reader.read()

        async with RawServer(http, leaf.server_context()) as srv:
            url = f"https://127.0.0.1:{srv.port}/"
            probe_spec = spec(url, ca_file=str(certs.ca_file), cert_min_days=30)
            _, record = await run_probe(probe_spec, resources)
            await asyncio.sleep(0.05)
            # uvloop may still hold the connection of an empty answer: then one is enough.
            assert srv.connections == connections or (connections == 2 and srv.connections == 1)
        assert record["status"] == "warn" and 19.9 <= record["http"]["cert_days_left"] <= 20

    async def test_expired_with_verify_off_fails(self, certs: CertFactory, resources: Resources) -> None:
        """With verification off, cert_min_days still fails an expired certificate with kind tls."""
        leaf = certs.leaf(days=-3, self_signed=True)
        async with AppServer(make_app(Counter()), leaf.server_context()) as srv:
            probe_spec = spec(srv.url("/ok"), verify_tls=False, cert_min_days=7)
            _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "tls" and "expired" in record["error"]["message"]
        assert -3.1 <= record["http"]["cert_days_left"] <= -2.9
        assert record["insecure"] is True

    async def test_plain_http_on_a_tls_port(self, resources: Resources) -> None:
        """A server answering plain HTTP where TLS is expected fails with kind tls, said plainly."""

        async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            await reader.read()

        async with RawServer(plain) as srv:
            _, record = await run_probe(spec(f"https://127.0.0.1:{srv.port}/"), resources)
        assert record["error"] == {
            "kind": "tls",
            "message": f"127.0.0.1:{srv.port}: TLS error: WRONG_VERSION_NUMBER",
        }

    @pytest.mark.parametrize("how", ["close", "reset"])
    async def test_connection_dropped_during_handshake(self, resources: Resources, how: str) -> None:
        """A server dropping the connection on the ClientHello (FIN or RST) gives kind reset."""

        async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(10)
            if how == "reset":
                reset(writer)
            else:
                writer.close()

        async with RawServer(drop) as srv:
            _, record = await run_probe(spec(f"https://127.0.0.1:{srv.port}/"), resources)
        assert record["error"]["kind"] == "reset"
        assert record["error"]["message"] in (
            f"127.0.0.1:{srv.port}: connection closed by the peer",
            f"127.0.0.1:{srv.port}: Connection reset by peer",
        )
