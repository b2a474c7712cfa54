"""What prober shows of the values it sends: deny by default, so an unknown header or parameter is hidden.

Shown as written: the headers in SHOWN_HEADERS, the query parameters in SHOWN_QUERY, and whatever a
probe marks safe (`safe_headers`, `safe_query`). Hidden: every other header value, every other query
value (a parameter without `=` counts as a value), URL user names and passwords, URL fragments.
A word list cannot work: `X-Hasura-Admin-Pwd`, `?sig=`, `https://ghp_…@host/` all miss one.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import NamedTuple
from urllib.parse import unquote_plus

REDACTED = "<redacted>"
# Kept on a redirect to another origin, and shown: they carry no credentials.
CROSS_ORIGIN_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "cache-control", "pragma", "user-agent"}
)
# Shown too, but never sent to another origin (Host names the first one; there is no body to type).
SHOWN_HEADERS = CROSS_ORIGIN_HEADERS | {"connection", "content-type", "host"}
SHOWN_QUERY = frozenset(
    {"format", "lang", "limit", "offset", "order", "page", "per_page", "pretty", "sort", "verbose", "version"}
)


# A URL inside the path (a relay: http://proxy/http://user:pw@target/): its userinfo is a credential too.
_NESTED_USERINFO = re.compile(r"(?<=://)([^/?#@]*)@")


class URLParts(NamedTuple):
    """A URL cut at its delimiters, as written (nothing decoded): scheme://userinfo@rest?query#fragment."""

    scheme: str  # "https://" (with the slashes), or "" when the text has none
    userinfo: str | None  # "user:password" without the "@"; None when there is no "@" in the authority
    rest: str  # host[:port] and path
    query: str | None
    fragment: str | None


def split_url(value: str) -> URLParts:
    """The parts of a URL, like urlsplit but never raising (templates and broken URLs are shown too)."""
    value, hash_, fragment = value.partition("#")
    value, mark, query = value.partition("?")
    scheme, slashes, after = value.partition("://")
    if not slashes:
        scheme, after = "", value
    else:
        scheme += slashes
    end = len(after)
    slash = after.find("/")
    if slash >= 0:
        end = slash
    authority = after[:end]
    userinfo, at, host = authority.rpartition("@")
    return URLParts(
        scheme,
        userinfo if at else None,
        (host if at else authority) + after[end:],
        query if mark else None,
        fragment if hash_ else None,
    )


def query_items(query: str) -> list[tuple[str, str | None]]:
    """(name as written, value as written or None for an item without '=') for each `&` item."""
    items: list[tuple[str, str | None]] = []
    for item in query.split("&"):
        name, equals, value = item.partition("=")
        items.append((name, value if equals else None))
    return items


def query_name_safe(name: str, safe: Collection[str]) -> bool:
    key = (unquote_plus(name) if "%" in name or "+" in name else name).lower()
    return key in SHOWN_QUERY or key in safe


def header_safe(name: str, safe: Collection[str]) -> bool:
    key = name.lower()
    return key in SHOWN_HEADERS or key in safe


def url(value: str, safe_query: Collection[str] = ()) -> str:
    """The URL with its user name, password, fragment and non-safe query values replaced by REDACTED.

    `safe_query` holds lower-case parameter names the inventory marked safe.
    """
    if "@" not in value and "?" not in value and "#" not in value:
        return value  # nothing to hide, nothing to split: the common case, once per HTTP record
    parts = split_url(value)
    out = [parts.scheme]
    if parts.userinfo is not None:
        _, colon, _ = parts.userinfo.partition(":")
        out.append(f"{REDACTED}{colon}{REDACTED if colon else ''}@")
    rest = parts.rest
    if "://" in rest:
        rest = _NESTED_USERINFO.sub(_hidden_userinfo, rest)
    out.append(rest)
    if parts.query is not None:
        shown = []
        for name, item in query_items(parts.query):
            if query_name_safe(name, safe_query) or (item is None and not name):
                shown.append(name if item is None else f"{name}={item}")
            elif item is None:
                shown.append(REDACTED)  # `?TOKEN`: the item itself is the value
            else:
                shown.append(f"{name}={REDACTED}" if item else f"{name}=")
        out.append("?" + "&".join(shown))
    if parts.fragment:
        out.append("#" + REDACTED)  # OAuth puts tokens there (#access_token=…)
    elif parts.fragment is not None:
        out.append("#")
    return "".join(out)


def nested_userinfo(rest: str) -> list[str]:
    """The userinfo of each URL inside a URL's path (`rest`), as written."""
    return _NESTED_USERINFO.findall(rest) if "://" in rest else []


def _hidden_userinfo(match: re.Match[str]) -> str:
    _, colon, _ = match[1].partition(":")
    return f"{REDACTED}{colon}{REDACTED if colon else ''}@"


def headers(pairs: tuple[tuple[str, str], ...], safe: Collection[str] = ()) -> dict[str, str]:
    """Header mapping with every value hidden unless its name is in SHOWN_HEADERS or `safe` (lower case)."""
    return {name: value if header_safe(name, safe) else REDACTED for name, value in pairs}
