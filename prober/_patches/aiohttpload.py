"""Import aiohttp without the two CA stores it loads at import time and prober never uses.

aiohttp.connector builds a verifying and a non-verifying default SSLContext when it is imported,
each loading the system CA store (~35 ms of CPU apiece): a tenth of a short sweep's start-up, and
on the clock of the fail-fast target. prober never lets aiohttp fall back to those defaults: every
request passes prober's own context (Resources.ssl_context, CA store loaded once, only when a
probe may use TLS) or ssl=False. While aiohttp is imported here, its defaults are therefore built
without loading any CA: the verifying one still requires a certificate and checks the host name,
so were it ever used, verification would fail, never be skipped.
"""

from __future__ import annotations

import contextlib
import ssl
import sys
from collections.abc import Iterator
from typing import Any


def _bare_verifying_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
    if args or kwargs:  # a caller asking for a particular CA file or purpose gets the real thing
        return _REAL_DEFAULT(*args, **kwargs)
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname, no CA trusted


_REAL_DEFAULT = ssl.create_default_context


@contextlib.contextmanager
def _no_ca_loading() -> Iterator[None]:
    real_paths = ssl.SSLContext.set_default_verify_paths
    ssl.create_default_context = _bare_verifying_context  # type: ignore[assignment]
    ssl.SSLContext.set_default_verify_paths = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        ssl.create_default_context = _REAL_DEFAULT
        ssl.SSLContext.set_default_verify_paths = real_paths  # type: ignore[method-assign]


def load() -> Any:
    """The aiohttp module (imported once; if something imported it already, it is left as it is)."""
    if "aiohttp" not in sys.modules:
        with _no_ca_loading():
            import aiohttp  # noqa: F401
    return sys.modules["aiohttp"]
