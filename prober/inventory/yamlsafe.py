"""A strict YAML loader: no aliases, no duplicate keys, bounded size, line numbers kept."""

from __future__ import annotations

import os
import re
from typing import Any, NoReturn

import yaml
from yaml.nodes import ScalarNode

from prober.errors import InventoryError, Problem

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64


class LocDict(dict[str, Any]):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LocList(list[Any]):
    """A sequence that remembers the line of itself and of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


# libyaml's parser (PyYAML's C loader) reads the text; the document is built here straight from its
# events, never as a node graph. A 100,000-line host list: 0.07 s of events vs 0.18 s to compose the
# graph, then ~0.6 s more to walk (aliases, depth) and construct it, and the graph (a node and two
# marks per scalar, ~500 bytes) held ~50 MB at once. The pure-Python parser is the fallback when
# PyYAML was built without libyaml.
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = (None, "!")  # no tag given: resolved from the value (plain) or a string (quoted)


class _StrictLoader(_BASE_LOADER):  # type: ignore[misc]  # a base chosen at import (libyaml or not)
    """A safe loader that builds LocDict/LocList documents from parser events, refusing aliases (no
    billion laughs: nothing is ever shared), merge keys, duplicate keys, tags on collections and
    nesting past MAX_DEPTH, and tracking the key path for error messages."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # The key path being built ("groups", "web", "hosts", 1); on an error it names the spot.
        self.path: list[str | int] = []

    def key_path(self) -> str:
        return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path).lstrip(".")

    def build_document(self) -> Any:
        """The stream's single document (None for an empty stream)."""
        self.get_event()  # StreamStartEvent
        if self.check_event(yaml.StreamEndEvent):
            return None
        document = self.get_event()
        value = self._build(self.get_event(), 1)
        self.get_event()  # DocumentEndEvent
        if not self.check_event(yaml.StreamEndEvent):
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                document.start_mark,
                "but found another document",
                self.get_event().start_mark,
            )
        return value

    def _build(self, event: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            self._refuse(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        kind = type(event)
        if kind is yaml.ScalarEvent:
            if event.tag is None and not event.implicit[0]:
                return event.value  # quoted, untagged: a string (every line of a quoted host list)
            return self._scalar(event)
        if kind is yaml.SequenceStartEvent:
            return self._sequence(event, depth)
        if kind is yaml.MappingStartEvent:
            return self._mapping(event, depth)
        self._refuse("aliases (*name) are not allowed in an inventory", event.start_mark)

    def _refuse(self, problem: str, mark: Any) -> NoReturn:
        """An error about the document's shape; its key is read from the lines (guess_key_path), as a
        list index deep inside is no help."""
        self.path.clear()
        raise yaml.MarkedYAMLError(problem=problem, problem_mark=mark)

    def _scalar(self, event: Any) -> Any:
        tag = event.tag
        if tag in _PLAIN_TAGS:
            tag = self.resolve(ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        constructor = self.yaml_constructors.get(tag, self.yaml_constructors[None])
        return constructor(self, node)  # int, float, bool, null...; an unknown tag raises

    def _collection_tag(self, event: Any, default: str) -> None:
        if event.tag not in _PLAIN_TAGS and event.tag != default:
            raise yaml.constructor.ConstructorError(
                None, None, f"could not determine a constructor for the tag {event.tag!r}", event.start_mark
            )

    def _sequence(self, event: Any, depth: int) -> LocList:
        self._collection_tag(event, _SEQ)
        result, lines = LocList(), []
        result.line = event.start_mark.line + 1
        index = 0
        while not self.check_event(yaml.SequenceEndEvent):
            child = self.get_event()
            self.path.append(index)
            result.append(self._build(child, depth + 1))
            self.path.pop()
            lines.append(child.start_mark.line + 1)
            index += 1
        self.get_event()
        result.item_lines = lines
        return result

    def _mapping(self, event: Any, depth: int) -> LocDict:
        self._collection_tag(event, _MAP)
        result = LocDict()
        result.line = event.start_mark.line + 1
        result.key_lines = {}
        while not self.check_event(yaml.MappingEndEvent):
            key_event = self.get_event()
            key = self._key(key_event, depth + 1)
            self.path.append(key)
            if key in result:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r} (first on line {result.key_lines[key]})",
                    problem_mark=key_event.start_mark,
                )
            result[key] = self._build(self.get_event(), depth + 1)
            result.key_lines[key] = key_event.start_mark.line + 1
            self.path.pop()
        self.get_event()
        return result

    def _key(self, event: Any, depth: int) -> str:
        """A mapping key as text; it must be a plain scalar (not `<<`, a list or a mapping)."""
        if type(event) is yaml.ScalarEvent and event.tag in _PLAIN_TAGS and event.implicit[0]:
            tag = self.resolve(ScalarNode, event.value, event.implicit)  # once: keys repeat a lot
            if tag == _MERGE:
                # libyaml's Mark has the fields (name, line, column) the error reads from yaml's own.
                mark = event.start_mark
                raise yaml.MarkedYAMLError(problem="merge keys (<<) are not allowed", problem_mark=mark)  # type: ignore[arg-type]
            key = event.value if tag == _STR and depth <= MAX_DEPTH else self._build(event, depth)
        else:
            key = self._build(event, depth)
        if not isinstance(key, str | int | float | bool) or key is None:
            what = type(key).__name__
            raise yaml.MarkedYAMLError(
                problem=f"a key must be a plain scalar, not {what}", problem_mark=event.start_mark
            )
        return str(key)


STDIN = "-"
STDIN_NAME = "<stdin>"


def shown_path(path: str) -> str:
    """How a path is named in messages: `-` (standard input) is `<stdin>`."""
    return STDIN_NAME if path == STDIN else path


def load_yaml(path: str) -> Any:
    """Parse one YAML file (`-`: standard input) strictly; every failure becomes an InventoryError
    naming file:line (`<stdin>:LINE` for standard input)."""
    raw = _read_stdin() if path == STDIN else _read(path)
    path = shown_path(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw.count(b"\n", 0, exc.start) + 1
        problem = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} ({exc.reason})"
        raise InventoryError([Problem(path, bad_line, "", problem)]) from None
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as exc:
        raise InventoryError([_reader_problem(path, text, exc)]) from None
    try:
        return loader.build_document()
    except yaml.reader.ReaderError as exc:
        raise InventoryError([_reader_problem(path, text, exc)]) from None
    except yaml.MarkedYAMLError as exc:
        line, message = _located(exc)
        # A syntax error is found by the scanner, which reads ahead of what is built: the key path
        # is read from the lines around it instead.
        syntax = isinstance(exc, yaml.scanner.ScannerError | yaml.parser.ParserError)
        key = "" if syntax else loader.key_path()
        if not key and line and "indentation" not in message and "document" not in message:
            key = guess_key_path(text.split("\n"), line)
        raise InventoryError([Problem(path, line, key, f"YAML: {message}")]) from None
    except yaml.YAMLError as exc:
        raise InventoryError([Problem(path, None, "", f"YAML: {exc}")]) from None
    except RecursionError:
        raise InventoryError([Problem(path, None, "", "YAML: nesting too deep")]) from None
    finally:
        loader.dispose()


_KEY_LINE = re.compile(r"""^\s*(?:-\s+)*("[^"]*"|'[^']*'|[^\s#'"\[\]{}:,-][^:#]*):(?:\s|$)""")


def guess_key_path(lines: list[str], line: int) -> str:
    """The key path of a line of block-style YAML that does not parse, read from indentation alone.

    Only used for syntax errors (an unclosed quote or bracket, a stray character), where the lines above
    are well formed; for indentation errors the indentation itself is what cannot be trusted.
    """
    path: list[str] = []
    limit: int | None = None
    for text in reversed(lines[:line]):
        match = _KEY_LINE.match(text)
        if not match:
            continue
        indent = len(text) - len(text.lstrip(" -"))
        if limit is None or indent < limit:
            path.append(match.group(1).strip().strip("'\""))
            limit = indent
            if indent == 0:
                break
    return ".".join(reversed(path))


def _reader_problem(path: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    """A character YAML does not allow (NUL, most control characters), with its line."""
    line = text.count("\n", 0, exc.position) + 1
    return Problem(path, line, "", f"YAML: character {exc.character!r} is not allowed in YAML text")


def _read(path: str) -> bytes:
    """The file's bytes, refusing anything over MAX_BYTES (even when its size is not known up front)."""
    too_big = f"file is over {MAX_BYTES // (1024 * 1024)} MiB; an inventory is never that large"
    try:
        if os.path.isdir(path):
            raise InventoryError([Problem(path, None, "", "is a directory, not an inventory file")])
        if os.path.getsize(path) > MAX_BYTES:
            raise InventoryError([Problem(path, None, "", too_big)])
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InventoryError([Problem(path, None, "", f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_BYTES:
        raise InventoryError([Problem(path, None, "", too_big)])
    return raw


def _read_stdin() -> bytes:
    """Standard input's bytes, at most MAX_BYTES (read until it closes)."""
    import sys

    too_big = f"input is over {MAX_BYTES // (1024 * 1024)} MiB; an inventory is never that large"
    try:
        raw = sys.stdin.buffer.read(MAX_BYTES + 1) if sys.stdin is not None else b""
    except (OSError, ValueError) as exc:
        message = f"cannot read: {getattr(exc, 'strerror', None) or exc}"
        raise InventoryError([Problem(STDIN_NAME, None, "", message)]) from None
    if len(raw) > MAX_BYTES:
        raise InventoryError([Problem(STDIN_NAME, None, "", too_big)])
    return raw


def _located(exc: yaml.MarkedYAMLError) -> tuple[int | None, str]:
    """The most useful line of a YAML error and a message saying what and where.

    An unclosed quote or bracket is reported by PyYAML where the file ends or the next key starts; the line
    the user must fix is where the quote or bracket opened (the context mark). Block-structure errors are
    the other way round: the problem mark is the badly indented line.
    """
    problem = exc.problem or "invalid YAML"
    if "maximum nesting depth" in problem:  # libyaml's own limit (1000), past ours
        problem, exc.context = f"nested more than {MAX_DEPTH} levels deep", None
    context, cmark, pmark = exc.context, exc.context_mark, exc.problem_mark
    opened = bool(context and cmark and any(w in context for w in ("quoted", "flow", "simple key")))
    if opened and cmark:
        where = f" (line {pmark.line + 1})" if pmark and pmark.line != cmark.line else ""
        return cmark.line + 1, f"{context} that starts on this line: {problem}{where}"
    line = pmark.line + 1 if pmark else (cmark.line + 1 if cmark else None)
    if context and "block" in context:
        return line, f"{problem} (check the indentation)"
    if problem.startswith("mapping values are not allowed"):
        return line, f"{problem} (check the indentation, or quote a value that contains ': ')"
    if not context:
        return line, problem
    return line, f"{context} {problem}" if problem.startswith("but ") else f"{context}: {problem}"
