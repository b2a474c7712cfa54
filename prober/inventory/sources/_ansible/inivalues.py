"""Values in an INI inventory, read as Ansible reads them: Python literals where they parse, else text."""

from __future__ import annotations

import ast
import functools
import re
import warnings
from typing import Any

from prober.inventory.sources._ansible.model import UnsafeText, freeze

# Most values are names, addresses or integers; deciding those without ast is ~20x faster (10k-host files).
# Text that starts with a letter or '_' and has only [A-Za-z0-9_.-] is a Python name, attribute or
# subtraction, never a literal (True, False and None aside); dotted numbers with 2+ dots (IPv4) never parse.
_TEXT = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z|[0-9]+(?:\.[0-9]+){2,}\Z")
_INTEGER = re.compile(r"(?:0|[1-9][0-9]{0,17})\Z")
_KEYWORDS = {"True": True, "False": False, "None": None}


@functools.lru_cache(maxsize=8192)
def ini_value(text: str) -> Any:
    """`ast.literal_eval(text)` made plain and frozen, or text itself if it is no literal.

    ValueError if Python cannot hold the literal (a dict keyed by a list, nesting too deep)."""
    if _TEXT.match(text):
        return _KEYWORDS.get(text, text)
    if _INTEGER.match(text):
        return int(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # '\d' in a quoted value
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    except (TypeError, RecursionError, MemoryError) as exc:
        raise ValueError(
            f"the value is a Python literal Ansible cannot read ({type(exc).__name__})"
        ) from None
    return freeze(_plain(value), {})


def _plain(value: Any) -> Any:
    """As Ansible: tuples and sets become lists, bytes unsafe text, complex numbers and `...` strings."""
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if value is ...:
        return "..."
    if isinstance(value, complex):
        return str(value)
    if isinstance(value, bytes):  # text Ansible does not trust: it never templates it
        return UnsafeText(value.decode("utf-8", "surrogateescape"))
    return value
