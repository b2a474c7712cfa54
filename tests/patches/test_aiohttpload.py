"""aiohttp imported without its import-time CA stores: its unused defaults fail closed, ssl is restored."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from prober._patches import SWITCH
from tests.conftest import ROOT, cli_env

SCRIPT = """
import json, ssl
from prober._patches import aiohttpload
from prober.probes import probe_for
probe_for("http")
import aiohttp.connector as c
v, u = c._SSL_CONTEXT_VERIFIED, c._SSL_CONTEXT_UNVERIFIED
print(json.dumps({
    "ca_free": aiohttpload.ca_free(),
    "verify_mode": int(v.verify_mode), "check_hostname": v.check_hostname,
    "trusted": v.cert_store_stats()["x509_ca"], "unverified_trusted": u.cert_store_stats()["x509_ca"],
    "unverified_mode": int(u.verify_mode),
    "default_after": ssl.create_default_context().cert_store_stats()["x509_ca"] > 0
        or not ssl.get_default_verify_paths().cafile,
}))
"""


def _fresh(switch: str) -> dict[str, object]:
    """Load the HTTP kind in a fresh interpreter, with PROBER_NO_PATCHES set to `switch`."""
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
        env=cli_env({SWITCH: switch}),
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


class TestAiohttpLoad:
    """What the cheaper aiohttp import leaves behind, in a fresh interpreter."""

    def test_guard_defaults_built_at_import(self) -> None:
        """aiohttp still builds its two default contexts at import under these names, and the patch
        reaches them: if an upgrade moves them, this fails (the patch would silently do nothing)."""
        assert _fresh("")["ca_free"] is True

    def test_defaults_fail_closed_and_ssl_restored(self) -> None:
        """aiohttp's default verifying context still demands a valid certificate for the host name
        (trusting no CA), and ssl.create_default_context loads the CA store again afterwards."""
        got = _fresh("")
        assert got["verify_mode"] == 2  # ssl.CERT_REQUIRED
        assert got["check_hostname"] is True
        assert got["trusted"] == 0 and got["unverified_trusted"] == 0
        assert got["unverified_mode"] == 0  # ssl.CERT_NONE, as aiohttp built it
        assert got["default_after"] is True

    @pytest.mark.parametrize("switch", ["1", "yes"])
    def test_switched_off_is_the_stock_import(self, switch: str) -> None:
        """PROBER_NO_PATCHES set: aiohttp imported as it comes, both contexts holding the system CAs."""
        got = _fresh(switch)
        assert got["ca_free"] is False
        assert got["trusted"] > 0 and got["unverified_trusted"] > 0
        assert got["verify_mode"] == 2 and got["default_after"] is True
