"""The package layers: no cycle between packages, the core imports none of its callers, and
the workflows see only messages and pure rules (docs/DESIGN.md, "Layers")."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each package and the project packages it may import, lowest layer first.
LAYERS: dict[str, frozenset[str]] = {
    "policies": frozenset(),
    "duban": frozenset({"policies"}),
    "workflows": frozenset({"duban"}),
    "activities": frozenset({"duban", "policies"}),
    "actions": frozenset({"duban", "policies", "workflows"}),
    "web": frozenset({"duban", "policies", "actions", "workflows"}),
    "cli": frozenset({"duban", "policies", "workflows", "activities", "actions", "web"}),
}
# What the workflow sandbox may load from the core: plain data and pure rules.
WORKFLOW_CORE = frozenset({"duban", "duban.domain", "duban.rules", "duban.messages"})


@dataclass(frozen=True)
class Import:
    """One import statement's target module inside the project, and where it stands."""

    source: str
    target: str
    line: int


def _modules() -> dict[str, tuple[Path, bool]]:
    """Return every module of the project's packages: name -> (file, is a package)."""
    modules: dict[str, tuple[Path, bool]] = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            modules[name] = (path, is_package)
    return modules


MODULES = _modules()


def _named(name: str | None) -> str | None:
    """Return the longest project module that `name` (a module or a module.attribute) names."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Yield the dotted names an import statement reaches (module, and module.name per name)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: resolve against the importing module's package
            package = module if is_package else module.rpartition(".")[0]
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        yield base
        yield from (f"{base}.{alias.name}" for alias in node.names)


@cache
def imports() -> tuple[Import, ...]:
    """Return every import of a project module by a project module, wherever it is written."""
    found: list[Import] = []
    for module, (path, is_package) in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            for target in {_named(t) for t in _targets(node, module, is_package)}:
                if target is not None and target != module:
                    found.append(Import(module, target, getattr(node, "lineno", 0)))
    return tuple(found)


def package_of(module: str) -> str:
    """Return the package a module belongs to (a package's __init__ belongs to itself)."""
    return module if MODULES[module][1] else module.rpartition(".")[0]


def package_graph() -> dict[str, set[str]]:
    """Return package -> packages it imports, between packages neither inside the other."""
    graph: dict[str, set[str]] = {package_of(m): set() for m in MODULES}
    for imp in imports():
        a, b = package_of(imp.source), package_of(imp.target)
        if a != b and not a.startswith(f"{b}.") and not b.startswith(f"{a}."):
            graph[a].add(b)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle of the graph as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_finder_sees_a_cycle_and_a_clean_graph() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_reader_sees_imports_inside_functions() -> None:
    # cli/main.py imports the web app lazily, inside the `web` command.
    assert any(i.source == "cli.main" and i.target == "web.app" for i in imports())


def test_no_cycle_between_packages() -> None:
    graph = package_graph()
    assert {"duban", "duban.services", "duban.models", "web.api", "web.pages"} <= set(graph)
    assert find_cycle(graph) is None
    top = {p: {_top(q) for q in graph[p]} - {_top(p)} for p in graph}
    merged: dict[str, set[str]] = {}
    for p, deps in top.items():
        merged.setdefault(_top(p), set()).update(deps)
    assert find_cycle(merged) is None


def test_each_package_imports_only_the_layers_below_it() -> None:
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in imports()
        if _top(i.target) != _top(i.source) and _top(i.target) not in LAYERS[_top(i.source)]
    ]
    assert wrong == []


def test_the_core_imports_none_of_its_callers() -> None:
    callers = set(LAYERS) - {"duban", "policies"}
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in imports()
        if _top(i.source) == "duban" and _top(i.target) in callers
    ]
    assert wrong == []


def test_workflows_import_only_messages_and_pure_rules() -> None:
    reached = {i.target for i in imports() if _top(i.source) == "workflows"} - {
        m for m in MODULES if _top(m) == "workflows"
    }
    assert reached <= WORKFLOW_CORE, sorted(reached - WORKFLOW_CORE)
    # ... and those core modules import nothing else of the project.
    inner = {i.target for i in imports() if i.source in WORKFLOW_CORE}
    assert inner <= WORKFLOW_CORE, sorted(inner - WORKFLOW_CORE)


def test_messages_are_stdlib_only() -> None:
    tree = ast.parse((ROOT / "duban" / "messages.py").read_text(encoding="utf-8"))
    roots = {
        (alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert roots and roots <= set(sys.stdlib_module_names) | {"__future__"}, roots


def test_importing_the_workflows_loads_no_database_or_service() -> None:
    code = (
        "import sys, workflows.assignment, workflows.policy_task\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'duban', 'activities', 'actions', 'web', 'cli', 'policies'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "sqlalchemy" not in out
    assert set(out) <= WORKFLOW_CORE, out


# The web's concept stems: a router module per concept under web/api/ and web/pages/ (or a
# template folder), and the schemas and views of that concept under the same stem (docs/DESIGN.md, "Layers").
WEB_CONCEPT_DIRS = ("schemas", "views")


def _stems(folder: str) -> set[str]:
    return {p.stem for p in (ROOT / "web" / folder).glob("*.py") if p.stem != "__init__"}


def test_web_schemas_and_views_share_their_routers_stems() -> None:
    templates = {p.name for p in (ROOT / "web" / "templates").iterdir() if p.is_dir()}
    concepts = _stems("api") | _stems("pages") | templates
    strays = {
        f"web/{folder}/{stem}.py"
        for folder in WEB_CONCEPT_DIRS
        for stem in _stems(folder) - concepts
        if stem != "supervision"  # board, reviews and escalations: one API tag, one shape module
    }
    assert not strays, f"no web/api/ or web/pages/ module of the same stem: {sorted(strays)}"


def test_no_concept_module_lies_flat_in_web() -> None:
    flat = {p.stem for p in (ROOT / "web").glob("*.py")}
    suffixed = {s for s in flat if s.endswith(("_schemas", "_view", "_views"))}
    assert not suffixed, f"concept modules belong in web/schemas/ or web/views/: {suffixed}"
