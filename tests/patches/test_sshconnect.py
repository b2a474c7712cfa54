"""SSH connections without asyncssh.connect's executor hop, and with it: the same logins and refusals."""

from __future__ import annotations

from typing import Any

import asyncssh
import pytest

from prober._patches import SWITCH, sshconnect
from tests.ssh.conftest import Keys, run_one


def test_guard_matches_installed_asyncssh() -> None:
    """asyncssh's internal _connect and the options' keywords are what `connect` mirrors: if an
    asyncssh upgrade changes them, this fails (connect would silently take asyncssh.connect)."""
    assert sshconnect.COMPATIBLE


@pytest.fixture
def stock_connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Hosts that went through asyncssh.connect (the stock path)."""
    calls: list[str] = []
    real = asyncssh.connect

    async def counting(host: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(host)
        return await real(host, *args, **kwargs)

    monkeypatch.setattr(asyncssh, "connect", counting)
    return calls


@pytest.mark.parametrize("switch", ["", "1"])
async def test_both_paths_log_in_and_check_host_keys(
    sim_server: Any, keys: Keys, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, stock_connects: list[str],
    switch: str,
) -> None:
    """A command runs, and a host whose key is not in known_hosts is refused (host_key), on the fast
    path (no asyncssh.connect call) and with PROBER_NO_PATCHES=1 (asyncssh.connect for each)."""
    monkeypatch.setenv(SWITCH, switch)
    server = await sim_server()
    ok = await run_one(server.target(), server.spec(command="echo hello"))
    assert ok["status"] == "ok", ok["error"]
    assert ok["ssh"]["stdout"].strip() == "hello"
    stranger = tmp_path / "other_known_hosts"
    stranger.write_text(f"[127.0.0.1]:{server.port} {keys.client_public}")  # not the host's key
    refused = await run_one(server.target(), server.spec(known_hosts=str(stranger)))
    assert refused["error"]["kind"] == "host_key"
    assert stock_connects == ([] if not switch else ["127.0.0.1", "127.0.0.1"])
