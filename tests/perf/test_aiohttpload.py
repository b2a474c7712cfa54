"""aiohttp imported without its import-time CA stores: its unused defaults fail closed, ssl is restored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, ssl
from prober.probes import probe_for
probe_for("http")
import aiohttp.connector as c
v, u = c._SSL_CONTEXT_VERIFIED, c._SSL_CONTEXT_UNVERIFIED
print(json.dumps({
    "verify_mode": int(v.verify_mode), "check_hostname": v.check_hostname,
    "trusted": v.cert_store_stats()["x509_ca"], "unverified_mode": int(u.verify_mode),
    "default_after": ssl.create_default_context().cert_store_stats()["x509_ca"] > 0
        or not ssl.get_default_verify_paths().cafile,
}))
"""


class TestAiohttpLoad:
    """What the cheaper aiohttp import leaves behind, in a fresh interpreter."""

    def test_defaults_fail_closed_and_ssl_restored(self) -> None:
        """aiohttp's default verifying context still demands a valid certificate for the host name
        (trusting no CA), and ssl.create_default_context loads the CA store again afterwards."""
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
        )
        got = json.loads(out.stdout)
        assert got["verify_mode"] == 2  # ssl.CERT_REQUIRED
        assert got["check_hostname"] is True
        assert got["trusted"] == 0
        assert got["unverified_mode"] == 0  # ssl.CERT_NONE, as aiohttp built it
        assert got["default_after"] is True
