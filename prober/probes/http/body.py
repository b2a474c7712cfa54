"""The response body: always read, up to body_max_bytes of decoded bytes, inside the probe's deadline."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from prober.errors import ProbeFailed

if TYPE_CHECKING:
    import aiohttp

# What read() can decode, sent with every request (a user's own Accept-Encoding header wins). Not br
# or zstd: they need libraries prober does not install (aiohttp would advertise them if present).
ACCEPT_ENCODING = "gzip, deflate"
_GZIP = ("gzip", "x-gzip")  # RFC 9110 8.4.1.3: x-gzip is gzip
_CODINGS = (*_GZIP, "deflate")
_NO_BODY = (204, 304)
# Compressed bytes read beyond body_max_bytes before giving up on reaching it. deflate stores an
# incompressible block with 5 bytes of overhead per 64 KiB, and a gzip header may carry a file name:
# a real page never needs more; a stream of empty blocks or members that decodes to nothing does.
_COMPRESSED_SLACK = 65536


class _Inflater:
    """gzip (concatenated members, as Go's gzip.Reader reads them) or deflate (zlib-wrapped or raw:
    servers send both) → plain bytes, never more than asked for per call (a gzip bomb stops there)."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.gzip = coding in _GZIP
        self._zlib: Any = zlib.decompressobj(16 + zlib.MAX_WBITS) if self.gzip else None
        self._head = b""  # deflate: the first bytes, until two tell a zlib header from raw deflate

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode `data`, returning at most `room` bytes; input left over past `room` is dropped."""
        if self._zlib is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if _zlib_header(data) else -zlib.MAX_WBITS)
        try:
            out: bytes = self._zlib.decompress(data, room)
            while self.gzip and self._zlib.eof and self._zlib.unused_data and len(out) < room:
                rest = self._zlib.unused_data  # the next gzip member
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
                out += self._zlib.decompress(rest, room - len(out))
        except zlib.error as exc:
            raise self._corrupt(_zlib_reason(exc)) from None
        return out

    def finish(self, fed: int) -> None:
        """At the end of the body: a compressed stream cut short is corrupt (an empty body is not)."""
        if fed and (self._zlib is None or not self._zlib.eof):
            raise self._corrupt("the compressed stream ends early")

    def _corrupt(self, reason: str) -> ProbeFailed:
        return ProbeFailed("protocol", f"{self.coding} body cannot be decoded: {reason}")


def _zlib_header(data: bytes) -> bool:
    """RFC 1950: compression method 8, window ≤ 32 KiB, and a header check that is a multiple of 31."""
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


def _zlib_reason(exc: zlib.error) -> str:
    """zlib says "Error -3 while decompressing data: incorrect header check": keep the reason."""
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text


async def read(response: aiohttp.ClientResponse, limit: int, details: dict[str, Any]) -> bytes:
    """The body as the server meant it (gzip/deflate decoded), at most `limit` bytes; b"" when the
    answer has none (HEAD, 204, 304). Sets details["body_bytes"]; raises ProbeFailed (protocol),
    with `details`, for a compressed body that cannot be decoded.

    Other codings (br, zstd: never asked for) are passed through as they came, as Go's net/http and
    Chrome do with codings they do not know.
    """
    content = response.content
    coding = response.headers.get("Content-Encoding")
    if response.method == "HEAD" or response.status in _NO_BODY:
        body = b""
    elif coding and (coding := coding.strip().lower()) in _CODINGS:
        try:
            body = await _read_decoded(content, _Inflater(coding), limit)
        except ProbeFailed as exc:
            raise ProbeFailed(exc.kind, exc.message, **details) from None
    elif content.is_eof():  # the whole body came with the headers (a small page): read it without awaiting
        body = content.read_nowait(limit)
    else:
        body = await _read_plain(content, limit)
    details["body_bytes"] = len(body)
    return body


async def _read_plain(content: aiohttp.StreamReader, limit: int) -> bytes:
    """Up to `limit` bytes: content.read(n) returns *up to* n, so loop until the cap or the end."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def _read_decoded(content: aiohttp.StreamReader, inflater: _Inflater, limit: int) -> bytes:
    """Up to `limit` decoded bytes, from at most limit + _COMPRESSED_SLACK compressed ones."""
    chunks: list[bytes] = []
    size = fed = 0
    budget = limit + _COMPRESSED_SLACK
    while size < limit and fed < budget:
        chunk = await content.read(budget - fed)
        if not chunk:
            inflater.finish(fed)
            break
        fed += len(chunk)
        out = inflater.feed(chunk, limit - size)
        if out:
            chunks.append(out)
            size += len(out)
    return b"".join(chunks)
