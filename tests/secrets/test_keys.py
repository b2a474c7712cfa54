"""The inventory keys of this work: headers_env, safe_headers, safe_query, allow_insecure_redirects,
send_env. Bad values are refused at file:line with exit 3; plan shows names, never values."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.inventory.conftest import Outcome, call_cli


def check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, probe: str, command: str = "validate"
) -> Outcome:
    path = tmp_path / "inv.yaml"
    body = textwrap.indent(textwrap.dedent(probe).strip(), " " * 4)
    path.write_text(f"probes:\n  p:\n{body}\ngroups: {{g: {{hosts: [h.invalid], probes: [p]}}}}\n")
    return call_cli(capsys, command, str(path))


class TestRefused:
    @pytest.mark.parametrize(
        ("probe", "line", "key", "words"),
        [
            (
                "type: http\nurl: http://h/\nheaders_env: {X-Api-Key: 1API}",
                3,
                "headers_env",
                "expected an environment variable name",
            ),
            ("type: http\nurl: http://h/\nheaders_env: API_KEY", 3, "headers_env", "expected a mapping"),
            (
                "type: http\nurl: http://h/\nheaders_env: {'X Key': API_KEY}",
                3,
                "headers_env",
                "not a valid header",
            ),
            (
                "type: http\nurl: http://h/\nheaders: {X-Api-Key: a}\nheaders_env: {x-api-key: K}",
                4,
                "headers_env",
                "header 'x-api-key' is also set in 'headers'",
            ),
            (
                "type: http\nurl: http://h/\nsafe_query: [page, 3]",
                3,
                "safe_query",
                "expected a list of names",
            ),
            ("type: http\nurl: http://h/\nsafe_headers: []", 3, "safe_headers", "expected a list of names"),
            (
                "type: http\nurl: http://h/\nallow_insecure_redirects: 'on'",
                3,
                "allow_insecure_redirects",
                "true or",
            ),
            ("type: tcp\nport: 6379\nsend: PING\nsend_env: REDIS_AUTH", 4, "send_env", "either 'send' or"),
            (
                "type: tcp\nport: 6379\nsend_env: 'A-B'",
                3,
                "send_env",
                "expected an environment variable name",
            ),
        ],
    )
    def test_bad_value(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, probe: str, line: int, key: str, words: str
    ) -> None:
        """Each mistake is reported with file:line and the key, exit 3."""
        outcome = check(capsys, tmp_path, probe)
        assert outcome.code == 3, outcome.err
        assert f"inv.yaml:{line + 2}: probes.p.{key}: " in outcome.err and words in outcome.err, outcome.err

    def test_header_value_never_quoted_in_an_error(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A header value with a line break is refused without quoting the value."""
        outcome = check(capsys, tmp_path, 'type: http\nurl: http://h/\nheaders: {X-Api-Key: "Zq9Tok\\nen77"}')
        assert outcome.code == 3 and "values cannot contain line breaks" in outcome.err
        assert "Zq9Tok" not in outcome.err and "en77" not in outcome.err


class TestPlan:
    def test_names_shown_values_hidden(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """plan shows header variables by name, safe headers and parameters by value, the rest hidden."""
        probe = """
            type: http
            url: "http://h/?region=eu&tok=Zq9Tok3n&page=1"
            headers: {X-Region: eu-1, X-Api-Key: Zq9K3yy, Accept: "*/*"}
            headers_env: {Authorization: PROBER_T_AUTH}
            safe_headers: [x-REGION]
            safe_query: [Region]
            follow_redirects: true
            allow_insecure_redirects: true
        """
        outcome = check(capsys, tmp_path, probe, "plan")
        assert outcome.code == 0, outcome.err
        params = json.loads(outcome.out)["params"]
        assert params["url"] == "http://h/?region=eu&tok=<redacted>&page=1"
        assert params["headers"] == {"X-Region": "eu-1", "X-Api-Key": "<redacted>", "Accept": "*/*"}
        assert params["headers_env"] == {"Authorization": "PROBER_T_AUTH"}
        assert params["safe_headers"] == ["x-region"] and params["safe_query"] == ["region"]
        assert params["allow_insecure_redirects"] is True
        assert "Zq9" not in outcome.out + outcome.err
