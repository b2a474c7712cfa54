"""Grep outputs for secrets: each secret whole and every 6-character piece of it, in every stream.

Reusable by any test that produces output (records, logs, plan, validate, and the JUnit, metrics and
report files later issues add): collect the streams as {name: text}, then `assert_no_leaks`.
"""

from __future__ import annotations

import asyncio
import json
import secrets as random_source
import string
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.conftest import ROOT, cli_env

PIECE = 6  # a run of this many characters of a secret is a leak
_ALPHABET = string.ascii_letters + string.digits


def new_secret(prefix: str = "", size: int = 20) -> str:
    """A random secret whose 6-character pieces cannot occur in output by chance (letters and digits)."""
    return prefix + "".join(random_source.choice(_ALPHABET) for _ in range(size))


def pieces(secret: str, size: int = PIECE) -> set[str]:
    """Every `size`-character run of `secret`; a shorter secret is its own only piece."""
    if len(secret) <= size:
        return {secret}
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def find_leaks(
    streams: Mapping[str, str | bytes], secrets: Iterable[str], size: int = PIECE
) -> list[tuple[str, str, str]]:
    """(stream, secret, piece) for each piece of a secret found in a stream."""
    found = []
    for name, content in streams.items():
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        for secret in secrets:
            for piece in sorted(pieces(secret, size)):
                if piece in text:
                    found.append((name, secret, piece))
                    break  # one piece per (stream, secret) is enough to report
    return found


def assert_no_leaks(streams: Mapping[str, str | bytes], secrets: Iterable[str], size: int = PIECE) -> None:
    secrets = list(secrets)
    assert secrets, "no secrets given: the check would pass vacuously"
    assert any(streams.values()), "no output at all: the check would pass vacuously"
    leaks = find_leaks(streams, secrets, size)
    assert not leaks, "secret pieces found: " + "; ".join(f"{s}: {p!r} of {x[:4]}…" for s, x, p in leaks)


async def run_cli(*args: str, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """`python -m prober ARGS` as a child of this event loop (in-process servers keep serving)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "prober",
        *args,
        cwd=ROOT,
        env=cli_env(dict(env or {})),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def every_stream(inventory: Path, env: Mapping[str, str], out_dir: Path) -> dict[str, str]:
    """Every output of validate, plan and sweep (stdout, stderr with -v, -o FILE, --workers 2; the
    sweep's table, JUnit, annotations, step summary with --baseline; --nagios), and of what reads
    results back: report (HTML, JUnit, GitHub annotations and step summary) and diff."""
    streams: dict[str, str] = {}
    for command in ("validate", "plan"):
        code, out, err = await run_cli(command, str(inventory), env=env)
        assert code == 0, err
        streams[f"{command} stdout"], streams[f"{command} stderr"] = out, err
    code, out, err = await run_cli("-v", "sweep", str(inventory), "--workers", "1", env=env)
    streams["sweep stdout"], streams["sweep stderr"] = out, err
    output = out_dir / "records.jsonl"
    code_o, out, err = await run_cli("sweep", str(inventory), "-o", str(output), "--workers", "2", env=env)
    assert code_o == code, (code, code_o, err)
    streams["sweep -o file"], streams["sweep -o stderr"] = output.read_text(), err
    streams["sweep -o stdout"] = out or "(empty)"
    streams.update(await _result_streams(output, streams["sweep stdout"], env, out_dir))
    streams.update(await _sweep_outputs(inventory, env, out_dir, code))
    return streams


async def _sweep_outputs(inventory: Path, env: Mapping[str, str], out_dir: Path, code: int) -> dict[str, str]:
    """The sweep's own CI and terminal outputs, fed live: table, JUnit, annotations, step summary
    (against the first sweep as --baseline), and the Nagios line with its -o file."""
    junit, summary = out_dir / "sweep-junit.xml", out_dir / "sweep-summary.md"
    github = {**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    args = ("--format", "table", "--junit", str(junit), "--baseline", str(out_dir / "first.jsonl"))
    code_ci, out, err = await run_cli("sweep", str(inventory), *args, env=github)
    assert code_ci == code or code_ci == 0, err  # with a baseline, only new failures count
    streams = {"sweep table": out, "sweep annotations": err, "sweep junit": junit.read_text()}
    streams["sweep step summary"] = summary.read_text()
    assert "::" in err and "<testsuite " in streams["sweep junit"]  # the outputs were written
    nagios = out_dir / "nagios.jsonl"
    _, out, err = await run_cli("sweep", str(inventory), "--nagios", "-o", str(nagios), env=env)
    assert out.startswith("PROBER "), (out, err)
    streams |= {"sweep nagios": out, "sweep nagios stderr": err or "(empty)"}
    streams["sweep nagios -o"] = nagios.read_text()
    return streams


async def _result_streams(results: Path, first: str, env: Mapping[str, str], out_dir: Path) -> dict[str, str]:
    """report and diff over the sweeps' results: they show only what records show."""
    baseline = out_dir / "first.jsonl"
    baseline.write_text(first)
    html, junit, summary = out_dir / "report.html", out_dir / "junit.xml", out_dir / "summary.md"
    github = {**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    args = ("report", str(results), "--baseline", str(baseline), "-o", str(html), "--junit", str(junit))
    code, out, err = await run_cli(*args, env=github)
    assert code == 0, err
    streams = {"report stdout": out or "(empty)", "report stderr (annotations)": err}
    streams |= {
        "report html": html.read_text(),
        "junit xml": junit.read_text(),
        "step summary": summary.read_text(),
    }
    host = json.loads(first.splitlines()[0])["host"]  # the outputs do carry the records (not vacuous)
    assert all(
        f">{host}<" in streams[name] or f"{host}/" in streams[name] for name in ("report html", "junit xml")
    )
    code, out, err = await run_cli("diff", str(baseline), str(results), "--format", "table", env=env)
    assert code in (0, 2), err
    streams["diff table"], streams["diff stderr"] = out, err or "(empty)"
    return streams
