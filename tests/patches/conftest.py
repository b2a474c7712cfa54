"""The probe and SSH fixtures, for the patches' tests (each patch is tested where its probe runs)."""

from __future__ import annotations

from tests.probes.conftest import certs, resources
from tests.probes.loops import *  # noqa: F403  (every async test on asyncio and uvloop)
from tests.ssh.conftest import keys, sim_server

__all__ = ["certs", "keys", "resources", "sim_server"]
