"""Bounded reads and safe decoding of remote bytes, so a record always stays valid JSON."""

from __future__ import annotations

REMOTE_TEXT_MAX = 512  # characters of remote text kept in a record; lines stay under 4 KiB


def decode(data: bytes, limit: int = REMOTE_TEXT_MAX) -> str:
    """Remote bytes → text: invalid UTF-8 replaced, control noise kept, length capped."""
    text = data.decode("utf-8", errors="replace")
    if len(text) > limit:
        return text[:limit] + "…"
    return text
