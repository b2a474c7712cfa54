"""Secrets a probe sends, collected once from its spec, and masked out of every text its record carries.

One Redactor per sweep (process) hands out a Mask per probe spec. The engine masks error messages
and warnings with it; probes mask what they quote from the remote side (HTTP bodies, TCP banners,
SSH output) before cutting it to a cap, and mask a secret's prefix left at the cut edge.

What a probe sends, and so what its Mask hides:
- http: URL user name and password (as written, percent-decoded, and the Basic credentials made of
  them), query values (as written and decoded) unless the parameter is shown (redact.SHOWN_QUERY,
  `safe_query`), header values (`headers`, `headers_env`) unless the header is shown
  (redact.SHOWN_HEADERS, `safe_headers`): the whole value and each word after a scheme word
  (`Bearer`, `Basic`), so an echo of the bare token is caught too.
- ssh: the values of `password_env` and `passphrase_env`.
- tcp: the value of `send_env`: whole, each line, and the words after each line's first.
Values shorter than MIN_SECRET characters are hidden where they stand (URL, headers) but not searched
for in free text: replacing every "a" in a body would wreck it, and two characters are guessed in a
few thousand tries whatever a record shows.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from prober import redact

if TYPE_CHECKING:
    from prober.model import BaseSpec

MIN_SECRET = 3
_MASK = redact.REDACTED
_MASK_BYTES = _MASK.encode()


class Mask:
    """The secret values of one probe; every method returns its input unchanged when there are none."""

    __slots__ = ("_bytes", "_texts", "margin")

    def __init__(self, values: Iterable[str] = ()) -> None:
        # Longest first: a secret that contains another is replaced whole.
        texts = sorted({v for v in values if len(v) >= MIN_SECRET}, key=len, reverse=True)
        self._texts = tuple(texts)
        self._bytes = tuple(t.encode() for t in texts)
        # Bytes to read past a cap so a secret that starts before it is seen whole, then masked.
        self.margin = max((len(b) for b in self._bytes), default=0)

    def __bool__(self) -> bool:
        return bool(self._texts)

    def text(self, value: str) -> str:
        for secret in self._texts:
            if secret in value:
                value = value.replace(secret, _MASK)
        return value

    def data(self, value: bytes) -> bytes:
        for secret in self._bytes:
            if secret in value:
                value = value.replace(secret, _MASK_BYTES)
        return value

    def tail_data(self, value: bytes) -> bytes:
        keep = _tail_start(value, self._bytes)
        return value if keep is None else value[:keep] + _MASK_BYTES

    def cut(self, value: str, limit: int, *, edge: bool = False) -> str:
        """An already masked text cut to `limit` characters (+ "…" when cut), a secret's start left
        at the cut masked; `edge`: check the end even when this cut is a no-op (an earlier cut)."""
        cut = len(value) > limit
        if not (cut or edge):
            return value
        head = value[:limit]
        start = _tail_start(head, self._texts)
        if cut:  # a mask cut in two is put back whole, within the limit
            split = _split_marker(value, _MASK, limit)
            start = split if start is None or (split is not None and split < start) else start
        if start is not None and limit < len(_MASK):
            head = head[:start]  # no room for the mask: the fragment is simply dropped
        elif start is not None:
            # Room for the mask within the limit; what that removes may end in a secret's start too.
            head = value[: min(start, limit - len(_MASK))]
            again = _tail_start(head, self._texts)
            head = (head if again is None else head[:again]) + _MASK
        return head + "…" if cut else head

    def excerpt(self, data: bytes, limit: int, *, capped: bool = False) -> str:
        """Remote bytes → masked text of at most `limit` characters (+ "…"); `capped`: the reader
        stopped at its byte cap, so the end may be a secret's start."""
        data = self.data(data)
        if capped:
            data = self.tail_data(data)
        return self.cut(data.decode("utf-8", errors="replace"), limit)

    def capped(self, data: bytes, cap: int, *, read_limit: int) -> bytes:
        """Bytes read up to `read_limit` (a cap plus `margin`) → masked, then cut to `cap`, edge masked."""
        masked = self.data(data)
        if len(masked) > cap or len(data) >= read_limit:
            split = _split_marker(masked, _MASK_BYTES, cap)
            # A mask the cap cuts in two is kept whole (a few bytes over the cap, none of them remote).
            masked = masked[: split + len(_MASK_BYTES)] if split is not None else self.tail_data(masked[:cap])
        return masked


NO_SECRETS = Mask()


def _split_marker(value: Any, marker: Any, limit: int) -> int | None:
    """Where a mask that position `limit` cuts in two begins, or None."""
    found = value.find(marker, max(0, limit - len(marker) + 1))
    return found if 0 <= found < limit else None


def _tail_start(value: Any, secrets: tuple[Any, ...]) -> int | None:
    """Where the longest proper prefix (>= MIN_SECRET) of any secret that ends `value` begins, or None."""
    best: int | None = None
    size = len(value)
    for secret in secrets:
        start = max(0, size - len(secret) + 1)
        while True:
            found = value.find(secret[:MIN_SECRET], start)
            if found < 0 or (best is not None and found >= best):
                break
            if secret.startswith(value[found:]):
                best = found
                break
            start = found + 1
    return best


def words(value: str) -> list[str]:
    """A credential and its parts: the value, and each word after a leading scheme word
    ("Bearer abc" → abc; "Basic dXNlcjpwdw==" → the base64 and the user:password it decodes to)."""
    out = [value]
    parts = value.split()
    if len(parts) > 1 and parts[0].isalpha():
        out += parts[1:]
        if parts[0].lower() == "basic" and len(parts) == 2:
            out += _basic_decoded(parts[1])
    return out


def _basic_decoded(token: str) -> list[str]:
    try:
        user, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
    except ValueError:
        return []
    return [f"{user}:{password}", user, password]


def basic_auth(user: str, password: str) -> str:
    """The Authorization value for URL credentials (decoded); latin-1 as aiohttp, UTF-8 beyond it."""
    raw = f"{user}:{password}"
    try:
        encoded = raw.encode("latin-1")
    except UnicodeEncodeError:
        encoded = raw.encode("utf-8")
    return "Basic " + base64.b64encode(encoded).decode("ascii")


def url_credentials(userinfo: str) -> tuple[str, str]:
    """(user, password) of a URL's userinfo, percent-decoded as they are sent."""
    user, _, password = userinfo.partition(":")
    return unquote(user), unquote(password)


def secrets_of(spec: BaseSpec) -> list[str]:
    """Every secret value a probe of this spec sends (environment variables read now): each kind
    declares its own (prober/probes/<kind>, `secrets`)."""
    from prober.probes import registry

    return registry.get(spec.kind).secrets(spec)


class Redactor:
    """The sweep's masks, one per probe spec, collected from the spec the first time it is asked for.

    Specs without secrets (most of a plan) are never stored. The engine, the probes and the sinks
    share one Redactor (sweep.build_engine hands the same one to each).
    """

    def __init__(self) -> None:
        self._masks: dict[int, tuple[BaseSpec, Mask]] = {}  # id(spec) → (spec kept alive, its mask)

    def mask(self, spec: BaseSpec) -> Mask:
        entry = self._masks.get(id(spec))
        if entry is not None:
            return entry[1]
        values = secrets_of(spec)
        if not values:
            return NO_SECRETS
        mask = Mask(values)
        self._masks[id(spec)] = (spec, mask)
        return mask
