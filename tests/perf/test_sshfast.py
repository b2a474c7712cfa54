"""asyncssh's log calls, short-circuited by prober._patches.sshfast, still log whatever is enabled."""

from __future__ import annotations

import logging

import pytest
from asyncssh import logging as ssh_logging

from prober._patches import sshfast


class TestQuietAsyncsshLogging:
    """Skipping the formatting of dropped messages changes nothing that is logged."""

    def test_enabled_messages_still_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        """An INFO message reaches the log when the asyncssh logger takes INFO, formatted as before."""
        sshfast.install()
        logger = ssh_logging.SSHLogger(logging.getLogger("asyncssh"), "conn", "conn=1")
        with caplog.at_level(logging.INFO, logger="asyncssh"):
            logger.info("Opening SSH connection to %s", ("127.0.0.1", 22))
        assert "Opening SSH connection to 127.0.0.1, port 22" in caplog.text

    def test_disabled_messages_not_formatted(self, caplog: pytest.LogCaptureFixture) -> None:
        """Below the logger's level a message is dropped before its arguments are turned into text."""
        sshfast.install()

        class Loud:
            def __str__(self) -> str:
                raise AssertionError("formatted although the level is off")

        logger = ssh_logging.SSHLogger(logging.getLogger("asyncssh"), "conn", "conn=1")
        with caplog.at_level(logging.WARNING, logger="asyncssh"):
            logger.info("value %s", [Loud()])
        assert caplog.text == ""

    def test_install_is_idempotent(self) -> None:
        """Installing twice wraps the methods once."""
        sshfast.install()
        first = ssh_logging.SSHLogger.log
        sshfast.install()
        assert ssh_logging.SSHLogger.log is first


class TestFastConnect:
    """The thread-free connect path matches the asyncssh installed here."""

    def test_internal_connect_recognised(self) -> None:
        """asyncssh's internal _connect has the signature sshfast relies on, so the fast path is taken
        (the SSH tests, host-key refusals included, then run through it)."""
        from prober._patches import sshfast

        assert sshfast.FAST_CONNECT
