"""Deny-by-default redaction of what prober shows: URLs, headers; and what each probe's Mask hides."""

from __future__ import annotations

import base64

import aiohttp
import pytest

from prober import redact
from prober.classify import classify
from prober.masking import MIN_SECRET, Mask, Redactor, basic_auth, secrets_of, url_credentials, words
from prober.probes.http.request import prepare
from prober.probes.http.spec import HTTPSpec
from prober.probes.ssh.spec import SSHSpec
from prober.probes.tcp import TCPSpec

R = redact.REDACTED


class TestURL:
    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            # A token as the user name, with or without a password: both hidden.
            ("https://ghp_abcdef123456@h.example/x", f"https://{R}@h.example/x"),
            ("https://TOKEN123:x-oauth-basic@h.example/", f"https://{R}:{R}@h.example/"),
            ("http://:pw12345@h/", f"http://{R}:{R}@h/"),
            # No user:pass@ at all, only a query: still redacted (the '?' test).
            ("https://h/api?access_token=abcdef", f"https://h/api?access_token={R}"),
            ("https://h/?jwt=a.b.c&pwd=hunter2&sig=ff00", f"https://h/?jwt={R}&pwd={R}&sig={R}"),
            ("https://h/?page=2&format=json&key=k3y", f"https://h/?page=2&format=json&key={R}"),
            ("https://h/?Page=2&LIMIT=5", "https://h/?Page=2&LIMIT=5"),
            ("https://h/?abcdef0123", f"https://h/?{R}"),  # a bare item is a value too
            ("https://h/?a=&&b=1", f"https://h/?a=&&b={R}"),
            ("https://h/cb#access_token=xyz", f"https://h/cb#{R}"),
            ("https://h/p@th?x=1", f"https://h/p@th?x={R}"),  # an @ in the path is no userinfo
            ("https://u:p@h:8443/a?page=1#", f"https://{R}:{R}@h:8443/a?page=1#"),
            ("http://{address}:8080/healthz", "http://{address}:8080/healthz"),
            ("not a url ? tok=1", f"not a url ? tok={R}"),
            ("/next/u@h?tok=1", f"/next/u@h?tok={R}"),  # a relative Location: an @ in its path
            ("https://h/a/p@th/x", "https://h/a/p@th/x"),  # the authority ends at the first '/'
            ("https://user@corp:pw@h/", f"https://{R}:{R}@h/"),  # the last '@' ends the userinfo
            # A URL in the path (a relay): its user name and password are credentials too.
            ("http://proxy/http://user:pw55@target/x", f"http://proxy/http://{R}:{R}@target/x"),
            ("http://a:b@proxy/fetch/https://tok123@t/?q=1", f"http://{R}:{R}@proxy/fetch/https://{R}@t/?q={R}"),
            ("https://h/go/http://t/p@th", "https://h/go/http://t/p@th"),  # its path's @ stays
            # A name is judged as the server reads it, percent- or plus-decoded.
            ("https://h/?p%61ge=2&Per%5Fpage=3&tok%65n=x", f"https://h/?p%61ge=2&Per%5Fpage=3&tok%65n={R}"),
        ],
    )
    def test_shown(self, url: str, shown: str) -> None:
        """User names, passwords, fragments and query values are hidden unless shown by name."""
        assert redact.url(url) == shown

    def test_safe_query_marks_values_shown(self) -> None:
        """Parameters the probe marks safe (lower-cased by the inventory) are shown."""
        assert redact.url("https://h/?region=eu&tok=1", ("region",)) == f"https://h/?region=eu&tok={R}"
        assert redact.url("https://h/?my+region=eu", ("my region",)) == "https://h/?my+region=eu"


class TestHeaders:
    def test_deny_by_default(self) -> None:
        """Every header value is hidden but the short non-secret list, whatever its name says."""
        pairs = (
            ("X-JWT", "a"),
            ("X-Goog-Iap-Jwt-Assertion", "b"),
            ("X-Hasura-Admin-Pwd", "c"),
            ("X-Whatever", "d"),
            ("Accept", "text/plain"),
            ("user-agent", "gate/1"),
            ("Host", "vhost.example"),
        )
        assert redact.headers(pairs) == {
            "X-JWT": R,
            "X-Goog-Iap-Jwt-Assertion": R,
            "X-Hasura-Admin-Pwd": R,
            "X-Whatever": R,
            "Accept": "text/plain",
            "user-agent": "gate/1",
            "Host": "vhost.example",
        }
        assert redact.headers((("X-Region", "eu"),), ("x-region",)) == {"X-Region": "eu"}

    def test_env_header_replaces_a_literal_one(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """When overrides bring a header both literally and from the environment, the variable's
        value is sent, once; URL credentials never replace an Authorization header."""
        monkeypatch.setenv("T_KEY", "from-env")
        spec = HTTPSpec(
            name="h",
            url="http://u:p@h/",
            headers=(("X-Api-Key", "literal"), ("Authorization", "Bearer t0k")),
            headers_env=(("x-api-key", "T_KEY"),),
        )
        assert prepare(spec).headers == {"Authorization": "Bearer t0k", "x-api-key": "from-env"}
        assert prepare(spec).url == "http://h/"

    def test_host_is_shown_but_never_crosses_origins(self) -> None:
        """Host names the first origin: shown, but not among the headers a redirect elsewhere keeps."""
        req = prepare(HTTPSpec(name="h", url="http://h/", headers=(("Host", "v"), ("Accept", "*/*"))))
        assert req.kept == {"Accept": "*/*"}


class TestMask:
    def test_three_characters_are_masked_two_are_not(self) -> None:
        """MIN_SECRET is 3: a 3-character secret is masked in free text; 1-2 characters are not
        searched for (they are hidden where they stand, in URLs and headers)."""
        assert MIN_SECRET == 3
        assert Mask(["Q7z"]).text("got Q7z!") == f"got {R}!"
        assert Mask(["Q7"]).text("got Q7!") == "got Q7!"
        assert Mask(["Q7z"]).data(b"got Q7z!") == f"got {R}!".encode()

    def test_longest_first(self) -> None:
        """A secret containing another is masked whole."""
        assert Mask(["abc", "abcdef"]).text("xabcdefx abc") == f"x{R}x {R}"

    @pytest.mark.parametrize("keep", range(MIN_SECRET, 16))
    def test_fragment_left_by_an_earlier_cut_is_masked(self, keep: int) -> None:
        """Text that an earlier cut (a reader's byte cap, classify's message cap) left ending inside a
        secret ends in the mask instead of the secret's first characters."""
        secret = "S3cr3tV4lu3-0123"
        text = "x" * 40 + secret[:keep]
        assert Mask([secret]).cut(text, 300, edge=True) == "x" * 40 + R
        assert Mask([secret]).cut(text, 300) == text  # edge=False: this cut changed nothing

    def test_the_longest_fragment_is_masked_wherever_it_starts(self) -> None:
        """The earliest start of a secret's prefix that runs to the end wins: a text that is only a
        fragment, a prefix repeating inside the secret, a false start just before the real one."""
        assert Mask(["S3cr3tV4lu3"]).cut("S3cr", 300, edge=True) == R
        assert Mask(["abcabcXYZ-1"]).cut("x abcabc", 300, edge=True) == "x " + R
        assert Mask(["abcabcXYZ-1"]).capped(b"x abcabc", 8, read_limit=8) == b"x " + R.encode()
        assert Mask(["aaaB-secret"]).cut("x aaaa", 300, edge=True) == "x a" + R
        assert Mask(["S3cr3tV4lu3"]).cut("x S3c! S3cr", 300, edge=True) == "x S3c! " + R

    def test_room_made_for_the_mask_is_checked_again(self) -> None:
        """Cutting back to make room for the mask can leave another fragment at the new end: masked too."""
        text = "xxxxxxS3cr" + "ZZZ" + "S3cr3tV4lu"
        assert Mask(["S3cr3tV4lu3"]).cut(text, 20, edge=True) == "xxxxxx" + R + "…"

    def test_margin_is_the_longest_secret_in_bytes(self) -> None:
        """Readers read `margin` bytes past a cap; nothing past it when there is no secret."""
        assert Mask().margin == 0 and Mask(["ab"]).margin == 0
        assert Mask(["abc", "pässwört"]).margin == len("pässwört".encode())

    def test_a_text_as_long_as_the_limit_is_not_cut(self) -> None:
        assert Mask(["S3cr3tV4lu3"]).cut("x" * 10, 10) == "x" * 10
        assert Mask(["S3cr3tV4lu3"]).cut("x" * 11, 10) == "x" * 10 + "…"

    def test_cut_stays_within_the_limit(self) -> None:
        """The mask replacing a fragment never makes the text longer than its limit (+ "…")."""
        secret = "S3cr3tV4lu3-0123"
        mask = Mask([secret])
        for limit in range(1, 40):
            for text in ("ab" + secret[:12], "ab" + secret + " and more", "x" * 30 + secret[:5]):
                cut = mask.cut(mask.text(text), limit, edge=True)
                assert len(cut) <= limit + 1 and "S3c" not in cut, (limit, text, cut)

    def test_capped_reads_past_the_cap(self) -> None:
        """Bytes read `margin` past the cap: a secret straddling the cap is masked whole, then cut."""
        secret = "hunter2-PASSWORD"
        mask = Mask([secret])
        data = b"." * 10 + secret.encode() + b"\n"
        out = mask.capped(data[: 16 + mask.margin], 16, read_limit=16 + mask.margin)
        assert out.startswith(b"." * 10) and b"hun" not in out and len(out) <= 16 + len(R)

    def test_capped_without_margin(self) -> None:
        """Bytes a reader cut at the cap with no margin (stderr): the secret's start at the end is masked."""
        secret = "hunter2-PASSWORD"
        data = b"error: " + secret.encode()[:9]
        assert Mask([secret]).capped(data, len(data), read_limit=len(data)) == b"error: " + R.encode()

    def test_mask_cut_in_two_is_kept_whole(self) -> None:
        """A cap landing inside an inserted mask keeps the mask whole rather than showing '<re'."""
        mask = Mask(["hunter2-PASSWORD"])
        assert mask.capped(b"ab hunter2-PASSWORD cd", 6, read_limit=100) == b"ab " + R.encode()
        text = mask.text("ab hunter2-PASSWORD cd")
        assert [mask.cut(text, limit) for limit in (13, 12, 9)] == ["ab " + R + "…", "ab" + R + "…", "ab …"]

    def test_a_limit_the_size_of_the_mask_holds_the_mask(self) -> None:
        """A fragment at the end of a text cut to exactly len("<redacted>") characters: the mask fits,
        so it is shown (alone) rather than dropped with the fragment."""
        assert Mask(["S3cr3tV4lu3-0123"]).cut("ab" + "S3cr3", len(R), edge=True) == R
        assert Mask(["S3cr3tV4lu3-0123"]).cut("ab" + "S3cr3", len(R) - 1, edge=True) == "ab"

    def test_capped_output_that_was_not_cut_is_left_whole(self) -> None:
        """Output exactly `cap` bytes long and shorter than the read limit was not cut: a secret's
        first characters at its end are what the remote side sent, not a cut secret."""
        assert Mask(["S3cr3tV4lu3"]).capped(b"1234567S3c", 10, read_limit=100) == b"1234567S3c"

    def test_a_cap_cuts_the_first_mask_it_crosses(self) -> None:
        """The mask the cap cuts in two is kept whole: the first one that crosses the cap, at the
        start of the text too; a mask that starts at the cap or ends before it is no concern."""
        mask, secret = Mask(["hunter2-PASSWORD"]), b"hunter2-PASSWORD"
        m = R.encode()
        assert mask.capped(b"ab " + secret + b" cd " + secret, 6, read_limit=100) == b"ab " + m
        assert mask.capped(secret + b" tail", 4, read_limit=100) == m
        assert mask.capped(b"abcdef " + secret, 7, read_limit=100) == b"abcdef "
        assert mask.capped(b"a " + secret + b"xyz", 13, read_limit=100) == b"a " + m + b"x"

    def test_excerpt_is_not_capped_unless_told(self) -> None:
        """Complete remote text ending in a secret's first characters is shown as sent (it was not
        cut); invalid UTF-8 is replaced, never an error."""
        mask = Mask(["S3cr3tV4lu3"])
        assert mask.excerpt(b"body S3cr", 200) == "body S3cr"
        assert mask.excerpt(b"body S3cr", 200, capped=True) == "body " + R
        assert mask.excerpt(b"\xff\xfeok", 200) == "\ufffd\ufffdok"

    def test_excerpt_of_capped_bytes(self) -> None:
        """A byte cap inside a secret (even inside a multi-byte character) leaves no fragment."""
        secret = "pässwörd-Ünïcode"
        data = ("body " + secret).encode()[:14]
        assert "päs" not in Mask([secret]).excerpt(data, 200, capped=True)


class TestCollected:
    def test_http_secrets(self) -> None:
        """URL credentials (as written, decoded, as Basic credentials), query values and credential
        header words are collected; shown names are not."""
        spec = HTTPSpec(
            name="h",
            url="https://us%40er:p%3Ass@h/?tok=a%2Fb&page=3",
            headers=(("Authorization", "Bearer tok-123"), ("Accept", "text/plain")),
        )
        found = set(secrets_of(spec))
        basic = base64.b64encode(b"us@er:p:ss").decode()
        assert {"us%40er", "us@er", "p%3Ass", "p:ss", basic, "a%2Fb", "a/b"} <= found
        assert {"Bearer tok-123", "tok-123"} <= found
        assert "3" not in found and "text/plain" not in found

    def test_relayed_url_credentials(self) -> None:
        """A URL inside the path (a relay) carries credentials too: they are masked in what the record
        quotes, as the outer URL's are."""
        found = set(secrets_of(HTTPSpec(name="h", url="http://relay/fetch/http://svc:s3cr3t@t.example/")))
        assert {"svc", "s3cr3t", base64.b64encode(b"svc:s3cr3t").decode()} <= found

    def test_env_values(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """password_env, passphrase_env, headers_env and send_env values are read when collected."""
        monkeypatch.setenv("T_PW", "pw-value")
        monkeypatch.setenv("T_KEY", "key-value")
        monkeypatch.setenv("T_SEND", "AUTH s3cret\r\nPING\r\n")
        assert secrets_of(SSHSpec(name="s", command="true", password_env="T_PW")) == ["pw-value"]
        http = HTTPSpec(name="h", url="http://h/", headers_env=(("X-Api-Key", "T_KEY"),))
        assert "key-value" in secrets_of(http)
        assert "s3cret" in secrets_of(TCPSpec(name="t", port=1, send_env="T_SEND"))
        redactor, spec = Redactor(), SSHSpec(name="s", command="true", password_env="T_PW")
        assert redactor.mask(spec) is redactor.mask(spec)  # collected once per spec
        monkeypatch.setenv("T_PW", "changed-value")
        assert redactor.mask(spec).text("pw-value changed-value") == f"{R} changed-value"
        assert Redactor().mask(TCPSpec(name="t", port=1)) is Redactor().mask(
            HTTPSpec(name="h", url="http://h/")
        )


class TestCredentialWords:
    def test_scheme_words_and_basic_credentials(self) -> None:
        """A credential's words after its scheme are secrets too; a Basic token (one word after
        'Basic') also as the user:password it decodes to."""
        token = base64.b64encode(b"user:pw-1").decode()
        assert words(f"Basic {token}") == [f"Basic {token}", token, "user:pw-1", "user", "pw-1"]
        assert words(f"Basic {token} extra") == [f"Basic {token} extra", token, "extra"]
        assert words("Basic not-base64!") == ["Basic not-base64!", "not-base64!"]
        assert words("Basic dXNl.cjpwdw==") == ["Basic dXNl.cjpwdw==", "dXNl.cjpwdw=="]  # not strict base64
        colons = base64.b64encode(b"user:p:w").decode()  # the first ':' ends the user (RFC 7617)
        assert words(f"Basic {colons}")[2:] == ["user:p:w", "user", "p:w"]
        assert words("Bearer abc def") == ["Bearer abc def", "abc", "def"]
        assert words("k3y-only") == ["k3y-only"]
        assert words("v2 secret") == ["v2 secret"]  # a first word with a digit is no scheme

    def test_basic_auth_is_latin_1_then_utf_8(self) -> None:
        """URL credentials are sent Latin-1 encoded (aiohttp.BasicAuth's default); UTF-8 beyond it."""
        latin1 = base64.b64encode("üser:pä:ss".encode("latin-1")).decode()
        assert basic_auth("üser", "pä:ss") == f"Basic {latin1}"
        utf8 = base64.b64encode("用户:pw".encode()).decode()
        assert basic_auth("用户", "pw") == f"Basic {utf8}"

    def test_url_credentials_are_percent_decoded(self) -> None:
        assert url_credentials("us%40er:p%3Ass:w") == ("us@er", "p:ss:w")
        assert url_credentials("only-user") == ("only-user", "")


class TestClassified:
    def test_aiohttp_redirect_to_file_is_protocol(self) -> None:
        """aiohttp's own redirect refusal (NonHttpUrlRedirectClientError) is protocol, never internal,
        and its URL is shown redacted."""
        kind, message = classify(aiohttp.NonHttpUrlRedirectClientError("file:///etc/passwd?token=abcdef"))
        assert kind == "protocol"
        assert message == f"refused URL (only http and https are requested): file:///etc/passwd?token={R}"
