"""No import cycle among the bot's modules: read from the source, not by importing it.

Every `import bot.…` / `from bot… import …` counts, at module level and inside
functions alike: an import moved into a function to dodge a cycle still ties the
two modules into one, and it is that knot this test is here to keep out. Only
imports under `if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

from conftest import REPO_ROOT

Edges = dict[tuple[str, str], list[str]]  # (importer, imported) -> where: "bot/x.py:12 (in a function)"


def _module_names(root: Path, package: str) -> dict[str, Path]:
    names = {}
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:`."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def import_edges(root: Path, package: str = "bot") -> tuple[set[str], Edges]:
    """The package's modules and the imports between them, each with where it is written."""
    modules = _module_names(root, package)
    edges: Edges = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skipped = _type_checking_only(tree)
        in_function = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) for n in ast.walk(f)}
        # The package a relative import starts from: the module's own for an __init__.py.
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # `from bot import cite` imports the module bot.cite; `from bot.x import f` imports bot.x.
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names]
            for target in targets:
                # `import bot.answer.llm` runs bot.answer.llm: the most specific module named.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    where = f"{path.relative_to(root)}:{node.lineno}" + (" (in a function)" if id(node) in in_function else "")
                    if where not in edges.setdefault((name, target), []):
                        edges[(name, target)].append(where)
    return set(modules), edges


def cycles(modules: set[str], edges: Edges) -> list[list[str]]:
    """One cycle, as a path that returns to its start, per knot of mutually importing modules."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for a, b in edges:
        graph[a].add(b)
    # Tarjan's strongly connected components; a component of more than one module is a knot.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    knots: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                knots.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    found = []
    for knot in knots:
        start = min(knot)
        # The shortest way back to the start within the knot.
        previous: dict[str, str] = {}
        queue = deque([start])
        while queue:
            v = queue.popleft()
            if start in graph[v]:
                path = [start]
                while v != start:
                    path.append(v)
                    v = previous[v]
                found.append([start, *reversed(path[1:]), start])
                break
            for w in sorted(graph[v] & knot):
                if w not in previous and w != start:
                    previous[w] = v
                    queue.append(w)
    return found


def _describe(cycle: list[str], edges: Edges) -> str:
    steps = [f"  {a} -> {b}  ({', '.join(edges[(a, b)])})" for a, b in zip(cycle, cycle[1:])]
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


def test_no_import_cycle_among_the_bots_modules():
    modules, edges = import_edges(REPO_ROOT)
    assert "bot.cli" in modules and ("bot.cli", "bot.render") in edges  # the walk sees the package
    found = cycles(modules, edges)
    assert not found, "import cycles:\n" + "\n".join(_describe(c, edges) for c in found)


def test_the_walk_finds_cycles_through_functions_and_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from pkg.b import f\n",
        "b.py": "def f():\n    from . import a\n",  # function-level, relative: still a -> b -> a
        "c.py": "import pkg.sub.d\n",
        "sub/__init__.py": "",
        "sub/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import c\nfrom ..a import f\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    modules, edges = import_edges(tmp_path, "pkg")
    assert modules == {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.sub", "pkg.sub.d"}
    assert set(edges) == {("pkg.a", "pkg.b"), ("pkg.b", "pkg.a"), ("pkg.c", "pkg.sub.d"), ("pkg.sub.d", "pkg.a")}
    assert edges[("pkg.b", "pkg.a")] == ["pkg/b.py:2 (in a function)"]
    assert cycles(modules, edges) == [["pkg.a", "pkg.b", "pkg.a"]]
