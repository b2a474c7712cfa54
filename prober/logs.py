"""Diagnostics through structlog to stderr: JSON when piped, readable on a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure(verbose: bool = False) -> None:
    """Route structlog (and asyncssh/aiohttp's stdlib logging) to stderr; stdout is for results."""
    level = logging.DEBUG if verbose else logging.INFO
    renderer: Any
    if sys.stderr.isatty():
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # asyncssh logs every connection at INFO; keep library chatter out unless it matters.
    for name in ("asyncssh", "aiohttp"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")


def get(name: str = "prober") -> Any:
    return structlog.get_logger(name)
