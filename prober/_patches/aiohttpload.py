"""Import aiohttp without the two CA stores it loads at import time and prober never uses.

aiohttp.connector builds a verifying and a non-verifying default SSLContext when it is imported,
each loading the system CA store: a tenth of a short sweep's start-up, and on the clock of the
fail-fast target. prober never lets aiohttp fall back to those defaults: every request passes
prober's own context (Resources.ssl_context, CA store loaded once, only when a probe may use TLS)
or ssl=False. While aiohttp is imported here, its defaults are therefore built without loading any
CA: the verifying one still requires a certificate and checks the host name, so were it ever used,
verification would fail, never be skipped. `ssl` is restored as soon as the import returns.

Private API: aiohttp.connector's import-time `_SSL_CONTEXT_VERIFIED`/`_SSL_CONTEXT_UNVERIFIED`
(built by `_make_ssl_context` with ssl.create_default_context and set_default_verify_paths); for
the import's duration those two ssl functions are replaced process-wide (prober imports its probe
kinds on one thread, before any probe runs).
Tested with: aiohttp 3.14.5, CPython 3.11.7.
Gain: ~70 ms of CPU per sweep that uses HTTP (~35 ms per CA store load; commit f66e546, and
bench/README.md "What changed prober's speed").
Guard: none is needed to stay correct: a caller asking create_default_context for a CA file or a
purpose gets the real function, and if aiohttp stops building the contexts at import the patch
simply does nothing. `ca_free()` tells whether it took effect.
Switch: with PROBER_NO_PATCHES=1, `load()` is a plain `import aiohttp` (both CA stores loaded).
Test: tests/patches/test_aiohttpload.py (the defaults fail closed and trust no CA; an upgrade that
renames or moves them fails test_guard_defaults_built_at_import).
"""

from __future__ import annotations

import contextlib
import ssl
import sys
from collections.abc import Iterator
from typing import Any

from prober._patches import enabled


def _bare_verifying_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
    if args or kwargs:  # a caller asking for a particular CA file or purpose gets the real thing
        return _REAL_DEFAULT(*args, **kwargs)
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname, no CA trusted


_REAL_DEFAULT = ssl.create_default_context


@contextlib.contextmanager
def _no_ca_loading() -> Iterator[None]:
    real_paths = ssl.SSLContext.set_default_verify_paths
    ssl.create_default_context = _bare_verifying_context
    ssl.SSLContext.set_default_verify_paths = lambda self: None  # type: ignore[method-assign]  # the patch
    try:
        yield
    finally:
        ssl.create_default_context = _REAL_DEFAULT
        ssl.SSLContext.set_default_verify_paths = real_paths  # type: ignore[method-assign]  # undone


def load() -> Any:
    """The aiohttp module (imported once; if something imported it already, it is left as it is)."""
    if "aiohttp" not in sys.modules:
        with _no_ca_loading() if enabled() else contextlib.nullcontext():
            import aiohttp  # noqa: F401
    return sys.modules["aiohttp"]


def ca_free() -> bool:
    """True when aiohttp's import-time default contexts exist and trust no CA (the patch took effect)."""
    connector = sys.modules.get("aiohttp.connector")
    names = ("_SSL_CONTEXT_VERIFIED", "_SSL_CONTEXT_UNVERIFIED")
    contexts = [getattr(connector, name, None) for name in names]
    return all(isinstance(c, ssl.SSLContext) and c.cert_store_stats()["x509_ca"] == 0 for c in contexts)
