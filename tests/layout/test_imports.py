"""prober/'s modules import one another one way: no import cycle, at module level or in functions."""

from __future__ import annotations

from pathlib import Path

from tests.layout.imports import LAZY, TOP, TYPING, Graph, build, cycles


def _listed(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in found)


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


class TestProber:
    def test_no_cycle_of_module_level_imports(self) -> None:
        """No chain of module-level imports leads from a module back to itself (a module half
        initialised when another one uses it)."""
        graph = build()
        found = cycles(graph.of(TOP))
        assert not found, f"module-level import cycles:\n{_listed(found)}"

    def test_no_cycle_with_function_level_imports(self) -> None:
        """Counting the imports made inside functions too (deferred for start-up time), the modules
        still depend on one another one way."""
        graph = build()
        found = cycles(graph.of(TOP, LAZY))
        assert not found, f"import cycles through function-level imports:\n{_listed(found)}"

    def test_the_graph_is_read(self) -> None:
        """The graph has the package's modules and their imports of each kind (an empty graph passes
        the tests above vacuously)."""
        graph = build()
        top, lazy, typing = (sum(map(len, graph.edges[kind].values())) for kind in (TOP, LAZY, TYPING))
        assert len(graph.edges[TOP]) > 100
        assert top > 300 and lazy > 30 and typing > 10, (top, lazy, typing)
        assert "prober.runtime.engine" in graph.edges[TOP]["prober.runtime.execute"]
        assert "prober.runtime.execute" in graph.edges[LAZY]["prober.runtime.child"]
        assert "prober.runtime.resources" in graph.edges[TYPING]["prober.probes.registry"]


class TestGraph:
    """The checker itself, on small packages written for it."""

    def test_a_cycle_is_found_and_listed(self, tmp_path: Path) -> None:
        """a → b → c → a at module level is reported as that path; d, importing into it, is not."""
        root = _package(
            tmp_path,
            {
                "__init__.py": "",
                "a.py": "from pkg import b\n",
                "b.py": "import pkg.c\n",
                "c.py": "from . import a\n",
                "d.py": "from pkg.a import x\n",
            },
        )
        assert cycles(build(root).of(TOP)) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]

    def test_kinds_are_kept_apart(self, tmp_path: Path) -> None:
        """An import in a function or under `if TYPE_CHECKING:` closes no module-level cycle."""
        root = _package(
            tmp_path,
            {
                "__init__.py": "",
                "a.py": "import pkg.b\n",
                "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
                "def f():\n    from pkg.c import y\n",
                "c.py": "from pkg import b\n",
            },
        )
        graph: Graph = build(root)
        assert cycles(graph.of(TOP)) == []
        assert cycles(graph.of(TOP, TYPING)) == [["pkg.a", "pkg.b", "pkg.a"]]
        assert cycles(graph.of(TOP, LAZY)) == [["pkg.b", "pkg.c", "pkg.b"]]

    def test_a_submodule_import_runs_its_package(self, tmp_path: Path) -> None:
        """Importing pkg.sub.m runs pkg/sub/__init__ first: a cycle through a package's __init__
        counts, but a package importing its own submodules does not."""
        root = _package(
            tmp_path,
            {
                "__init__.py": "",
                "sub/__init__.py": "from pkg.sub.m import x\nfrom pkg import top\n",
                "sub/m.py": "x = 1\n",
                "top.py": "from pkg.sub.m import x\n",
            },
        )
        assert cycles(build(root).of(TOP)) == [["pkg.sub", "pkg.top", "pkg.sub"]]
