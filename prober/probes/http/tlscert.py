"""Certificate expiry: a separate TLS handshake and a minimal DER walk to the notAfter field."""

from __future__ import annotations

import asyncio
import time
from calendar import timegm
from urllib.parse import urlsplit

from prober.errors import ProbeFailed
from prober.model import Target
from prober.probes.http.spec import HTTPSpec
from prober.runtime.resources import Resources


def _tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at offset."""
    tag = data[offset]
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    return tag, offset, offset + length


def _parse_time(tag: int, raw: bytes) -> float:
    text = raw.decode("ascii").rstrip("Z")
    if tag == 0x17:  # UTCTime, YYMMDDHHMMSS: years 50-99 are 19xx (RFC 5280)
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    return float(timegm(time.strptime(text[:14], "%Y%m%d%H%M%S")))


def not_after(der: bytes) -> float:
    """The notAfter of a DER certificate as a Unix timestamp."""
    _, cert, _ = _tlv(der, 0)
    _, pos, _ = _tlv(der, cert)  # tbsCertificate
    tag, _, end = _tlv(der, pos)
    if tag == 0xA0:  # explicit version
        pos = end
        tag, _, end = _tlv(der, pos)
    for _ in range(3):  # serialNumber, signature, issuer
        _, _, end = _tlv(der, pos)
        pos = end
    _, validity, _ = _tlv(der, pos)
    _, _, end = _tlv(der, validity)  # notBefore
    tag, start, stop = _tlv(der, end)
    return _parse_time(tag, der[start:stop])


async def fetch_der(target: Target, spec: HTTPSpec, res: Resources) -> bytes | None:
    """The URL host's certificate from a TLS handshake of its own (verified as the spec says)."""
    parts = urlsplit(spec.url)
    host = parts.hostname or target.address
    context = res.ssl_context(spec.verify_tls, spec.ca_file)
    _, writer = await asyncio.open_connection(host, parts.port or 443, ssl=context)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return ssl_object.getpeercert(binary_form=True) if ssl_object else None
    finally:
        writer.transport.abort()


async def days_left(target: Target, spec: HTTPSpec, res: Resources, der: bytes | None = None) -> float:
    """Days until the server's certificate (`der`, else fetched) expires; negative once expired."""
    if der is None:
        der = await fetch_der(target, spec, res)
    if not der:
        raise ProbeFailed("tls", "server sent no certificate")
    try:
        expires = not_after(der)
    except (IndexError, ValueError, UnicodeDecodeError):
        raise ProbeFailed("tls", "could not read the certificate's expiry date") from None
    return (expires - time.time()) / 86400
