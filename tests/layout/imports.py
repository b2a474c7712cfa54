"""The import graph of prober/, read from the source with ast (nothing is imported)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "prober"


TOP, TYPING, LAZY = "module level", "if TYPE_CHECKING", "function level"


@dataclass
class Graph:
    """module → the prober modules it imports, by when the import runs: at module level (when the
    module is imported), under `if TYPE_CHECKING:` (only for a type checker), inside a function."""

    edges: dict[str, dict[str, set[str]]] = field(default_factory=lambda: {TOP: {}, TYPING: {}, LAZY: {}})

    def of(self, *kinds: str) -> dict[str, set[str]]:
        """The edges of those kinds together."""
        modules = self.edges[TOP]
        return {m: set().union(*(self.edges[k][m] for k in kinds)) for m in modules}


def module_names(root: Path = PACKAGE) -> dict[str, Path]:
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _resolved(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


Statement = ast.Import | ast.ImportFrom


def _named(node: Statement, module: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """The prober modules one import statement names (`from a import b`: a.b too if it is a module)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name in known)
        return
    source = _resolved(module, is_package, node)
    if source in known:
        yield source
        yield from (f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in known)


def _targets(node: Statement, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules an import statement runs: those it names and their parent packages (importing
    a.b.c runs a/__init__ and a/b/__init__ first), except the packages `module` itself is in."""
    found = set()
    for target in _named(node, module, is_package, known):
        parts = target.split(".")
        for end in range(1, len(parts) + 1):
            name = ".".join(parts[:end])
            if name != module and not module.startswith(name + "."):
                found.add(name)
    return found


def _checking(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`)."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> Iterator[tuple[Statement, str]]:
    """Every import statement and when it runs (TOP, TYPING or LAZY)."""
    stack: list[tuple[ast.AST, str]] = [(child, TOP) for child in tree.body]
    while stack:
        node, when = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, when
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            stack.extend((child, LAZY) for child in ast.iter_child_nodes(node))
        elif _checking(node) and when == TOP:
            assert isinstance(node, ast.If)
            stack.extend((child, TYPING) for child in node.body)
            stack.extend((child, TOP) for child in node.orelse)
        else:
            stack.extend((child, when) for child in ast.iter_child_nodes(node))


def build(root: Path = PACKAGE) -> Graph:
    names = module_names(root)
    known = set(names)
    graph = Graph()
    for module, path in names.items():
        is_package = path.name == "__init__.py"
        for edges in graph.edges.values():
            edges[module] = set()
        for node, when in _imports(ast.parse(path.read_text(), str(path))):
            graph.edges[when][module] |= _targets(node, module, is_package, known)
    return graph


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """A cycle through each strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(_cycle_through(sorted(group), edges))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def _cycle_through(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path from the group's first module back to itself, within the group."""
    members, start = set(group), group[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges.get(node, ())):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if child in members and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return group
