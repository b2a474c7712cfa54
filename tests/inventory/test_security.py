"""Security of the input side: no shell injection through templates, no file contents, no secrets."""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prober.templating import render
from tests.conftest import run_cli
from tests.inventory.conftest import Outcome

HOSTILE = ["x; rm -rf /", "$(id)", "`id`", "a'b", 'a"b', "a\nb", "*", "$HOME", "a\\", "|| true &"]


def plan_of(cli: Callable[..., Outcome], path: Path) -> list[dict]:
    outcome = cli("plan", path)
    assert outcome.code == 0, outcome.err
    return [json.loads(line) for line in outcome.out.split("\n") if line]


def sh_printf(command: str) -> str:
    """Run a rendered command in a local POSIX shell and return what it printed."""
    proc = subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=10, check=True)
    return proc.stdout.decode("utf-8", "surrogateescape")  # bytes: no newline translation


def closed_loopback_port() -> int:
    """A loopback port nothing listens on (bound, then released), so a probe there is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestShellInjection:
    @pytest.mark.parametrize("value", HOSTILE)
    def test_var_is_one_quoted_word_in_plan(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], value: str
    ) -> None:
        """A hostile var templated into an SSH command is shell-quoted: the shell sees one literal word."""
        path = inventory_file("probes: {s: {type: ssh, command: 'printf %s {v}'}}\n")
        with path.open("a") as handle:
            handle.write("groups:\n  g:\n    hosts: [h.invalid]\n    probes: [s]\n    vars:\n      v: ")
            handle.write(json.dumps(value) + "\n")
        (record,) = plan_of(cli, path)
        command = record["params"]["command"]
        assert command == f"printf %s {shlex.quote(value)}" != f"printf %s {value}"
        if shutil.which("sh"):
            assert sh_printf(command) == value

    def test_exact_quoting_of_classic_payloads(self) -> None:
        """`x; rm -rf /` and `$(id)` render inside single quotes."""
        assert render("command", "echo {v}", {"v": "x; rm -rf /"}) == "echo 'x; rm -rf /'"
        assert render("command", "echo {v}", {"v": "$(id)"}) == "echo '$(id)'"
        assert render("command", "echo {v}", {"v": "it's"}) == "echo 'it'\"'\"'s'"

    @settings(max_examples=200, deadline=None)
    @given(
        st.text(
            alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40
        )
    )
    def test_any_value_round_trips_through_sh(self, value: str) -> None:
        """For any text without NUL, `printf %s {v}` rendered and run by sh prints exactly that text."""
        command = render("command", "printf %s {v}", {"v": value})
        assert sh_printf(command) == value

    @pytest.mark.parametrize(
        "command",
        ["echo '{v}'", 'echo "{v}"', 'echo "pre {v} post"', "sh -c 'echo {v}'"],
    )
    def test_template_inside_quotes_rejected(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], command: str
    ) -> None:
        """A field inside quotes would undo the quoting, so validation refuses it with the key and line."""
        path = inventory_file(
            "probes:\n  s:\n    type: ssh\n    command: " + json.dumps(command) + "\n"
            "groups: {g: {vars: {v: x}, hosts: [h.invalid], probes: [s]}}\n"
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert outcome.err.startswith(
            f"error: {path}:4: probes.s.command: template field {{v}} is inside quotes"
        )

    @pytest.mark.parametrize("command", ["echo \\'{v}", "echo 'a' {v} \"b\"", "echo {v} # it's"])
    def test_template_outside_quotes_accepted(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], command: str
    ) -> None:
        """Escaped quotes and closed quoted strings around a bare field are fine."""
        path = inventory_file(
            "probes:\n  s:\n    type: ssh\n    command: " + json.dumps(command) + "\n"
            "groups: {g: {vars: {v: x}, hosts: [h.invalid], probes: [s]}}\n"
        )
        assert cli("validate", path).code == 0

    @pytest.mark.parametrize(
        "host", ["h;reboot", "$(id)", "`id`", "a b", "-oProxyCommand=x", "h/../x", "u@h"]
    )
    def test_hostile_host_names_rejected(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], host: str
    ) -> None:
        """Host names and addresses carrying shell or URL syntax are refused at validation."""
        for hosts in (f"[{json.dumps(host)}]", f"{{ok.invalid: {{address: {json.dumps(host)}}}}}"):
            path = inventory_file(
                "probes: {s: {type: ssh, command: 'echo {host}'}}\n"
                f"groups: {{g: {{hosts: {hosts}, probes: [s]}}}}\n"
            )
            outcome = cli("validate", path)
            assert outcome.code == 3, hosts
            assert f"{path}:2: groups.g.hosts" in outcome.err


class TestNoFileContents:
    @pytest.fixture
    def marker_file(self, tmp_path: Path) -> tuple[Path, str]:
        marker = "MARKER-FILE-CONTENT-5e1f"
        path = tmp_path / "not-a-key"
        path.write_text(f"-----BEGIN FAKE-----\n{marker}\n-----END FAKE-----\n")
        return path, marker

    def test_paths_are_shown_never_contents(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], marker_file: tuple[Path, str]
    ) -> None:
        """key, known_hosts and ca_file pointing at files: plan and validate show paths, never contents."""
        secret, marker = marker_file
        path = inventory_file(
            f"""
            probes:
              s: {{type: ssh, command: uptime, key: {secret}, known_hosts: {secret}}}
              h: {{type: http, url: "https://{{address}}/", ca_file: {secret}}}
              p: {{type: ssh, command: uptime, key: /etc/passwd, known_hosts: /etc/passwd}}
            groups: {{g: {{hosts: [h.invalid], probes: [s, h, p]}}}}
            """
        )
        for command in ("validate", "plan"):
            outcome = cli(command, path)
            assert outcome.code == 0, outcome.err
            assert marker not in outcome.out + outcome.err
            assert "root:" not in outcome.out + outcome.err
        records = plan_of(cli, path)
        assert records[0]["params"]["key"] == str(secret)

    def test_error_messages_do_not_read_files(
        self, cli: Callable[..., Outcome], inventory_file: Callable[..., Path], marker_file: tuple[Path, str]
    ) -> None:
        """A bad inventory that names a secret file reports the problem without the file's contents."""
        secret, marker = marker_file
        path = inventory_file(
            f"probes:\n  s: {{type: ssh, command: uptime, key: {secret}, port: 0}}\n"
            "groups: {g: {hosts: [h.invalid], probes: [s]}}\n"
        )
        outcome = cli("validate", path)
        assert outcome.code == 3
        assert marker not in outcome.err

    def test_inventory_path_to_secret_file_does_not_echo_it(
        self, cli: Callable[..., Outcome], tmp_path: Path
    ) -> None:
        """`prober validate SECRETFILE` on a non-inventory file does not print its lines back."""
        secret = tmp_path / "id_ed25519"
        secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nMARKERb3BlbnNzaC1rZXktdjEA\n-----END-----\n")
        outcome = cli("validate", secret)
        assert outcome.code == 3
        assert "MARKERb3BlbnNzaC1rZXktdjEA" not in outcome.err

    def test_sweep_record_shows_path_not_contents(
        self, inventory_file: Callable[..., Path], marker_file: tuple[Path, str]
    ) -> None:
        """Sweeping a refused loopback port with a bogus key and CA file: records name paths, not contents."""
        secret, marker = marker_file
        port = closed_loopback_port()
        path = inventory_file(
            f"""
            probes:
              s: {{type: ssh, command: uptime, port: {port}, key: {secret}, agent: false, retries: 0}}
              k: {{type: ssh, command: uptime, port: {port}, known_hosts: {secret}, agent: false, retries: 0}}
              h: {{type: http, url: "https://{{address}}:{port}/", ca_file: {secret}, retries: 0}}
            groups: {{g: {{hosts: {{lo: {{address: 127.0.0.1}}}}, probes: [s, k, h]}}}}
            """
        )
        proc = run_cli("sweep", str(path), "--timeout", "1s")
        assert proc.returncode == 2, proc.stderr
        records = [json.loads(line) for line in proc.stdout.splitlines()]
        assert len(records) == 4
        assert marker not in proc.stdout + proc.stderr
        assert any(str(secret) in (r.get("error") or {}).get("message", "") for r in records)


class TestSecrets:
    MARKER = "MARKER-PASSWORD-b71c"

    @pytest.fixture
    def inventory(self, inventory_file: Callable[..., Path]) -> Path:
        port = closed_loopback_port()
        return inventory_file(
            f"""
            probes:
              s: {{type: ssh, command: uptime, port: {port}, password_env: PROBER_TEST_PW, agent: false,
                   passphrase_env: PROBER_TEST_PW, retries: 0}}
            groups: {{g: {{hosts: {{lo: {{address: 127.0.0.1}}}}, probes: [s]}}}}
            """
        )

    def test_plan_and_validate_never_show_env_password(
        self, inventory: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Outcome]
    ) -> None:
        """The plan names the variable (password_env) but never its value; nor does validate."""
        monkeypatch.setenv("PROBER_TEST_PW", self.MARKER)
        for command in ("plan", "validate"):
            outcome = cli(command, inventory)
            assert outcome.code == 0
            assert self.MARKER not in outcome.out + outcome.err
        assert '"password_env":"PROBER_TEST_PW"' in cli("plan", inventory).out

    def test_sweep_never_shows_env_password(self, inventory: Path) -> None:
        """A sweep using password_env (refused loopback port) never prints the password anywhere."""
        proc = run_cli("-v", "sweep", str(inventory), "--timeout", "1s", env={"PROBER_TEST_PW": self.MARKER})
        assert proc.returncode == 2
        assert '"event":"probe"' in proc.stdout
        assert self.MARKER not in proc.stdout + proc.stderr
