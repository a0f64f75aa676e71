"""Import rules between layers, read from the source (no import side effects)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports, relative imports resolved."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_services_never_import_the_tasks():
    offenders = {
        str(path.relative_to(ROOT)): sorted(n for n in _imported_modules(path) if "tasks" in n)
        for path in (ROOT / "diary" / "services").glob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_hashing_helper_and_the_torch_core_import_no_django():
    paths = [ROOT / "segmentation" / "hashing.py", *(ROOT / "segmentation" / "core").glob("*.py")]
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in _imported_modules(path) if n.split(".")[0] == "django"
        )
        for path in paths
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_resolver_sees_relative_imports():
    # The rule above would pass vacuously if relative imports were not resolved.
    assert "diary.services.queueing" in _imported_modules(ROOT / "diary" / "tasks.py")
    assert "diary.batches" in _imported_modules(ROOT / "diary" / "tasks.py")


#: segmentation.core's public namespaces; its other modules are internal (see its docstring).
CORE_PUBLIC = {"compare", "data", "encoders", "losses", "metrics", "transforms"}
CORE_INTERNAL = {
    path.stem for path in (ROOT / "segmentation" / "core").glob("*.py") if path.stem != "__init__"
} - CORE_PUBLIC


def _outside_the_core() -> list[Path]:
    paths = [ROOT / "manage.py"]
    for folder in ("config", "diary", "segmentation", "bench"):
        paths += [
            path
            for path in (ROOT / folder).rglob("*.py")
            if (ROOT / "segmentation" / "core") not in path.parents
        ]
    return paths


def test_code_outside_the_core_uses_its_public_api():
    assert {"training", "engine", "checkpoint", "predictor"} <= CORE_INTERNAL
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _imported_modules(path)
            if name.startswith("segmentation.core.") and name.split(".")[2] in CORE_INTERNAL
        )
        for path in _outside_the_core()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_the_predictor_loads_no_training_code():
    probe = (
        "import sys\n"
        "from segmentation.core import SegmentationPredictor\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(result.stdout.split())
    assert "segmentation.core.predictor" in loaded
    training = {f"segmentation.core.{name}" for name in ("training", "engine", "losses", "compare")}
    assert loaded & training == set()
    # ...and the training code is still one attribute away.
    from segmentation import core

    assert callable(core.train) and core.compare.run_comparison


def _project_modules() -> dict[str, Path]:
    modules = {}
    for folder in ("config", "diary", "segmentation"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, at the top or inside functions alike. An
    imported name resolves to the module that holds it; a package's own parents are left out
    (importing ``a.b.c`` runs ``a/__init__``, which is no cycle unless it imports back)."""
    modules = _project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imported_modules(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_in_the_project():
    graph = _import_graph()
    assert "diary.progression.mdc" in graph["diary.selectors.series"]  # imports in functions too
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
