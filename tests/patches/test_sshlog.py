"""asyncssh's log calls, short-circuited by prober._patches.sshlog, still log whatever is enabled."""

from __future__ import annotations

import logging

import pytest
from asyncssh import logging as ssh_logging

from prober._patches import SWITCH, sshlog
from tests.nopatches import needs_patch


def test_guard_matches_installed_asyncssh() -> None:
    """SSHLogger.log, SSHPacketLogger._log_packet and _debug_level have the shape the wrappers rely
    on: if an asyncssh upgrade changes them, this fails (install would silently do nothing)."""
    assert sshlog.COMPATIBLE


class TestQuietAsyncsshLogging:
    """Skipping the formatting of dropped messages changes nothing that is logged."""

    def test_enabled_messages_still_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        """An INFO message reaches the log when the asyncssh logger takes INFO, formatted as before
        (patched or not)."""
        sshlog.install()
        logger = ssh_logging.SSHLogger(logging.getLogger("asyncssh"), "conn", "conn=1")
        with caplog.at_level(logging.INFO, logger="asyncssh"):
            logger.info("Opening SSH connection to %s", ("127.0.0.1", 22))
        assert "Opening SSH connection to 127.0.0.1, port 22" in caplog.text

    @needs_patch("sshlog", "not formatting a dropped message")
    def test_disabled_messages_not_formatted(self, caplog: pytest.LogCaptureFixture) -> None:
        """Below the logger's level a message is dropped before its arguments are turned into text."""
        assert sshlog.install()

        class Loud:
            def __str__(self) -> str:
                raise AssertionError("formatted although the level is off")

        logger = ssh_logging.SSHLogger(logging.getLogger("asyncssh"), "conn", "conn=1")
        with caplog.at_level(logging.WARNING, logger="asyncssh"):
            logger.info("value %s", [Loud()])
        assert caplog.text == ""

    @needs_patch("sshlog", "wrapping asyncssh's log methods")
    def test_install_is_idempotent(self) -> None:
        """Installing twice wraps the methods once."""
        sshlog.install()
        first = ssh_logging.SSHLogger.log
        assert sshlog.install()
        assert ssh_logging.SSHLogger.log is first

    def test_switch_leaves_asyncssh_alone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """PROBER_NO_PATCHES=1: install() wraps nothing and says so (a fresh interpreter under the
        switch keeps asyncssh's own methods: tests/patches/test_switch.py)."""
        monkeypatch.setenv(SWITCH, "1")
        assert sshlog.install() is False
