"""Files as Ansible's DataLoader reads them: vault refused, JSON tried first, then YAML with lines."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from prober.errors import Problem
from prober.inventory.sources._ansible.errors import SourceError, Where, fail
from prober.inventory.sources._ansible.model import UnsafeText
from prober.inventory.yamlsafe import _located, guess_key_path

MAX_BYTES = 128 * 1024 * 1024  # 100,000 hosts with a few vars each is ~15 MB of YAML
MAX_VALUES = 1_000_000  # values a document may expand to through aliases (a "billion laughs" file)
VAULT_HEADER = "$ANSIBLE_VAULT;"
_VAULT_ADVICE = "prober cannot decrypt Ansible Vault; keep vaulted secrets out of the inventory prober reads"


class LineDict(dict[Any, Any]):
    """A YAML mapping that remembers its line and the line of each key (1-based)."""

    line: int = 0
    lines: dict[Any, int]


def read_bytes(path: str) -> bytes:
    """The file's bytes; SourceError if unreadable, too big or vault-encrypted."""
    try:
        if os.path.getsize(path) > MAX_BYTES:
            raise fail(Where(path), f"file is over {MAX_BYTES >> 20} MiB; an inventory is never that large")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise fail(Where(path), f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise fail(Where(path), f"file is over {MAX_BYTES >> 20} MiB; an inventory is never that large")
    if raw.startswith(VAULT_HEADER.encode()):
        raise fail(Where(path, 1), f"the file is encrypted with ansible-vault; {_VAULT_ADVICE}")
    return raw


def decode(path: str, raw: bytes) -> str:
    """UTF-8 text, or a SourceError naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise fail(Where(path, line), f"not UTF-8 text: byte 0x{raw[exc.start]:02x} ({exc.reason})") from None


def read_text(path: str) -> str:
    """The file's text; SourceError if unreadable, too big, not UTF-8 or vault-encrypted."""
    return decode(path, read_bytes(path))


def load_data(path: str, text: str, warnings: list[Problem]) -> Any:
    """JSON if it parses as JSON (as Ansible tries first: 1e3 is a number there, a string in YAML),
    else YAML. Mappings from YAML are LineDicts."""
    try:
        return json.loads(text, object_hook=json_hook(path))
    except ValueError:
        pass
    except RecursionError:
        raise fail(Where(path), "JSON nested too deep") from None
    return load_yaml(path, text, warnings)


def json_hook(path: str) -> Any:
    def hook(pairs: dict[str, Any]) -> Any:
        if "__ansible_vault" in pairs:
            raise SourceError(
                [Problem(path, None, "", f"a vault-encrypted value (__ansible_vault); {_VAULT_ADVICE}")]
            )
        if "__ansible_unsafe" in pairs and isinstance(pairs["__ansible_unsafe"], str):
            return UnsafeText(pairs["__ansible_unsafe"])
        return pairs

    return hook


def load_yaml(path: str, text: str, warnings: list[Problem]) -> Any:
    loader = _Loader(text, path, warnings)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(path, node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        line, message = _located(exc)
        key = loader.key_path()
        if not key and line and "indentation" not in message and "document" not in message:
            key = guess_key_path(text.split("\n"), line)
        raise fail(Where(path, line, key), f"YAML: {message}") from None
    except yaml.YAMLError as exc:
        raise fail(Where(path), f"YAML: {exc}") from None
    except RecursionError:
        raise fail(Where(path), "YAML nested too deep") from None
    finally:
        loader.dispose()


def _check_expansion(path: str, root: Node) -> None:
    """Refuse documents whose aliases expand past MAX_VALUES, or refer to themselves."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise fail(
                Where(path, node.start_mark.line + 1), "YAML: an alias refers to a value that contains it"
            )
        active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        if total > MAX_VALUES:
            message = f"YAML: aliases expand this document to over {MAX_VALUES} values"
            raise fail(Where(path, node.start_mark.line + 1), message)
        sizes[key] = total
        return total

    size(root)


_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses ~5x faster; nodes keep marks


class _Loader(_Base):  # type: ignore[misc]  # a base chosen at import (libyaml or not)
    """Ansible's YAML dialect: !unsafe, !vault (refused with its line), duplicate keys warned (last wins)."""

    def __init__(self, text: str, path: str, warnings: list[Problem]) -> None:
        super().__init__(text)
        self.file = path
        self.warnings = warnings
        self.unsafe = 0
        self.path: list[str] = []

    def key_path(self) -> str:
        return ".".join(self.path)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> LineDict:
        explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        self.flatten_mapping(node)
        out = LineDict()
        out.line, out.lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.MarkedYAMLError(
                    problem=f"a key must be a plain value, not {type(key).__name__}",
                    problem_mark=key_node.start_mark,
                ) from None
            if key in out and id(key_node) in explicit:
                where = Where(self.file, key_node.start_mark.line + 1, self.key_path())
                warning = f"duplicate key {key!r} (first on line {out.lines[key]}): the last one is used"
                self.warnings.append(where.problem(warning))
            self.path.append(str(key))
            out[key] = self.construct_object(value_node, deep=True)
            self.path.pop()
            out.lines[key] = key_node.start_mark.line + 1
        return out

    def _map(self, node: MappingNode) -> LineDict:
        return self.construct_mapping(node)

    def _seq(self, node: SequenceNode) -> list[Any]:
        out = []
        for index, child in enumerate(node.value):
            self.path.append(f"[{index}]")
            out.append(self.construct_object(child, deep=True))
            self.path.pop()
        return out

    def _str(self, node: ScalarNode) -> str:
        value = self.construct_scalar(node)
        return UnsafeText(value) if self.unsafe else value

    def _unsafe(self, node: Node) -> Any:
        """As Ansible: the value as if untagged, every string in it unsafe."""
        plain = copy.copy(node)
        plain.tag = self.resolve(type(node), node.value, (True, False))
        self.unsafe += 1
        try:
            return self.construct_object(plain, deep=True)
        finally:
            self.unsafe -= 1

    def _vault(self, node: Node) -> Any:
        raise yaml.MarkedYAMLError(
            problem=f"a vault-encrypted value (!vault); {_VAULT_ADVICE}", problem_mark=node.start_mark
        )


for _tag, _method in (
    ("tag:yaml.org,2002:map", _Loader._map),
    ("tag:yaml.org,2002:seq", _Loader._seq),
    ("tag:yaml.org,2002:str", _Loader._str),
    ("!unsafe", _Loader._unsafe),
    ("!vault", _Loader._vault),
    ("!vault-encrypted", _Loader._vault),
):
    _Loader.add_constructor(_tag, _method)
