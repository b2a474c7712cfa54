"""A strict YAML loader: no aliases, no duplicate keys, bounded size, line numbers kept."""

from __future__ import annotations

import os
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

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


# libyaml's parser and composer (PyYAML's C loader) read a 10,000-line host list ~10x faster than
# the pure-Python ones (0.03 s vs 0.28 s here); construction stays in Python, where the lines and the
# strict rules live. The pure-Python loader is the fallback when PyYAML was built without libyaml.
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BASE_LOADER):  # type: ignore[misc]
    """A safe loader that refuses duplicate keys and merge keys and tracks the key path; aliases and
    depth are refused on the composed node graph (check_graph), before anything is constructed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # The key path being constructed ("groups", "web", "hosts", "[1]"); on an error it names the spot.
        self.path: list[str] = []

    def key_path(self) -> str:
        return "".join(p if p.startswith("[") else f".{p}" for p in self.path).lstrip(".")

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> LocDict:  # type: ignore[override]
        result = LocDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise yaml.MarkedYAMLError(
                    problem="merge keys (<<) are not allowed", problem_mark=key_node.start_mark
                )
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise yaml.MarkedYAMLError(
                    problem=f"a key must be a plain scalar, not {type(key).__name__}",
                    problem_mark=key_node.start_mark,
                )
            key = str(key)
            self.path.append(key)
            if key in result:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r} (first on line {result.key_lines[key]})",
                    problem_mark=key_node.start_mark,
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
            self.path.pop()
        return result

    def construct_sequence(self, node: SequenceNode, deep: bool = False) -> LocList:  # type: ignore[override]
        result = LocList()
        for index, child in enumerate(node.value):
            self.path.append(f"[{index}]")
            result.append(self.construct_object(child, deep=True))
            self.path.pop()
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


def check_graph(root: Node, text: str) -> None:
    """Refuse aliases (a node reached twice: billion laughs) and nesting past MAX_DEPTH.

    The composer already resolved aliases into shared nodes, so this walk sees each alias as a node
    met a second time; the error points at the first alias in the file (found by rescanning, which
    only happens on this error path).
    """
    seen: set[int] = set()
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed in an inventory", problem_mark=_first_alias(text)
            )
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise yaml.MarkedYAMLError(
                problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=node.start_mark
            )
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack += [(value, depth + 1), (key, depth + 1)]
        elif isinstance(node, SequenceNode):
            stack += [(item, depth + 1) for item in reversed(node.value)]


def _first_alias(text: str) -> Any:
    for token in yaml.scan(text, Loader=_BASE_LOADER):
        if isinstance(token, yaml.AliasToken):
            return token.start_mark
    return None


def _construct_map(loader: _StrictLoader, node: MappingNode) -> LocDict:
    return loader.construct_mapping(node)


def _construct_seq(loader: _StrictLoader, node: SequenceNode) -> LocList:
    return loader.construct_sequence(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_StrictLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


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
        node = loader.get_single_node()
        if node is None:
            return None
        check_graph(node, text)
        return loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        raise InventoryError([_reader_problem(path, text, exc)]) from None
    except yaml.MarkedYAMLError as exc:
        line, message = _located(exc)
        key = loader.key_path()
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
