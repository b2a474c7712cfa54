"""Redirects followed by prober itself, against a real redirector and landing hosts on loopback."""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from yarl import URL

from prober.probes.http import redirects
from prober.runtime.resources import Resources
from tests.leaks import new_secret
from tests.probes.conftest import CertFactory, run_probe
from tests.probes.httpapp import spec
from tests.secrets.servers import Recorder, redirect

Start = Callable[..., Awaitable[Recorder]]
NON_SECRET = {
    "Accept": "text/plain",
    "Accept-Language": "de",
    "Cache-Control": "no-cache",
    "User-Agent": "gate/1",
}


def credentials() -> dict[str, str]:
    """Headers real inventories carry, each a fresh random token."""
    return {"X-Api-Key": new_secret(), "PRIVATE-TOKEN": new_secret(), "X-Hasura-Admin-Pwd": new_secret()}


def with_credentials(url: str, secret_headers: dict[str, str], **kw: Any) -> Any:
    """An HTTPSpec sending the secret and non-secret headers, and user:password in its URL."""
    user, password = new_secret("u"), new_secret("p")
    url = url.replace("://", f"://{user}:{password}@", 1)
    headers = tuple({**NON_SECRET, **secret_headers}.items())
    return spec(url, headers=headers, follow_redirects=True, **kw)


def assert_only_non_secret(seen: dict[str, str], secret_headers: dict[str, str]) -> None:
    for name in secret_headers:
        assert name.lower() not in seen, name
    assert "authorization" not in seen  # the URL's credentials stayed behind too
    for name, value in NON_SECRET.items():
        assert seen[name.lower()] == value, name


class TestCrossOrigin:
    @pytest.mark.parametrize("change", ["port", "host"])
    async def test_secret_headers_and_url_credentials_dropped(
        self, recorder: Start, resources: Resources, change: str
    ) -> None:
        """A redirect to another port or host gets only Accept, Accept-Language, Cache-Control and
        User-Agent; X-Api-Key, PRIVATE-TOKEN, any other header and the URL's credentials stay behind."""
        start = await recorder("127.0.0.1")
        if change == "port":
            landing = await recorder("127.0.0.1")
        else:
            try:  # the same port on another loopback address: only the host changes
                landing = await recorder("127.0.0.2", port=start.port)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                pytest.skip("the redirector's port is taken on 127.0.0.2")
        start.answers["/start"] = redirect(302, landing.url("/land"))
        secret_headers = credentials()
        _, record = await run_probe(with_credentials(start.url("/start"), secret_headers), resources)
        assert record["status"] == "ok" and record["http"]["redirects"] == 1
        (first,) = start.received("/start")
        assert first.headers["x-api-key"] == secret_headers["X-Api-Key"]
        assert first.headers["authorization"].startswith("Basic ")
        (landed,) = landing.received("/land")
        assert_only_non_secret(landed.headers, secret_headers)

    async def test_same_origin_keeps_everything(self, recorder: Start, resources: Resources) -> None:
        """A relative Location stays on the origin: every header and the credentials go along."""
        server = await recorder()
        server.answers["/dir/start"] = redirect(301, "land?page=2")
        secret_headers = credentials()
        _, record = await run_probe(with_credentials(server.url("/dir/start"), secret_headers), resources)
        assert record["status"] == "ok" and record["http"]["redirects"] == 1
        (landed,) = server.received("/dir/land")
        assert landed.path_qs == "/dir/land?page=2"
        for name, value in secret_headers.items():
            assert landed.headers[name.lower()] == value
        assert landed.headers["authorization"] == server.received("/dir/start")[0].headers["authorization"]

    async def test_dropped_for_the_rest_of_the_chain(self, recorder: Start, resources: Resources) -> None:
        """Once a chain has left the origin, coming back to it does not bring the secrets back."""
        home, away = await recorder(), await recorder()
        home.answers["/start"] = redirect(302, away.url("/bounce"))
        away.answers["/bounce"] = redirect(307, home.url("/back"))
        secret_headers = credentials()
        _, record = await run_probe(with_credentials(home.url("/start"), secret_headers), resources)
        assert record["status"] == "ok" and record["http"]["redirects"] == 2
        assert_only_non_secret(away.received("/bounce")[0].headers, secret_headers)
        assert_only_non_secret(home.received("/back")[0].headers, secret_headers)

    async def test_location_cannot_add_credentials_and_safe_headers_stay(
        self, recorder: Start, resources: Resources
    ) -> None:
        """A Location with user:password@ is followed without them; a header marked safe_headers is
        shown, but still not sent to another origin."""
        start, landing = await recorder(), await recorder()
        start.answers["/start"] = redirect(302, landing.url("/land").replace("://", "://evil:pw@"))
        headers = (("X-Region", "eu-1"), ("Accept", "text/plain"))
        probe_spec = spec(
            start.url("/start"), headers=headers, safe_headers=("x-region",), follow_redirects=True
        )
        _, record = await run_probe(probe_spec, resources)
        assert record["status"] == "ok"
        assert start.received("/start")[0].headers["x-region"] == "eu-1"
        (landed,) = landing.received("/land")
        assert "authorization" not in landed.headers and "x-region" not in landed.headers
        assert landed.headers["accept"] == "text/plain"

    def test_scheme_alone_changes_the_origin(self) -> None:
        """http and https on the same host and port are two origins; default ports count as written."""
        origin = redirects._origin
        assert origin(URL("http://h:8443/a")) != origin(URL("https://h:8443/a"))
        assert origin(URL("http://H/a")) == origin(URL("http://h:80/b?x"))
        assert origin(URL("https://h/")) == origin(URL("https://h:443/"))


class TestMethods:
    @pytest.mark.parametrize(
        ("code", "method", "then"),
        [
            (301, "POST", "GET"),
            (302, "POST", "GET"),
            (303, "POST", "GET"),
            (303, "PUT", "GET"),
            (303, "HEAD", "HEAD"),
            (302, "PUT", "PUT"),
            (307, "POST", "POST"),
            (308, "PUT", "PUT"),
        ],
    )
    async def test_method_after_redirect(
        self, recorder: Start, resources: Resources, code: int, method: str, then: str
    ) -> None:
        """303 (not HEAD), and 301/302 after POST, continue with GET, as browsers do; 307/308 keep it."""
        server = await recorder()
        server.answers["/start"] = redirect(code, "/land")
        _, record = await run_probe(
            spec(server.url("/start"), method=method, follow_redirects=True), resources
        )
        assert record["status"] == "ok"
        assert [seen.method for seen in server.seen] == [method, then]


class TestRefused:
    @pytest.mark.parametrize(
        ("location", "words"),
        [
            ("file:///etc/passwd", "redirect to a file: URL refused"),
            ("ftp://127.0.0.1/pub", "redirect to a ftp: URL refused"),
            ("mailto:ops@example.invalid", "redirect to a mailto: URL refused"),
            ("http://[::1/x", "redirect to an invalid URL"),
            ("http://:80/x", "redirect to an invalid URL"),
        ],
    )
    async def test_location_that_is_not_http(
        self, recorder: Start, resources: Resources, location: str, words: str
    ) -> None:
        """A Location to file:, ftp: or no URL at all fails with kind protocol (never internal) and
        nothing is fetched."""
        server = await recorder()
        server.answers["/start"] = redirect(302, location)
        _, record = await run_probe(spec(server.url("/start"), follow_redirects=True), resources)
        assert record["error"]["kind"] == "protocol"
        assert record["error"]["message"].startswith(words)
        assert record["http"]["status_code"] == 302 and len(server.seen) == 1

    @pytest.mark.parametrize(("max_redirects", "chain", "ok"), [(3, 3, True), (2, 3, False), (0, 1, False)])
    async def test_max_redirects(
        self, recorder: Start, resources: Resources, max_redirects: int, chain: int, ok: bool
    ) -> None:
        """Up to max_redirects hops are followed; one more is kind protocol, and is not requested."""
        server = await recorder()
        for hop in range(chain):
            server.answers[f"/r{hop}"] = redirect(302, f"/r{hop + 1}")
        probe_spec = spec(server.url("/r0"), follow_redirects=True, max_redirects=max_redirects)
        _, record = await run_probe(probe_spec, resources)
        if ok:
            assert record["status"] == "ok" and record["http"]["redirects"] == chain
            assert len(server.seen) == chain + 1
        else:
            assert record["error"]["kind"] == "protocol"
            assert (
                record["error"]["message"] == f"too many redirects: more than max_redirects ({max_redirects})"
            )
            assert len(server.seen) == max_redirects + 1

    async def test_loop(self, recorder: Start, resources: Resources) -> None:
        """A loop ends at max_redirects as kind protocol, and the message says it loops."""
        server = await recorder()
        server.answers["/a"] = redirect(302, "/b")
        server.answers["/b"] = redirect(302, "/a")
        _, record = await run_probe(spec(server.url("/a"), follow_redirects=True, max_redirects=5), resources)
        assert record["error"]["kind"] == "protocol"
        assert record["error"]["message"].endswith("(the chain loops)")
        assert len(server.seen) == 6

    async def test_redirect_without_location_is_the_answer(
        self, recorder: Start, resources: Resources
    ) -> None:
        """A 302 without Location is judged as it is (200-399 by default)."""
        server = await recorder()

        async def bare(request: Any) -> Any:
            from aiohttp import web

            return web.Response(status=302)

        server.answers["/start"] = bare
        _, record = await run_probe(spec(server.url("/start"), follow_redirects=True), resources)
        assert record["status"] == "ok" and record["http"]["status_code"] == 302
        assert "redirects" not in record["http"]


class TestDowngrade:
    async def _chain(self, recorder: Start, certs: CertFactory) -> tuple[Recorder, Recorder]:
        secure = await recorder(ssl_context=certs.leaf().server_context())
        plain = await recorder()
        secure.answers["/start"] = redirect(302, plain.url("/land"))
        return secure, plain

    async def test_https_to_http_refused(
        self, recorder: Start, resources: Resources, certs: CertFactory
    ) -> None:
        """https → http fails with kind tls, and the plain-http host is never contacted."""
        secure, plain = await self._chain(recorder, certs)
        probe_spec = with_credentials(secure.url("/start"), credentials(), ca_file=str(certs.ca_file))
        _, record = await run_probe(probe_spec, resources)
        assert record["error"]["kind"] == "tls"
        assert record["error"]["message"].startswith("redirect from https to plain http refused")
        assert "insecure" not in record
        assert plain.seen == [] and len(secure.seen) == 1

    async def test_opt_in_follows_marks_insecure_and_sends_nothing_secret(
        self, recorder: Start, resources: Resources, certs: CertFactory
    ) -> None:
        """allow_insecure_redirects follows it: the record says insecure, and the plain-http host gets
        no secret (a scheme change is a change of origin)."""
        secure, plain = await self._chain(recorder, certs)
        secret_headers = credentials()
        probe_spec = with_credentials(
            secure.url("/start"), secret_headers, ca_file=str(certs.ca_file), allow_insecure_redirects=True
        )
        _, record = await run_probe(probe_spec, resources)
        assert record["status"] == "ok" and record["insecure"] is True
        assert_only_non_secret(plain.received("/land")[0].headers, secret_headers)

    async def test_http_to_https_upgrade_is_followed(
        self, recorder: Start, resources: Resources, certs: CertFactory
    ) -> None:
        """http → https needs no opt-in (nothing gets less safe), but is another origin all the same."""
        plain = await recorder()
        secure = await recorder(ssl_context=certs.leaf().server_context())
        plain.answers["/start"] = redirect(301, secure.url("/land"))
        secret_headers = credentials()
        probe_spec = with_credentials(plain.url("/start"), secret_headers, ca_file=str(certs.ca_file))
        _, record = await run_probe(probe_spec, resources)
        assert record["status"] == "ok" and "insecure" not in record
        assert_only_non_secret(secure.received("/land")[0].headers, secret_headers)
