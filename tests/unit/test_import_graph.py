"""No import cycles among our own modules.

The graph covers the packages the wheel ships (pyproject.toml's hatch `packages`) and the scripts
in benchmarks/ (which import each other by bare name: they put benchmarks/ on sys.path). Every
`import` / `from ... import` counts, at module level or inside a function: a cycle hidden in a
function is still a cycle between the modules' responsibilities.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = "benchmarks"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    where: str  # file:line of the import statement


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the shipped packages and of benchmarks/."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    modules: dict[str, Path] = {}
    for package in packages:
        root = REPO / package
        for path in sorted(root.rglob("*.py")):
            parts = [root.name, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    for path in sorted((REPO / BENCHMARKS).glob("*.py")):
        modules[f"{BENCHMARKS}.{path.stem}"] = path
    return modules


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The module an import of `name` executes last: `name` itself or its nearest known parent."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _packages(name: str) -> list[str]:
    """The packages enclosing a module, outermost first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Edge]:
    def qualified(name: str) -> str:
        # benchmarks/*.py import their siblings by bare name (`from run import ...`)
        if module.startswith(f"{BENCHMARKS}.") and f"{BENCHMARKS}.{name.split('.')[0]}" in modules:
            return f"{BENCHMARKS}.{name}"
        return name

    own = {module, *_packages(module)}
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        targets: list[str | None] = []
        if isinstance(node, ast.Import):
            targets = [_known(qualified(alias.name), modules) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = qualified(_absolute(module, path, node))
            for alias in node.names:
                # `from pkg import mod` imports the submodule, `from mod import name` the module
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in modules else _known(base, modules))
        for target in filter(None, targets):
            # importing a.b.c runs a/__init__ and a/b/__init__ first, unless they are this
            # module's own packages (already running when it runs)
            implied = [pkg for pkg in _packages(target) if pkg in modules and pkg not in own]
            for executed in dict.fromkeys([*implied, target]):
                yield Edge(module, executed, f"{path.relative_to(REPO)}:{node.lineno}")


def import_graph() -> tuple[dict[str, set[str]], list[Edge]]:
    modules = _modules()
    edges = [edge for name, path in modules.items() for edge in _imports(name, path, modules)]
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for edge in edges:
        graph[edge.source].add(edge.target)
    return graph, edges


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit to think about)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def cycles() -> list[str]:
    graph, edges = import_graph()
    found = []
    for component in strongly_connected(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        inside = sorted(
            f"    {e.source} -> {e.target}  ({e.where})"
            for e in edges
            if e.source in members and e.target in members
        )
        found.append(" <-> ".join(component) + "\n" + "\n".join(dict.fromkeys(inside)))
    return found


def test_graph_covers_the_shipped_packages() -> None:
    graph, edges = import_graph()
    assert {"lakehouse.cli", "taxi_generator.producer", "taxi_dagster.definitions"} <= set(graph)
    assert any(name.startswith(f"{BENCHMARKS}.") for name in graph)
    # function-level imports count: the CLI imports its steps inside the commands
    assert any(e.source == "lakehouse.cli" and e.target == "lakehouse.pipeline" for e in edges)


def test_no_import_cycles() -> None:
    found = cycles()
    assert not found, "import cycles (move the shared piece to the lower module):\n" + "\n".join(
        found
    )
