"""Read a Prometheus http_sd endpoint (a GET answered with JSON target groups) into a frozen SDInventory.

    inventory = await fetch_http_sd("https://cmdb.example/sd", group="api", token_env="CMDB_TOKEN")
    inventory = load_http_sd(url, group_label="job")        # the same from code with no loop running
    InventoryError                                          # naming the URL as shown, never the token

As Prometheus reads it: `Accept: application/json`; only HTTP 200 counts; the Content-Type must be
`application/json` (optionally `; charset=utf-8`); the body is file_sd's JSON; `__meta_url` is set.
Stricter: TLS is always verified (`ca_file` adds a CA bundle); the token (`Authorization: Bearer`, read
from the environment variable `token_env`) is only sent over https; redirects are not followed (a token
must not travel to another host); the body is capped. Timeouts, refused or reset connections, HTTP 429
and 5xx are retried `retries` times with jittered exponential backoff; nothing else is.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import ssl
from collections.abc import Mapping
from typing import Any

from prober import __version__, redact
from prober.classify import classify
from prober.errors import InventoryError, Problem
from prober.inventory.sources.sd import Reader, SDInventory

__all__ = ["fetch_http_sd", "load_http_sd"]

DEFAULT_TIMEOUT = 10.0  # seconds per attempt (Prometheus uses its refresh interval, 60 s by default)
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 0.5  # seconds before the first retry; doubled for each next one, jittered
MAX_BYTES = 16 * 1024 * 1024  # an answer larger than this is refused (a file_sd file has the same cap)
_CONTENT_TYPE = re.compile(r'^application/json(;\s*charset=("utf-8"|utf-8))?$', re.IGNORECASE)  # Prometheus's
_RETRIED = frozenset({"timeout", "refused", "reset", "dns"})


class _Failed(Exception):
    """One attempt failed: why, and whether another attempt may do better."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.message, self.retry = message, retry


def load_http_sd(url: str, **options: Any) -> SDInventory:
    """fetch_http_sd from synchronous code (it runs its own event loop)."""
    return asyncio.run(fetch_http_sd(url, **options))


async def fetch_http_sd(
    url: str,
    *,
    group: str | None = None,
    group_label: str | None = None,
    token_env: str | None = None,
    ca_file: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (per attempt, with retries: not one deadline)
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    max_bytes: int = MAX_BYTES,
    environ: Mapping[str, str] | None = None,
) -> SDInventory:
    """GET url and read its target groups. Each target joins the group its `group_label` label names,
    else the fixed `group`. InventoryError (one Problem naming the URL) when it cannot."""
    shown = redact.url(url)
    reader = Reader(group, group_label)
    https = _scheme(url, shown) == "https"
    secret = _token(shown, https, token_env, os.environ if environ is None else environ)
    headers = {"Accept": "application/json", "User-Agent": f"prober/{__version__}"}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    context = _ssl_context(shown, ca_file) if https else None
    try:
        body = await _get(url, headers, context, timeout, retries, backoff, max_bytes)
        data = _json(body)
    except _Failed as exc:
        message = _masked(exc.message.replace(url, shown), _secrets(url, secret))
        raise InventoryError([Problem(shown, None, "", message)]) from None
    reader.document(data, shown, {"__meta_url": shown}, lambda path: None, json=True)
    return reader.result((shown,))


def _scheme(url: str, shown: str) -> str:
    scheme, slashes, _ = url.partition("://")
    if scheme.lower() not in ("http", "https") or not slashes or not redact.split_url(url).rest.split("/")[0]:
        raise _refuse(shown, "url: expected an http:// or https:// URL with a host")
    return scheme.lower()


def _token(shown: str, https: bool, token_env: str | None, environ: Mapping[str, str]) -> str | None:
    """The bearer token from its environment variable; only the variable's name is ever shown."""
    if token_env is None:
        return None
    secret = environ.get(token_env)
    if not secret:
        raise _refuse(shown, f"token_env: the environment variable {token_env} is not set (or empty)")
    if any(char in secret for char in "\r\n\0"):
        raise _refuse(shown, f"token_env: the value of {token_env} contains a line break or NUL")
    if not https:
        raise _refuse(shown, "token_env: a token is only sent over https (http would show it on the network)")
    return secret


def _ssl_context(shown: str, ca_file: str | None) -> ssl.SSLContext:
    """Verifying context: the system CAs, plus ca_file's (its contents are never shown)."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except ssl.SSLError as exc:  # before OSError, which it is; its reason names no content
            message = f"ca_file: cannot use {ca_file}: not a PEM certificate bundle ({exc.reason})"
            raise _refuse(shown, message) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise _refuse(shown, f"ca_file: cannot use {ca_file}: {reason}") from None
    return context


def _refuse(shown: str, message: str) -> InventoryError:
    return InventoryError([Problem(shown, None, "", message)])


async def _get(
    url: str,
    headers: dict[str, str],
    context: ssl.SSLContext | None,
    timeout: float,  # noqa: ASYNC109 (per attempt)
    retries: int,
    backoff: float,
    max_bytes: int,
) -> bytes:
    import aiohttp  # here, not at import: reading file_sd or Ansible sources never pays for it

    limits = aiohttp.ClientTimeout(total=timeout, sock_connect=timeout)
    connector = aiohttp.TCPConnector(ssl=context if context is not None else False, force_close=True)
    async with aiohttp.ClientSession(
        timeout=limits, connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
    ) as session:
        attempt = 0
        while True:
            try:
                async with asyncio.timeout(timeout):  # a backstop over aiohttp's own (aiohttp#9547)
                    return await _attempt(session, url, headers, max_bytes)
            except _Failed as exc:
                failure = exc
            except Exception as exc:  # every network error, classified as a probe's would be
                kind, message = classify(exc)
                text = _late(timeout) if kind == "timeout" else f"{kind}: {message}"
                failure = _Failed(text, kind in _RETRIED)
            if not failure.retry or attempt >= retries:
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                raise _Failed(failure.message + tries, False)
            await asyncio.sleep(backoff * 2**attempt * random.uniform(0.5, 1.0))
            attempt += 1


def _late(timeout: float) -> str:
    return f"timeout: no complete answer within {timeout:g} s"


async def _attempt(session: Any, url: str, headers: dict[str, str], max_bytes: int) -> bytes:
    async with session.get(url, headers=headers, allow_redirects=False) as response:
        status = response.status
        if status != 200:
            reason = f"HTTP {status} {response.reason or ''}".strip()
            if 300 <= status < 400:
                message = f"server answered {reason}: redirects are not followed (use the final URL)"
                raise _Failed(message, False)
            raise _Failed(f"server answered {reason}", status >= 500 or status == 429)
        kind = response.headers.get("Content-Type", "")
        if not _CONTENT_TYPE.match(kind.strip()):
            raise _Failed(f"unsupported content type {kind[:100]!r} (expected application/json)", False)
        too_big = _Failed(f"the answer is over {max_bytes} bytes", False)
        if response.content_length is not None and response.content_length > max_bytes:
            raise too_big
        body = bytearray()
        while chunk := await response.content.read(65536):
            body += chunk
            if len(body) > max_bytes:
                raise too_big
        return bytes(body)


def _json(body: bytes) -> Any:
    import json

    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise _Failed(f"the answer is not UTF-8 (byte {exc.start})", False) from None
    except ValueError as exc:  # JSONDecodeError is one
        raise _Failed(f"the answer is not JSON: {exc}", False) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _secrets(url: str, token: str | None) -> list[str]:
    """What an error text must not show: the token, and the URL's password and query values."""
    parts = redact.split_url(url)
    found = [token] if token else []
    if parts.userinfo:
        found.append(parts.userinfo.partition(":")[2])
    found += [value for _, value in redact.query_items(parts.query or "") if value]
    return sorted({item for item in found if len(item) >= 3}, key=len, reverse=True)


def _masked(message: str, secrets: list[str]) -> str:
    """The message with every secret hidden wherever it was echoed (a library's error text)."""
    for secret in secrets:
        message = message.replace(secret, redact.REDACTED)
    return message
