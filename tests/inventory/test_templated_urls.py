"""A templated value can never move a URL or a jump host: encoded where it is data, refused where it
would change the scheme, host or port (validate names the var, the host and the file:line)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest
import yarl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from prober.templating import render, resolve_one
from tests.inventory.conftest import Outcome

ANY_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


def plan_params(cli: Callable[..., Outcome], path: Path) -> list[dict]:
    outcome = cli("plan", path)
    assert outcome.code == 0, outcome.err
    return [json.loads(line)["params"] for line in outcome.out.splitlines()]


class TestRefused:
    def test_issue_example_var_moving_the_port_to_another_host(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """url http://{address}:{app_port}/health with app_port "19001@10.9.9.9:80": exit 3 on validate,
        plan and sweep, at the url's line, naming the var, its value and the hosts."""
        path = inventory_file(
            """
            probes:
              health: {type: http, url: "http://{address}:{app_port}/health"}
            groups:
              web:
                vars: {app_port: "19001@10.9.9.9:80"}
                hosts: {web01: {address: 127.0.0.1}, web02: {address: 127.0.0.2}}
                probes: [health]
            """
        )
        for command in ("validate", "plan", "sweep"):
            outcome = cli(command, path)
            assert outcome.code == 3 and outcome.out == ""
            assert outcome.err.splitlines() == [
                f"error: {path}:2: probes.health.url: after templating: var {{app_port}} = "
                "'19001@10.9.9.9:80' would change the port: it is not a number (for hosts web01, web02)"
            ]

    @pytest.mark.parametrize(
        ("url", "value", "message"),
        [
            ("http://{v}:8080/", "evil.example@127.0.0.1", "var {v} = 'evil.example@127.0.0.1' would change"),
            ("http://{v}:8080/", "127.0.0.1:9/x", "would change the host"),
            ("http://{v}/", "127.0.0.1/x", "would change the host"),
            ("http://api-{v}.example/", "a.b@c", "would change the host"),
            ("http://{address}:{v}/", "80/x", "would change the port"),
            ("http://{address}:80{v}/", "000", "URL has an invalid port"),
            ("http://{address}{v}", "@evil.example", "would change the host"),
            ("http://10.0.0.{v}/", "010", "'10.0.0.010' is not a canonical IPv4 address"),
            ("http://{address}/api/{v}/health", "..", "var {v} = '..' would change the path"),
            ("http://{address}/{v}", "a/../../admin", "would change the path"),
            ("http://{address}:80{v}", "/./x?q=1", "would change the path"),
        ],
    )  # fmt: skip
    def test_values_that_would_move_the_authority(
        self,
        cli: Callable[..., Outcome],
        inventory_file: Callable[..., Path],
        url: str,
        value: str,
        message: str,
    ) -> None:
        """A value landing in the scheme, host or port must fit it exactly; refused otherwise."""
        path = inventory_file(
            f"probes:\n  h: {{type: http, url: {json.dumps(url)}}}\n"
            f"groups: {{g: {{vars: {{v: {json.dumps(value)}}}, probes: [h],\n"
            "  hosts: {h1: {address: 127.0.0.1}}}}\n"
        )
        outcome = cli("validate", path)
        assert outcome.code == 3, outcome
        assert outcome.err.startswith(f"error: {path}:2: probes.h.url: after templating: ")
        assert message in outcome.err and outcome.err.rstrip().endswith("(for host h1)")

    @pytest.mark.parametrize(
        ("jump", "value", "message"),
        [
            ("{v}", "ops@bastion:2222@evil", "expected a jump host"),
            ("{v}", "ops@10.0.0.010:2222", "'10.0.0.010' is not a canonical IPv4 address"),
            ("ops@{v}", "bastion:2222", "var {v} = 'bastion:2222' would change the host"),
            ("{v}@bastion", "ops@evil", "cannot be a jump host's user name"),
            ("ops@bastion:{v}", "22@evil", "would change the port"),
            ("ops@{v}", "010.0.0.1", "'010.0.0.1' is not a canonical IPv4 address"),
            ("ops@bastion:{v}", "0", "expected a jump host"),
        ],
    )
    def test_jump_host_values(
        self,
        cli: Callable[..., Outcome],
        inventory_file: Callable[..., Path],
        jump: str,
        value: str,
        message: str,
    ) -> None:
        """A templated jump host is checked after templating, each value in its part (was an `internal`
        record per probe when it did not parse)."""
        path = inventory_file(
            f"probes:\n  s: {{type: ssh, command: uptime, jump: {json.dumps(jump)}}}\n"
            f"groups: {{g: {{vars: {{v: {json.dumps(value)}}}, hosts: [h.invalid], probes: [s]}}}}\n"
        )
        outcome = cli("validate", path)
        assert outcome.code == 3, outcome
        assert outcome.err.startswith(f"error: {path}:2: probes.s.jump: after templating: ")
        assert message in outcome.err

    def test_templated_port_must_be_a_number(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """A tcp or ssh port from a var is a number from 1 to 65535 after templating, nothing else."""
        path = inventory_file(
            """
            probes: {t: {type: tcp, port: "{p}"}}
            groups: {g: {vars: {p: "22@10.9.9.9"}, hosts: [h.invalid], probes: [t]}}
            """
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert "probes.t.port: after templating: expected a port number from 1 to 65535" in outcome.err


class TestOtherFields:
    def test_values_in_user_command_and_check_fields_never_pick_the_target(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """user, command, send, path and unit are data for the chosen host, never a route to another: the
        user is passed as the SSH user name as is (never parsed as user@host), the others shell-quoted
        (or sent as bytes), and the plan's address stays the host's own."""
        path = inventory_file(
            """
            probes:
              s: {type: ssh, user: "{v}", command: "echo {v}", known_hosts: /dev/null}
              d: {type: ssh, check: disk, path: "{v}", known_hosts: /dev/null}
              u: {type: ssh, check: systemd, unit: "{v}", known_hosts: /dev/null}
              t: {type: tcp, port: 25, send: "HELO {v}"}
            groups:
              g:
                vars: {v: "root@10.9.9.9:22 -oProxyCommand=x"}
                hosts: {h1: {address: 127.0.0.1}}
                probes: [s, d, u, t]
            """
        )
        outcome = cli("plan", path)
        assert outcome.code == 0, outcome.err
        records = [json.loads(line) for line in outcome.out.splitlines()]
        assert {r["address"] for r in records} == {"127.0.0.1"}
        s, d, u, t = (r["params"] for r in records)
        value = "root@10.9.9.9:22 -oProxyCommand=x"
        assert s["user"] == value and s["command"] == f"echo '{value}'"
        assert d["path"] == value and u["unit"] == value and t["send"] == f"HELO {value}"


class TestEncoded:
    def test_path_query_and_user_values_are_percent_encoded(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """'@', '/', '?', '#', '%', spaces in a user, password, path or query var are encoded so they stay
        data in that part; the host stays the one the template names."""
        path = inventory_file(
            """
            probes:
              h: {type: http, url: "http://{user}:{pw}@{address}:8080/{p}?q={q}", safe_query: [q, y]}
            groups:
              g:
                vars: {user: "us@er/x", pw: "pw@127.0.0.2:80", p: "a b#c?d%", q: "x&y=1#frag"}
                hosts: {h1: {address: 127.0.0.1}}
                probes: [h]
            """
        )
        (params,) = plan_params(cli, path)
        # The plan redacts the user and password; the rest is shown as it will be sent.
        assert params["url"] == "http://<redacted>:<redacted>@127.0.0.1:8080/a%20b%23c%3Fd%25?q=x&y=1%23frag"
        url = resolve_one(
            "url",
            "http://{user}:{pw}@{address}:8080/{p}",
            {"user": "us@er/x", "pw": "pw@127.0.0.2:80", "address": "h", "p": "x"},
        )
        assert url == "http://us%40er%2Fx:pw%40127.0.0.2:80@h:8080/x"
        parsed = yarl.URL(url)
        assert (parsed.host, parsed.port, parsed.user, parsed.password) == (
            "h",
            8080,
            "us@er/x",
            "pw@127.0.0.2:80",
        )

    def test_a_path_var_after_the_port_begins_the_path(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """http://{address}:{port}{path} (inventories/overrides.yaml) works when the value starts with '/':
        it begins the path there, and its own '@' or ':' cannot reach back into the authority."""
        path = inventory_file(
            """
            probes: {h: {type: http, url: "http://{address}:{port}{path}"}}
            groups:
              g:
                vars: {port: 8080}
                hosts:
                  a: {address: 127.0.0.1, vars: {path: /healthz}}
                  b: {address: 127.0.0.1, vars: {path: "/x@127.0.0.2:80#y"}}
                probes: [h]
            """
        )
        assert [p["url"] for p in plan_params(cli, path)] == [
            "http://127.0.0.1:8080/healthz",
            "http://127.0.0.1:8080/x@127.0.0.2:80%23y",
        ]

    def test_ipv6_address_bracketed(self) -> None:
        """An IPv6 {address} gets brackets (a zone is %25-encoded); in [{address}] it gets none more."""
        assert render("url", "http://{a}:80/", {"a": "::1"}) == "http://[::1]:80/"
        assert render("url", "http://[{a}]/", {"a": "::1"}) == "http://[::1]/"
        assert render("url", "http://{a}/", {"a": "fe80::1%eth0"}) == "http://[fe80::1%25eth0]/"


class TestProperties:
    TEMPLATES = [
        "http://{address}:8080/{v}",
        "https://{address}/x?q={v}",
        "http://{v}@{address}:8080/",
        "http://user:{v}@{address}/",
        "http://{address}:8080{v}",
        "http://{address}/{v}#top",
    ]

    @settings(max_examples=300, deadline=None)
    @given(template=st.sampled_from(TEMPLATES), value=ANY_TEXT)
    @example(template="http://{address}:8080/{v}", value=".")
    @example(template="http://{address}:8080/{v}", value="x/..")
    @example(template="http://{address}:8080/{v}?x=1", value="...")
    def test_no_value_moves_the_url(self, template: str, value: str) -> None:
        """For any text in a user, password, path or query var, the URL is either refused or goes to the
        template's host and port, and aiohttp's parser (yarl) gives the value back unchanged."""
        try:
            url = render("url", template, {"address": "127.0.0.1", "v": value})
        except ValueError as error:
            if "would change the path" in str(error):  # yarl drops dot segments, even as %2E
                assert "{v}" in template.split("?")[0] and {".", ".."} & set(value.split("?")[0].split("/"))
                return
            assert template == "http://{address}:8080{v}", value  # only a value not starting the path
            return
        parsed = yarl.URL(url)
        assert (parsed.scheme, parsed.host) == (template.split(":")[0], "127.0.0.1")
        assert parsed.explicit_port == (8080 if ":8080" in template else None)
        userinfo = unquote(parsed.raw_authority.rpartition("@")[0])  # as sent, percent-decoded
        if ":{v}@" in template:
            assert userinfo == "user:" + value
        elif "{v}@" in template:
            assert userinfo == value  # its own ':' (if any) separates a user from a password
        elif "?q=" in template:
            assert unquote(parsed.raw_query_string) == "q=" + value, url  # as sent: percent-decoded only
        elif template.endswith("{v}") and ":8080{v}" in template:
            assert parsed.path_qs.startswith("/") and value[:1] in "/?#"
        else:
            assert parsed.path == "/" + value, (url, parsed.path)
            assert parsed.fragment == ("top" if template.endswith("#top") else "")


class TestTrailingNewline:
    @pytest.mark.parametrize("value", ["\n", "x\n", "web01\n"])
    def test_a_value_ending_in_newline_is_encoded(self, value: str) -> None:
        """`$` also matches before a final newline: the plain-value checks use \\Z, so a value ending
        in a newline is percent-encoded like any other character that cannot stand in a URL."""
        url = resolve_one("url", "http://{address}:8080/{p}?q={q}", {"address": "h", "p": value, "q": value})
        assert "\n" not in url and url.count("%0A") == 2, url
