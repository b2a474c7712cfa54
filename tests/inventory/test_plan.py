"""`prober plan`: resolved parameters, precedence, templating, dedupe, ranges, --limit and redaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from prober.inventory.loader import load_inventory
from prober.plan import build_plan, settings_for
from tests.inventory.conftest import Outcome

LAYERED = """
defaults:
  timeout: 3s
  retries: 2
  vars: {port: 1001, path: /from-defaults, who: defaults}
probes:
  plain: {type: tcp, port: "{port}"}
  tuned: {type: tcp, port: 7, timeout: 5s}
  cmd: {type: ssh, command: "echo {who} {path}"}
groups:
  g:
    vars: {port: 1002, who: group}
    hosts:
      a.invalid:
      b.invalid:
        vars: {port: 1003}
        overrides:
          tuned: {timeout: 9s, retries: 0}
      c.invalid:
        vars: {who: host}
    probes: [plain, tuned, cmd]
    overrides:
      tuned: {timeout: 6s}
  bare:
    hosts: [d.invalid]
    probes: [plain]
"""


def plan_of(cli: Callable[..., Outcome], path: Path, *args: str) -> dict[tuple[str, str], dict]:
    outcome = cli("plan", path, *args)
    assert outcome.code == 0, outcome.err
    records = [json.loads(line) for line in outcome.out.split("\n") if line]
    return {(r["host"], r["probe"]): r for r in records}


@pytest.fixture
def layered(inventory_file: Callable[..., Path]) -> Path:
    return inventory_file(LAYERED)


class TestParameterPrecedence:
    def test_defaults_beat_built_in(self, cli: Callable[..., Outcome], layered: Path) -> None:
        """`defaults: timeout 3s, retries 2` replace the built-in 2 s and 1 retry."""
        params = plan_of(cli, layered)[("a.invalid", "plain")]["params"]
        assert (params["timeout"], params["retries"]) == (3.0, 2)

    def test_built_in_when_nothing_set(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """Without `defaults:`, the built-in timeout (2 s), retries (1) and read cap apply."""
        path = inventory_file(
            "probes: {p: {type: tcp, port: 1}}\ngroups: {g: {hosts: [h.invalid], probes: [p]}}\n"
        )
        params = plan_of(cli, path)[("h.invalid", "p")]["params"]
        assert (params["timeout"], params["retries"], params["read_max_bytes"]) == (2.0, 1, 4096)

    def test_cli_flag_replaces_defaults(self, layered: Path) -> None:
        """A --timeout flag replaces `defaults.timeout` for probes that do not set their own."""
        inventory = load_inventory(str(layered))
        jobs = build_plan(inventory, settings_for(inventory, timeout=0.5, retries=None))
        spec = {(j.target.name, j.spec.name): j.spec for j in jobs}
        assert spec[("a.invalid", "plain")].timeout == 0.5
        assert spec[("a.invalid", "plain")].retries == 2

    def test_probe_definition_beats_cli_flag(self, inventory_file: Callable[..., Path]) -> None:
        """A probe's own `timeout: 5s` wins over the --timeout flag, which only replaces `defaults:`."""
        path = inventory_file(
            "defaults: {timeout: 3s}\n"
            "probes: {p: {type: tcp, port: 1, timeout: 5s}, q: {type: tcp, port: 2}}\n"
            "groups: {g: {hosts: [h.invalid], probes: [p, q]}}\n"
        )
        inventory = load_inventory(str(path))
        jobs = build_plan(inventory, settings_for(inventory, timeout=0.5))
        assert {j.spec.name: j.spec.timeout for j in jobs} == {"p": 5.0, "q": 0.5}

    def test_probe_definition_beats_defaults(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """With no overrides, the probe definition's timeout beats `defaults.timeout`."""
        path = inventory_file(
            "defaults: {timeout: 3s}\nprobes: {p: {type: tcp, port: 1, timeout: 5s}}\n"
            "groups: {g: {hosts: [h.invalid], probes: [p]}}\n"
        )
        assert plan_of(cli, path)[("h.invalid", "p")]["params"]["timeout"] == 5.0

    def test_group_override_beats_probe_definition(self, cli: Callable[..., Outcome], layered: Path) -> None:
        """The group's `overrides: {tuned: {timeout: 6s}}` beats the probe's 5 s; untouched keys stay."""
        params = plan_of(cli, layered)[("a.invalid", "tuned")]["params"]
        assert (params["timeout"], params["retries"], params["port"]) == (6.0, 2, 7)

    def test_host_override_beats_group_override(self, cli: Callable[..., Outcome], layered: Path) -> None:
        """The host's `overrides:` (9 s, 0 retries) beats the group's 6 s and the defaults' 2 retries."""
        params = plan_of(cli, layered)[("b.invalid", "tuned")]["params"]
        assert (params["timeout"], params["retries"]) == (9.0, 0)


class TestVarPrecedence:
    def test_group_vars_beat_defaults_vars(self, cli: Callable[..., Outcome], layered: Path) -> None:
        """Group `vars: {port: 1002}` beats `defaults.vars`; unset names fall through to defaults."""
        plan = plan_of(cli, layered)
        assert plan[("a.invalid", "plain")]["params"]["port"] == 1002
        assert plan[("a.invalid", "cmd")]["params"]["command"] == "echo group /from-defaults"

    def test_defaults_vars_apply_without_group_vars(self, cli: Callable[..., Outcome], layered: Path) -> None:
        """A group without vars uses `defaults.vars`."""
        assert plan_of(cli, layered)[("d.invalid", "plain")]["params"]["port"] == 1001

    def test_host_vars_beat_group_vars(self, cli: Callable[..., Outcome], layered: Path) -> None:
        """Host `vars` beat group vars for that host only."""
        plan = plan_of(cli, layered)
        assert plan[("b.invalid", "plain")]["params"]["port"] == 1003
        assert plan[("c.invalid", "cmd")]["params"]["command"] == "echo host /from-defaults"

    @pytest.mark.parametrize("name", ["host", "address", "group"])
    def test_reserved_names_cannot_be_vars(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], name: str
    ) -> None:
        """{host}, {address} and {group} always come from the plan: a var with that name is an error."""
        path = inventory_file(
            f"probes: {{p: {{type: tcp, port: 1}}}}\n"
            f"groups:\n  g:\n    vars: {{{name}: evil}}\n    hosts: [h.invalid]\n    probes: [p]\n"
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert (
            f"error: {path}:4: groups.g.vars.{name}: var names are identifiers, not host/address/group"
            in (outcome.err)
        )

    def test_builtin_fields_template(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """{host}, {address} and {group} template into url, command and tcp send."""
        path = inventory_file(
            """
            probes:
              h: {type: http, url: "http://{address}/x?h={host}&g={group}", safe_query: [h, G]}
              s: {type: ssh, command: "hostname {host}"}
              t: {type: tcp, port: 1, send: "HELLO {host}\\r\\n"}
            groups:
              grp:
                hosts: {n1.invalid: {address: 127.0.0.9}}
                probes: [h, s, t]
            """
        )
        plan = plan_of(cli, path)
        assert plan[("n1.invalid", "h")]["params"]["url"] == "http://127.0.0.9/x?h=n1.invalid&g=grp"
        assert plan[("n1.invalid", "s")]["params"]["command"] == "hostname n1.invalid"
        assert plan[("n1.invalid", "t")]["params"]["send"] == "HELLO n1.invalid\r\n"

    def test_braces_escape(self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]) -> None:
        """`{{` and `}}` are literal braces, so a command can use shell ${{HOME}}."""
        path = inventory_file(
            'probes: {s: {type: ssh, command: "test -d ${{HOME}} && echo {host}"}}\n'
            "groups: {g: {hosts: [h.invalid], probes: [s]}}\n"
        )
        assert (
            plan_of(cli, path)[("h.invalid", "s")]["params"]["command"] == "test -d ${HOME} && echo h.invalid"
        )

    def test_ipv6_address_bracketed_in_url(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """An IPv6 address templated into a URL host gets brackets so the port stays separate."""
        path = inventory_file(
            'probes: {h: {type: http, url: "http://{address}:8080/"}}\n'
            "groups: {g: {hosts: {v6.invalid: {address: '::1'}}, probes: [h]}}\n"
        )
        assert plan_of(cli, path)[("v6.invalid", "h")]["params"]["url"] == "http://[::1]:8080/"


class TestPlanShape:
    def test_record_keys(self, cli: Callable[..., Outcome], layered: Path) -> None:
        """Each plan line has event, index, host, address, group, probe, type and params (no kind)."""
        record = plan_of(cli, layered)[("a.invalid", "plain")]
        assert set(record) == {"event", "index", "host", "address", "group", "probe", "type", "params"}
        assert (record["event"], record["type"], record["group"], record["address"]) == (
            "plan",
            "tcp",
            "g",
            "a.invalid",
        )
        assert "kind" not in record["params"] and "name" not in record["params"]

    def test_long_command_is_not_cut(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """A 6000-character command appears whole: plan lines are never shortened like result lines."""
        command = "echo " + "x" * 6000
        path = inventory_file(
            f"probes: {{s: {{type: ssh, command: '{command}'}}}}\n"
            "groups: {g: {hosts: [h.invalid], probes: [s]}}\n"
        )
        assert plan_of(cli, path)[("h.invalid", "s")]["params"]["command"] == command

    def test_host_in_two_groups_gets_each_probe_once(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """A host listed in two groups (and twice in one) gets each probe once, planned by the first group."""
        path = inventory_file(
            """
            probes:
              p: {type: tcp, port: 1}
              q: {type: tcp, port: 2}
            groups:
              one: {hosts: [shared.invalid, shared.invalid, a.invalid], probes: [p]}
              two: {hosts: ["shared.invalid", b.invalid], probes: [p, q]}
            """
        )
        plan = plan_of(cli, path)
        assert sorted(plan) == [
            ("a.invalid", "p"),
            ("b.invalid", "p"),
            ("b.invalid", "q"),
            ("shared.invalid", "p"),
            ("shared.invalid", "q"),
        ]
        assert plan[("shared.invalid", "p")]["group"] == "one"
        assert plan[("shared.invalid", "q")]["group"] == "two"


class TestRangesInPlan:
    @pytest.mark.parametrize(
        ("pattern", "hosts"),
        [
            ("web[01:03].invalid", ["web01.invalid", "web02.invalid", "web03.invalid"]),
            ("web[1:3].invalid", ["web1.invalid", "web2.invalid", "web3.invalid"]),
            ("web[8:10].invalid", ["web8.invalid", "web9.invalid", "web10.invalid"]),
            ("web[008:010].invalid", ["web008.invalid", "web009.invalid", "web010.invalid"]),
            ("db-[a:c].invalid", ["db-a.invalid", "db-b.invalid", "db-c.invalid"]),
            ("db-[A:E:2].invalid", ["db-A.invalid", "db-C.invalid", "db-E.invalid"]),
            ("n[0:10:5].invalid", ["n0.invalid", "n5.invalid", "n10.invalid"]),
            ("r[1:2]-[a:b].invalid", ["r1-a.invalid", "r1-b.invalid", "r2-a.invalid", "r2-b.invalid"]),
            ("127.0.0.[1:3]", ["127.0.0.1", "127.0.0.2", "127.0.0.3"]),
        ],
    )
    def test_range_expansion(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], pattern: str, hosts: list[str]
    ) -> None:
        """Ranges expand in order with Ansible's padding rule, letters and strides."""
        path = inventory_file(
            f"probes: {{p: {{type: tcp, port: 1}}}}\ngroups: {{g: {{hosts: ['{pattern}'], probes: [p]}}}}\n"
        )
        assert [host for host, _ in plan_of(cli, path)] == hosts


class TestLimit:
    @pytest.fixture
    def fleet(self, inventory_file: Callable[..., Path]) -> Path:
        return inventory_file(
            """
            probes: {p: {type: tcp, port: 1}}
            groups:
              web: {hosts: ["web[1:3].invalid"], probes: [p]}
              db: {hosts: ["db[1:2].invalid"], probes: [p]}
              cache: {hosts: [redis.invalid], probes: [p]}
            """
        )

    @pytest.mark.parametrize(
        ("limit", "hosts"),
        [
            ("db", ["db1.invalid", "db2.invalid"]),
            ("web2.invalid", ["web2.invalid"]),
            ("db,redis.invalid", ["db1.invalid", "db2.invalid", "redis.invalid"]),
            ("web[13]*", ["web1.invalid", "web3.invalid"]),
            ("*2.invalid", ["web2.invalid", "db2.invalid"]),
            ("c*", ["redis.invalid"]),
        ],
    )
    def test_limit_selects(
        self, cli: Callable[..., Outcome], fleet: Path, limit: str, hosts: list[str]
    ) -> None:
        """--limit takes group names, host names and globs, comma-separated."""
        assert [host for host, _ in plan_of(cli, fleet, "--limit", limit)] == hosts

    def test_limit_matching_nothing_exits_3(self, cli: Callable[..., Outcome], fleet: Path) -> None:
        """A --limit that matches no group or host is bad input: exit 3, a clear message, no output."""
        for command in ("plan", "validate", "sweep"):
            args = [command, fleet, "--limit", "nosuch*"] if command != "validate" else [command, fleet]
            outcome = cli(*args)
            if command == "validate":
                assert outcome.code == 0
                continue
            assert outcome.code == 3
            assert outcome.out == ""
            assert outcome.err == (
                f"error: {fleet}: --limit: 'nosuch*' matches no group or host (groups: cache, db, web)\n"
            )


class TestRedaction:
    def test_url_password_and_token_redacted(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """A URL's password and token-like query values are redacted in plan output (the Authorization
        header in a probe of its own: with URL credentials it could never be sent)."""
        path = inventory_file(
            """
            probes:
              h:
                type: http
                url: "http://admin:hunter2pw@{address}/status?verbose=1&access_token=tok3n"
                headers: {X-Api-Key: k3y, Accept: text/plain}
              a: {type: http, url: "http://{address}/", headers: {Authorization: "Bearer s3cr3t"}}
            groups: {g: {hosts: [h.invalid], probes: [h, a]}}
            """
        )
        outcome = cli("plan", path)
        assert outcome.code == 0
        params, auth = (json.loads(line)["params"] for line in outcome.out.splitlines())
        assert params["url"] == "http://<redacted>:<redacted>@h.invalid/status?verbose=1&access_token=<redacted>"
        assert params["headers"] == {"X-Api-Key": "<redacted>", "Accept": "text/plain"}
        assert auth["headers"] == {"Authorization": "<redacted>"}
        for secret in ("hunter2pw", "tok3n", "s3cr3t", "k3y"):
            assert secret not in outcome.out + outcome.err

    def test_url_password_not_in_error(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """An invalid URL with a password is quoted in the error message with the password redacted."""
        path = inventory_file(
            'probes: {h: {type: http, url: "gopher://u:hunter2pw@h.invalid/"}}\n'
            "groups: {g: {hosts: [h.invalid], probes: [h]}}\n"
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert "gopher://<redacted>:<redacted>@h.invalid/" in outcome.err
        assert "hunter2pw" not in outcome.err


class TestHostDeclarations:
    def test_address_on_a_range_is_refused(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """One address for a range of hosts would probe one machine N times: refused with its line."""
        path = inventory_file(
            """
            probes: {p: {type: tcp, port: 1}}
            groups:
              g:
                hosts:
                  "db[1:3].invalid": {address: 127.0.0.1}
                probes: [p]
            """
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert outcome.err == (
            f"error: {path}:5: groups.g.hosts.db[1:3].invalid.address: one address for 3 hosts "
            "('db[1:3].invalid' is a range); give each host its own\n"
        )

    def test_mapping_hosts_with_null_body(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """In mapping form a host may have no settings (`name:`); it is planned with its name as address."""
        path = inventory_file(
            """
            probes: {p: {type: tcp, port: 1}}
            groups:
              g:
                hosts:
                  "a[1:2].invalid":
                  b.invalid: {vars: {x: 1}}
                probes: [p]
            """
        )
        plan = plan_of(cli, path)
        assert [(h, r["address"]) for (h, _), r in plan.items()] == [
            ("a1.invalid", "a1.invalid"),
            ("a2.invalid", "a2.invalid"),
            ("b.invalid", "b.invalid"),
        ]


class TestOnlyTemplatedFieldsAreTemplated:
    def test_regex_braces_untouched(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], tmp_path: Path
    ) -> None:
        """Braces in body_regex, expect and key are literal: only url, port, command, send, user template
        (the key file, named with literal braces, exists: validate checks that it can be read)."""
        key = tmp_path / "{host}.key"
        key.write_text("")
        path = inventory_file(
            r"""
            probes:
              h: {type: http, url: "http://{address}/", body_regex: '^\{\{"ok": \d{1,3}\}\}$'}
              t: {type: tcp, port: 1, expect: '^{{x}}'}
              s: {type: ssh, command: uptime, key: "KEY"}
            groups: {g: {hosts: [a.invalid], probes: [h, t, s]}}
            """.replace("KEY", str(key))
        )
        plan = plan_of(cli, path)
        assert plan[("a.invalid", "h")]["params"]["body_regex"] == r'^\{\{"ok": \d{1,3}\}\}$'
        assert plan[("a.invalid", "t")]["params"]["expect"] == "^{{x}}"
        assert plan[("a.invalid", "s")]["params"]["key"] == str(key)


class TestStreamedPlan:
    def test_template_problem_late_in_the_plan_prints_no_plan_line(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """The plan is streamed, but bad input found at its very end still prints nothing and exits 3."""
        path = inventory_file(
            """
            probes:
              p: {type: tcp, port: 1}
              q: {type: tcp, port: "{qport}"}
            groups:
              first: {hosts: ["a[1:500].invalid"], probes: [p]}
              last: {hosts: ["z.invalid"], probes: [q], vars: {qport: "nope"}}
            """
        )
        outcome = cli("plan", path)
        assert outcome.code == 3
        assert outcome.out == ""
        assert outcome.err.startswith(f"error: {path}:3: probes.q.port: after templating: expected a port")

    def test_host_listed_again_gets_only_its_missing_probes(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path]
    ) -> None:
        """A host in three declarations gets each probe once, planned by the first declaration naming it."""
        path = inventory_file(
            """
            probes:
              p: {type: tcp, port: 1}
              q: {type: tcp, port: 2}
              r: {type: tcp, port: 3}
            groups:
              a: {hosts: ["h[1:3].invalid"], probes: [p]}
              b: {hosts: ["h2.invalid", "h[2:3].invalid"], probes: [p, q]}
              c: {hosts: ["h3.invalid"], probes: [r, q, p]}
            """
        )
        plan = plan_of(cli, path)
        assert [(host, probe, r["group"]) for (host, probe), r in plan.items()] == [
            ("h1.invalid", "p", "a"),
            ("h2.invalid", "p", "a"),
            ("h3.invalid", "p", "a"),
            ("h2.invalid", "q", "b"),
            ("h3.invalid", "q", "b"),
            ("h3.invalid", "r", "c"),
        ]
        validate = cli("validate", path)
        assert validate.code == 0 and "3 hosts, 6 planned probes" in validate.err
