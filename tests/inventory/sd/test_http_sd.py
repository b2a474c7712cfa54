"""http_sd against real aiohttp servers on 127.0.0.1: answers, failures, retries, TLS, the token."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from prober.errors import InventoryError
from prober.inventory.sources.http_sd import fetch_http_sd, load_http_sd
from tests.leaks import find_leaks, new_secret
from tests.probes.conftest import AppServer, CertFactory, free_port

GROUPS = [
    {"targets": ["web01:9100", "[::1]:9100"], "labels": {"job": "node", "dc": "eu-1"}},
    {"targets": ["db01"], "labels": {"job": "db"}},
]
TOKEN = new_secret("tok-")
JSON = "application/json"


def sd_app(hits: Counter[str]) -> web.Application:
    """Every way an http_sd endpoint answers; `hits` counts requests per path."""

    async def handle(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        hits[name] += 1
        body = json.dumps(GROUPS)
        if name == "sd":
            return web.Response(text=body, content_type=JSON)
        if name == "charset":
            return web.Response(
                body=body.encode(), headers={"Content-Type": 'application/json; charset="utf-8"'}
            )
        if name == "auth":
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return web.Response(status=401, text="no")
            return web.Response(text=body, content_type=JSON)
        if name == "echo500":  # an error page that echoes the request, token included
            return web.Response(status=500, text=str(dict(request.headers)))
        if name == "flaky":
            if hits[name] <= 2:
                return web.Response(status=503)
            return web.Response(text=body, content_type=JSON)
        if name == "slow":
            await asyncio.sleep(30)
        if name == "drip":
            response = web.StreamResponse(headers={"Content-Type": JSON})
            await response.prepare(request)
            for char in body:
                await response.write(char.encode())
                await asyncio.sleep(0.05)
            return response
        if name == "html":
            return web.Response(text=body, content_type="text/html")
        if name == "notype":
            return web.Response(body=body.encode())
        if name == "big":
            return web.Response(
                text=json.dumps([{"targets": [f"h{i}:1" for i in range(5000)]}]), content_type=JSON
            )
        if name == "bomb":  # 4 MB of spaces compressed to a few KB
            packed = gzip.compress(b"[" + b" " * 4_000_000 + b"]")
            return web.Response(body=packed, headers={"Content-Type": JSON, "Content-Encoding": "gzip"})
        if name == "gzip":
            packed = gzip.compress(body.encode())
            return web.Response(body=packed, headers={"Content-Type": JSON, "Content-Encoding": "gzip"})
        if name == "redirect":
            raise web.HTTPFound("/sd")
        if name == "teapot":
            return web.Response(status=418)
        if name == "badjson":
            return web.Response(text='[{"targets": ', content_type=JSON)
        if name == "badtarget":
            return web.Response(text='[{"targets": ["a:1", "http://x/"]}]', content_type=JSON)
        if name == "latin1":
            return web.Response(body=b'[{"targets": ["a:1"], "labels": {"x": "\xe9"}}]', content_type=JSON)
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{name}", handle)
    return app


@pytest.fixture
async def server() -> AsyncIterator[tuple[AppServer, Counter[str]]]:
    hits: Counter[str] = Counter()
    async with AppServer(sd_app(hits)) as srv:
        yield srv, hits


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFactory:
    return CertFactory(tmp_path_factory.mktemp("certs"))


async def failure(url: str, **options: object) -> str:
    """The one problem fetch_http_sd reports, as `source: message`."""
    with pytest.raises(InventoryError) as caught:
        await fetch_http_sd(url, **{"group": "g", "backoff": 0.01, **options})  # type: ignore[arg-type]
    (problem,) = caught.value.problems
    return str(problem)


class TestAnswers:
    async def test_reads_target_groups(self, server: tuple[AppServer, Counter[str]]) -> None:
        """The answer's targets and labels, grouped by group_label, with __meta_url set as Prometheus does."""
        srv, _ = server
        inventory = await fetch_http_sd(srv.url("/sd"), group_label="job")
        assert [(h.group, h.name, h.port) for h in inventory.hosts] == [
            ("node", "web01", 9100),
            ("node", "::1", 9100),
            ("db", "db01", None),
        ]
        host = inventory.hosts[0]
        assert dict(host.labels) == {"job": "node", "dc": "eu-1"}
        assert dict(host.meta) == {"__meta_url": srv.url("/sd")}
        assert (host.source, host.line, host.key) == (srv.url("/sd"), None, "[0].targets[0]")

    @pytest.mark.parametrize("path", ["/charset", "/gzip"])
    async def test_charset_and_compression(self, server: tuple[AppServer, Counter[str]], path: str) -> None:
        """`application/json; charset="utf-8"` is accepted, and a gzip-encoded answer is decoded."""
        srv, _ = server
        assert len((await fetch_http_sd(srv.url(path), group="g")).hosts) == 3

    async def test_sync_wrapper(self, server: tuple[AppServer, Counter[str]]) -> None:
        """load_http_sd runs its own loop, for code that has none running (here: another thread)."""
        srv, _ = server
        inventory = await asyncio.to_thread(load_http_sd, srv.url("/sd"), group="g")
        assert len(inventory.hosts) == 3

    async def test_credentials_and_query_are_not_shown(self, server: tuple[AppServer, Counter[str]]) -> None:
        """A URL's password and query values are redacted in the source name and __meta_url."""
        srv, _ = server
        url = srv.url("/sd?key=s3cr3tvalue").replace("://", "://user:hunter22@")
        inventory = await fetch_http_sd(url, group="g")
        shown = inventory.sources[0]
        assert "s3cr3tvalue" not in shown and "hunter22" not in shown
        assert inventory.hosts[0].meta["__meta_url"] == shown


class TestFailures:
    async def test_http_500_is_retried_then_fails(self, server: tuple[AppServer, Counter[str]]) -> None:
        """A 5xx answer is retried `retries` times, then an error naming the URL and the status."""
        srv, hits = server
        message = await failure(srv.url("/echo500"), retries=2)
        assert (
            message
            == f"{srv.url('/echo500')}: server answered HTTP 500 Internal Server Error (after 3 attempts)"
        )
        assert hits["echo500"] == 3

    async def test_retry_recovers(self, server: tuple[AppServer, Counter[str]]) -> None:
        """Two 503s then an answer: with 2 retries the source reads; with 1 it fails after 2 attempts."""
        srv, hits = server
        assert "after 2 attempts" in await failure(srv.url("/flaky"), retries=1)
        hits["flaky"] = 0
        assert len((await fetch_http_sd(srv.url("/flaky"), group="g", retries=2, backoff=0.01)).hosts) == 3
        assert hits["flaky"] == 3

    async def test_backoff_grows(self, server: tuple[AppServer, Counter[str]]) -> None:
        """Retries wait backoff, then twice as long (jittered between half and all of it)."""
        srv, _ = server
        start = time.monotonic()
        await failure(srv.url("/echo500"), retries=2, backoff=0.2)
        assert time.monotonic() - start >= 0.1 + 0.2

    async def test_slow_answer_times_out(self, server: tuple[AppServer, Counter[str]]) -> None:
        """An endpoint that never answers costs one timeout per attempt, then fails as a timeout."""
        srv, hits = server
        start = time.monotonic()
        message = await failure(srv.url("/slow"), timeout=0.3, retries=1)
        assert message.endswith("timeout: no complete answer within 0.3 s (after 2 attempts)")
        assert hits["slow"] == 2 and time.monotonic() - start < 5

    async def test_dripped_body_is_bounded_by_the_timeout(
        self, server: tuple[AppServer, Counter[str]]
    ) -> None:
        """A body sent a byte at a time cannot hold the source past its timeout."""
        srv, _ = server
        start = time.monotonic()
        assert "timeout" in await failure(srv.url("/drip"), timeout=0.5, retries=0)
        assert time.monotonic() - start < 5

    async def test_refused(self) -> None:
        """Nothing listening: retried, then an error saying the connection was refused."""
        url = f"http://127.0.0.1:{free_port()}/sd"
        message = await failure(url, retries=1)
        assert message.startswith(f"{url}: refused: ") and message.endswith("(after 2 attempts)")

    @pytest.mark.parametrize(
        ("path", "reason"),
        [
            ("/html", "unsupported content type 'text/html; charset=utf-8' (expected application/json)"),
            ("/notype", "unsupported content type 'application/octet-stream'"),
            ("/teapot", "server answered HTTP 418 I'm a Teapot"),
            ("/missing", "server answered HTTP 404 Not Found"),
            ("/redirect", "server answered HTTP 302 Found: redirects are not followed"),
            ("/badjson", "the answer is not JSON: Expecting value"),
            ("/latin1", "the answer is not UTF-8"),
        ],
    )
    async def test_wrong_answers_are_not_retried(
        self, server: tuple[AppServer, Counter[str]], path: str, reason: str
    ) -> None:
        """Wrong content type, 4xx, a redirect, bad JSON: one request, an error naming the URL and why."""
        srv, hits = server
        message = await failure(srv.url(path), retries=3)
        assert message.startswith(f"{srv.url(path)}: {reason}"), message
        assert sum(hits.values()) == 1 and hits["sd"] == 0

    async def test_bad_target_names_its_place(self, server: tuple[AppServer, Counter[str]]) -> None:
        """A target that is not host[:port] is named with its place in the answer."""
        srv, _ = server
        message = await failure(srv.url("/badtarget"))
        assert message.startswith(f"{srv.url('/badtarget')}: [0].targets[1]: target 'http://x/' is not")

    @pytest.mark.parametrize("path", ["/big", "/bomb"])
    async def test_size_cap(self, server: tuple[AppServer, Counter[str]], path: str) -> None:
        """An answer over max_bytes is refused, also when it is small compressed and large decoded."""
        srv, _ = server
        message = await failure(srv.url(path), max_bytes=20_000)
        assert message.endswith("the answer is over 20000 bytes")

    @pytest.mark.parametrize("url", ["ftp://127.0.0.1/sd", "https:///sd", "127.0.0.1/sd"])
    async def test_bad_url(self, url: str) -> None:
        """Only http and https URLs with a host, as Prometheus requires."""
        assert "expected an http:// or https:// URL with a host" in await failure(url)


class TestToken:
    async def test_bearer_token_from_env(self, certs: CertFactory, tmp_path: Path) -> None:
        """The token goes as `Authorization: Bearer` over https; without it the server says 401."""
        hits: Counter[str] = Counter()
        async with AppServer(sd_app(hits), certs.leaf().server_context()) as srv:
            options = {"ca_file": str(certs.ca_file), "environ": {"SD_TOKEN": TOKEN}}
            inventory = await fetch_http_sd(srv.url("/auth"), group="g", token_env="SD_TOKEN", **options)
            assert len(inventory.hosts) == 3
            assert "HTTP 401" in await failure(srv.url("/auth"), ca_file=str(certs.ca_file))

    async def test_token_never_shown(self, certs: CertFactory) -> None:
        """Errors never show the token, even when the server echoes it back in an error page."""
        hits: Counter[str] = Counter()
        messages = {}
        async with AppServer(sd_app(hits), certs.leaf().server_context()) as srv:
            for path in ("/echo500", "/badjson", "/html", "/badtarget", "/slow"):
                messages[path] = await failure(
                    srv.url(path),
                    token_env="SD_TOKEN",
                    environ={"SD_TOKEN": TOKEN},
                    ca_file=str(certs.ca_file),
                    retries=0,
                    timeout=0.3,
                )
        assert find_leaks(messages, [TOKEN]) == []

    async def test_no_token_over_plain_http(self, server: tuple[AppServer, Counter[str]]) -> None:
        """A token is refused for an http:// URL before anything is sent."""
        srv, hits = server
        message = await failure(srv.url("/auth"), token_env="SD_TOKEN", environ={"SD_TOKEN": TOKEN})
        assert "a token is only sent over https" in message and sum(hits.values()) == 0

    @pytest.mark.parametrize(("environ", "why"), [({}, "is not set"), ({"SD_TOKEN": "a\nb"}, "line break")])
    async def test_token_variable_problems(self, environ: dict[str, str], why: str) -> None:
        """An unset variable, or a value that would split the header, is named by the variable only."""
        message = await failure("https://127.0.0.1:1/sd", token_env="SD_TOKEN", environ=environ)
        assert "SD_TOKEN" in message and why in message


class TestTLS:
    async def test_verified_with_ca_file(self, certs: CertFactory) -> None:
        """A certificate signed by ca_file's CA verifies; without ca_file it is a TLS error, not retried."""
        hits: Counter[str] = Counter()
        async with AppServer(sd_app(hits), certs.leaf().server_context()) as srv:
            assert (
                len((await fetch_http_sd(srv.url("/sd"), group="g", ca_file=str(certs.ca_file))).hosts) == 3
            )
            message = await failure(srv.url("/sd"), retries=3)
        assert ": tls: " in message and "certificate verify failed" in message and "attempts" not in message

    @pytest.mark.parametrize("case", ["self_signed", "expired", "wrong_host"])
    async def test_bad_certificates(self, certs: CertFactory, case: str) -> None:
        """Self-signed, expired and wrong-host certificates are refused even with the CA given."""
        leaf = {
            "self_signed": lambda: certs.leaf(self_signed=True),
            "expired": lambda: certs.leaf(days=-2),
            "wrong_host": lambda: certs.leaf(names=("other.test",)),
        }[case]()
        async with AppServer(sd_app(Counter()), leaf.server_context()) as srv:
            assert ": tls: " in await failure(srv.url("/sd"), ca_file=str(certs.ca_file))

    async def test_unusable_ca_file(self, tmp_path: Path) -> None:
        """A ca_file that is missing or not PEM is an error naming the file, not its contents."""
        assert "ca_file: cannot use /nonexistent/ca.pem" in await failure(
            "https://127.0.0.1:1/", ca_file="/nonexistent/ca.pem"
        )
        junk = tmp_path / "junk.pem"
        junk.write_text("TOPSECRET not a certificate")
        message = await failure("https://127.0.0.1:1/", ca_file=str(junk))
        assert "not a PEM certificate bundle" in message and "TOPSECRET" not in message
