"""Keep secrets out of every output: URL passwords and tokens, sensitive header values."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "<redacted>"
_SENSITIVE = re.compile(r"auth|token|secret|key|cookie|pass|session|signature|credential", re.IGNORECASE)


def url(value: str) -> str:
    """Hide the password of http://user:password@host/ and credential-like query parameters."""
    if "@" not in value and "?" not in value:
        return value  # nothing to hide: skip urlsplit (called twice per HTTP probe)
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    if password is not None:
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username or ''}:{REDACTED}@{host}")
    if parts.query and _SENSITIVE.search(parts.query):
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        hidden = [(k, REDACTED if _SENSITIVE.search(k) else v) for k, v in pairs]
        parts = parts._replace(query=urlencode(hidden, safe="<>"))
    return urlunsplit(parts)


def headers(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Header mapping with the values of credential-like headers hidden."""
    return {k: REDACTED if _SENSITIVE.search(k) else v for k, v in pairs}


def text(value: str, secrets: tuple[str, ...]) -> str:
    """Replace each known secret value inside free text (error messages, output)."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            value = value.replace(secret, REDACTED)
    return value
