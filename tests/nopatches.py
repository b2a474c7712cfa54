"""Tests of what only a library patch gives skip under PROBER_NO_PATCHES=1, saying which patch."""

from __future__ import annotations

import pytest

from prober._patches import enabled


def needs_patch(patch: str, what: str) -> pytest.MarkDecorator:
    """Skip when patches are switched off: `what` is what prober._patches.`patch` gives."""
    return pytest.mark.skipif(
        not enabled(), reason=f"PROBER_NO_PATCHES=1: {what} needs prober._patches.{patch}"
    )
