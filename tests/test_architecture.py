"""Keeps the house rules true that import-linter cannot see (README "Layout"; the contracts are in pyproject.toml).

import-linter (``lint-imports`` in ``make test``) keeps the layers, the independence of tasks and of tabs, and the
forbidden imports. These tests read every module with ``ast`` for the rest: heavy libraries imported only inside
functions, tabs reaching tasks only through their torch-free ``types`` modules, no mutable module state, only the
composition root reading the environment, and no import cycle anywhere.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backends", "arena", "tabs")
HEAVY = {"torch", "diffusers", "transformers", "peft", "accelerate", "torchvision"}


def modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def ids(path: Path) -> str:
    return str(path.relative_to(ROOT))


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Imported module names; with ``top_level_only``, only imports that run at import time (not inside functions
    or ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = nested
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                inside = True
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                inside = True
            if not (top_level_only and inside):
                if isinstance(child, ast.Import):
                    found.update(alias.name for alias in child.names)
                elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                    found.add(child.module)
                    found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child, inside)

    visit(tree, False)
    return found


def roots(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_the_layout_has_the_folders_the_readme_describes() -> None:
    for folder in ("backends/core", "backends/models/catalog", "backends/models/executors", "backends/tiny",
                   "backends/vision", "backends/tasks/t2i", "backends/tasks/hand_repair", "backends/tasks/tokenize"):
        assert (ROOT / folder / "__init__.py").is_file(), folder
    for task in (ROOT / "backends" / "tasks").iterdir():
        if task.is_dir() and not task.name.startswith("__"):
            assert (task / "types.py").is_file(), f"{task.name} has no torch-free types.py for tabs to import"


@pytest.mark.parametrize("path", [ROOT / "app.py", *modules(*PACKAGES)], ids=ids)
def test_heavy_libraries_are_imported_lazily(path: Path) -> None:
    eager = roots(imports(path, top_level_only=True)) & HEAVY
    assert not eager, f"{path.name} imports {eager} at import time; import inside load() or the function using it"


@pytest.mark.parametrize("path", [p for p in modules(*PACKAGES) if p.parent.name == "core"], ids=ids)
def test_core_is_a_leaf(path: Path) -> None:
    allowed = {"backends", "numpy", "PIL", "__future__"}
    project = {n for n in imports(path) if n.startswith("backends.")}
    assert all(n.startswith("backends.core") for n in project), f"{path.name} imports {project}"
    third_party = {r for r in roots(imports(path)) if r not in sys.stdlib_module_names}
    assert third_party <= allowed, f"{path.name} imports {third_party - allowed}; core is stdlib, numpy and PIL only"


@pytest.mark.parametrize("path", modules("tabs"), ids=ids)
def test_tabs_reach_tasks_only_through_their_types(path: Path) -> None:
    task_imports = {n for n in imports(path) if n.startswith("backends.tasks.")}
    wrong = {n for n in task_imports if n.split(".")[3:4] != ["types"]}
    assert not wrong, f"{path.name} imports {wrong}; tabs import only backends.tasks.<task>.types"


# Calls that build mutable state (containers, locks, queues) when assigned at module level.
MUTABLE_FACTORIES = {"dict", "list", "set", "bytearray", "defaultdict", "OrderedDict", "Counter", "deque", "Lock",
                     "RLock", "Event", "Semaphore", "BoundedSemaphore", "Condition", "Queue", "SimpleQueue",
                     "LifoQueue", "PriorityQueue", "WeakValueDictionary", "WeakKeyDictionary", "WeakSet", "local",
                     "ThreadPoolExecutor", "ProcessPoolExecutor", "Random", "default_rng"}


def mutable_globals(source: str) -> list[str]:
    """Names bound at module level to mutable state: literals, comprehensions, or calls of mutable factories."""
    offenders = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        name = ast.unparse(node.targets[0] if isinstance(node, ast.Assign) else node.target)
        value = node.value
        literal = isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp)
        callee = value.func.attr if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) else (
            value.func.id if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) else "")
        if name != "__all__" and (literal or callee in MUTABLE_FACTORIES):
            offenders.append(name)
    return offenders


def test_the_mutable_globals_check_sees_calls_too() -> None:
    source = "A = []\nB = dict(x=1)\nC = threading.Lock()\nD = collections.OrderedDict()\nE = (1, 2)\n" \
             "F = MappingProxyType({})\nG = frozenset()\n"
    assert mutable_globals(source) == ["A", "B", "C", "D"]


@pytest.mark.parametrize("path", modules(*PACKAGES), ids=ids)
def test_no_module_level_mutable_globals(path: Path) -> None:
    offenders = mutable_globals(path.read_text("utf-8"))
    assert not offenders, f"module-level mutable state {offenders}; app.py builds shared objects"


@pytest.mark.parametrize("path", modules(*PACKAGES), ids=ids)
def test_only_the_composition_root_reads_the_environment(path: Path) -> None:
    if path.name == "settings.py":  # Settings.from_env parses it, called only from app.py
        return
    source = path.read_text("utf-8")
    if path == ROOT / "arena" / "leaderboard.py":  # a command-line entry point: it sets a numpy default, nothing else
        source = source.replace('os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")', "")
    assert "os.environ" not in source and "getenv" not in source


def test_settings_are_read_only_in_app() -> None:
    callers = [p for p in modules(*PACKAGES) if "Settings.from_env(" in p.read_text("utf-8")]
    assert callers == []
    assert "Settings.from_env(" in (ROOT / "app.py").read_text("utf-8")


def test_there_is_no_import_cycle() -> None:
    """Every import (lazy ones included) between the project's modules, as a graph with no strongly connected
    component larger than one module (Tarjan's algorithm, via scipy's connected components)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    names = [module_name(p) for p in modules(*PACKAGES)]
    index = {name: i for i, name in enumerate(names)}
    edges = []
    for path in modules(*PACKAGES):
        source = index[module_name(path)]
        for target in imports(path):
            # "from pkg import sub" names a module "pkg.sub"; otherwise the imported module itself.
            hit = target if target in index else target.rpartition(".")[0]
            if hit in index and hit != names[source]:
                edges.append((source, index[hit]))
    rows, cols = zip(*edges, strict=True)
    graph = coo_matrix(([1] * len(rows), (rows, cols)), shape=(len(names), len(names)))
    count, labels = connected_components(graph, directed=True, connection="strong")
    cycles = [[names[i] for i in range(len(names)) if labels[i] == c] for c in range(count)]
    cycles = [c for c in cycles if len(c) > 1]
    # A package's __init__ re-exporting its own submodules is not a cycle of behaviour; anything else is.
    cycles = [c for c in cycles if not all(n.startswith(min(c, key=len)) for n in c)]
    assert not cycles, f"import cycles: {cycles}"


def test_importing_app_imports_no_torch() -> None:
    code = ("import sys, app; heavy = sorted(m for m in ('torch', 'diffusers', 'transformers', 'peft') "
            "if m in sys.modules); print(heavy); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
