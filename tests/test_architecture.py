"""Import direction between shenggu's packages: each imports only packages below it, and none imports ``bench``.

Every module's ``shenggu.*`` imports are read with ``ast`` (at the top and inside functions alike), so a cycle
cannot hide in a function body. A failure names the importing module, its line and the import that breaks the rule.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import pytest

import shenggu

PACKAGE_DIR = Path(shenggu.__file__).parent

# Each top-level package or module and its layer; a package may import only packages of lower layers. Packages
# of one layer never import each other. Bottom to top: base modules, text, infrastructure, audio, capabilities
# (in the order tts/llm, nlp, asr, then the capabilities built on recognition), solutions and scale, service,
# bench, cli.
LAYERS = {
    "__init__": 0,
    "errors": 0,
    "lazy": 0,
    "text": 1,  # text utilities every capability uses
    "config": 2,
    "assets": 2,
    "logs": 2,
    "audio": 3,
    "reports": 3,  # result files and HTML reports, shared by bench and solutions
    "tts": 4,
    "llm": 4,
    "client": 4,  # the streaming client: text and audio helpers only, no server code
    "nlp": 5,  # may read text through the TTS normalizer (tn)
    "asr": 6,  # post-processing uses nlp (punctuation, ITN, the word LM)
    "diarize": 7,
    "assess": 7,
    "translate": 7,
    "solutions": 8,
    "scale": 8,  # archives and Ray deployments of the capabilities; the service plugs them in
    "service": 9,
    "bench": 10,  # may use everything; only the command line, which runs the benchmarks, uses it
    "cli": 11,
    "__main__": 12,
}
# The command line is the one place that may import bench: `shenggu bench ...` runs the benchmarks.
BENCH_USERS = frozenset({"bench", "cli", "__main__"})


class Import(NamedTuple):
    """One ``shenggu.*`` import: the importing module's path and line, and the imported module."""

    path: str
    line: int
    module: str

    @property
    def target(self) -> str:
        """The imported top-level package or module (``shenggu.asr.types`` → ``asr``)."""
        return self.module.split(".")[1]

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module}"


def _package(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR).parts
    return parts[0] if len(parts) > 1 else path.stem


def _is_module(name: str) -> bool:
    return (PACKAGE_DIR / name).is_dir() or (PACKAGE_DIR / f"{name}.py").is_file()


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module == "shenggu":  # from shenggu import asr (a package) or __version__ (from __init__)
            return [f"shenggu.{alias.name}" if _is_module(alias.name) else "shenggu.__init__" for alias in node.names]
        return [node.module]
    return []


def _imports() -> dict[str, list[Import]]:
    """Each package's imports of other shenggu packages."""
    found: dict[str, list[Import]] = defaultdict(list)
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        package = _package(path)
        relative = str(path.relative_to(PACKAGE_DIR.parent))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=relative)):
            for module in _imported_modules(node):
                parts = module.split(".")
                if parts[0] == "shenggu" and len(parts) > 1 and parts[1] != package:
                    found[package].append(Import(relative, node.lineno, module))
    return found


IMPORTS = _imports()


def test_relative_imports_are_not_used():
    """The checks below read absolute imports only, so a relative one would slip past them."""
    relative = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative += [f"{path}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    assert not relative, "relative imports: " + ", ".join(relative)


def test_every_package_has_a_layer():
    packages = {_package(path) for path in PACKAGE_DIR.rglob("*.py")}
    assert not packages - LAYERS.keys(), f"give these packages a layer in LAYERS: {sorted(packages - LAYERS.keys())}"


def test_packages_import_only_lower_layers():
    wrong = [
        f"{imp} (layer {LAYERS[package]} → {imp.target}, layer {LAYERS.get(imp.target)})"
        for package, imports in sorted(IMPORTS.items())
        for imp in imports
        if imp.target not in LAYERS or LAYERS[imp.target] >= LAYERS.get(package, -1)
    ]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_only_the_command_line_imports_bench():
    wrong = [
        str(imp)
        for package, imports in sorted(IMPORTS.items())
        if package not in BENCH_USERS
        for imp in imports
        if imp.target == "bench"
    ]
    assert not wrong, "product code imports bench:\n" + "\n".join(wrong)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once fully explored

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":  # on the current path: the path from it back to it is a cycle
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_cycle_between_packages():
    graph = {package: {imp.target for imp in imports} for package, imports in IMPORTS.items()}
    cycle = _cycle(graph)
    if cycle:
        steps = [next(str(imp) for imp in IMPORTS[a] if imp.target == b) for a, b in pairwise(cycle)]
        pytest.fail("import cycle " + " → ".join(cycle) + ":\n" + "\n".join(steps))


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": {"b"}}, ["b", "b"]),
        ({"x": {"y"}, "y": set(), "a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
    ],
)
def test_cycle_finder(graph: dict[str, set[str]], cycle: list[str] | None):
    assert _cycle(graph) == cycle
