"""Remote text made safe to embed: no control characters (invalid XML 1.0, terminal escapes), bounded."""

from __future__ import annotations

import re

# Everything XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF), plus DEL and
# the C1 controls: XML allows those, but HTML parsers flag them and 0x9B is a terminal's CSI. Also the
# bidirectional overrides and isolates: in remote text they reorder what follows on the line (a
# right-to-left override turned a report caption's "p95 12 ms" into "sm 21 59p").
_UNSAFE = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
    "|[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_BREAKS = re.compile("[\t\n\r]+")
REPLACEMENT = "\ufffd"


def clean(text: str) -> str:
    """`text` with every unsafe character replaced by U+FFFD; line breaks and tabs kept."""
    return _UNSAFE.sub(REPLACEMENT, text)


# The GitHub Actions runner acts on a legacy workflow command ("##[name]data") found *anywhere* in a
# line a step prints, on stdout or stderr (actions/runner ActionCommand.TryParse): remote text must
# never carry one into a CI log. JSON can escape the bracket losslessly; text gets a zero-width space.
LEGACY_COMMAND = "##["


def no_workflow_commands(text: str) -> str:
    """`text` for a CI log: '##[' broken by a zero-width space (the text looks the same)."""
    return text.replace(LEGACY_COMMAND, "#\u200b#[") if LEGACY_COMMAND in text else text


def no_workflow_commands_json(line: bytes) -> bytes:
    """A JSON line with '##[' written as '##\\u005b': the same JSON value, inert in a CI log."""
    return line.replace(b"##[", b"##\\u005b") if b"##[" in line else line


def one_line(text: str, limit: int | None = None) -> str:
    """`text` cleaned, its line breaks and tabs turned into single spaces, cut to `limit` characters."""
    text = _BREAKS.sub(" ", clean(text))
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def cut(text: str, limit: int) -> str:
    """`text` cleaned and cut to `limit` characters (line breaks kept)."""
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["REPLACEMENT", "clean", "cut", "no_workflow_commands", "no_workflow_commands_json", "one_line"]
