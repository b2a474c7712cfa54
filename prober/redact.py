"""Keep secrets out of every output: URL passwords and sensitive header values."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

REDACTED = "<redacted>"
_SENSITIVE_HEADER = re.compile(r"auth|token|secret|key|cookie|pass", re.IGNORECASE)


def url(value: str) -> str:
    """Hide the password part of http://user:password@host/."""
    if "@" not in value:
        return value  # no userinfo, no password: skip urlsplit (two calls per HTTP probe)
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if parts.password is None:
        return value
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:{REDACTED}@{netloc}"))


def headers(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Header mapping with the values of credential-like headers hidden."""
    return {k: REDACTED if _SENSITIVE_HEADER.search(k) else v for k, v in pairs}


def text(value: str, secrets: tuple[str, ...]) -> str:
    """Replace each known secret value inside free text (error messages, output)."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            value = value.replace(secret, REDACTED)
    return value
