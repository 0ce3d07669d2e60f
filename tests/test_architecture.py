"""Keeps DESIGN.md's import rules true by reading every module's imports with ``ast``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"torch", "diffusers", "transformers", "peft", "accelerate", "torchvision"}
# Modules every backend may use; anything else in backends/ is a task backend.
SHARED_BACKENDS = {"__init__", "base", "registry", "settings", "cache", "imaging", "metrics", "detectors", "tiny",
                   "tiny_inpaint", "tiny_autoencoders", "weights", "text", "hands", "codecs", "charts"}


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).glob("*.py"))


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
            visit(child, inside)

    visit(tree, False)
    return found


def roots(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize("path", modules("backends") + modules("arena"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_backends_and_arena_never_import_gradio(path: Path) -> None:
    assert "gradio" not in roots(imports(path)) and "gradio_client" not in roots(imports(path))


@pytest.mark.parametrize("path", modules("arena"), ids=lambda p: p.name)
def test_arena_never_imports_torch(path: Path) -> None:
    assert not roots(imports(path)) & HEAVY


@pytest.mark.parametrize("path", modules("tabs"), ids=lambda p: p.name)
def test_tabs_never_import_heavy_libraries(path: Path) -> None:
    assert not roots(imports(path)) & HEAVY


@pytest.mark.parametrize("path", modules("tabs"), ids=lambda p: p.name)
def test_tabs_do_not_import_each_other(path: Path) -> None:
    others = {n for n in imports(path) if n.startswith("tabs.") and n != "tabs.common"}
    assert not others, f"{path.name} imports {others}; cross-tab wiring belongs in app.py"


@pytest.mark.parametrize("path", [p for p in modules("backends") if p.stem not in SHARED_BACKENDS],
                         ids=lambda p: p.name)
def test_task_backends_do_not_import_each_other(path: Path) -> None:
    task_modules = {f"backends.{p.stem}" for p in modules("backends") if p.stem not in SHARED_BACKENDS}
    sideways = imports(path) & (task_modules - {f"backends.{path.stem}"})
    assert not sideways, f"{path.name} imports {sideways}; move shared code down into a shared module"


@pytest.mark.parametrize("path", [ROOT / "app.py", *modules("backends"), *modules("arena"), *modules("tabs")],
                         ids=lambda p: p.name)
def test_heavy_libraries_are_imported_lazily(path: Path) -> None:
    eager = roots(imports(path, top_level_only=True)) & HEAVY
    assert not eager, f"{path.name} imports {eager} at import time; import inside load() or the function using it"


@pytest.mark.parametrize("path", [*modules("backends"), *modules("arena"), *modules("tabs")], ids=lambda p: p.name)
def test_no_module_level_mutable_globals(path: Path) -> None:
    tree = ast.parse(path.read_text("utf-8"))
    mutable = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
    offenders = [
        ast.unparse(node.targets[0] if isinstance(node, ast.Assign) else node.target)
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, mutable)
        and ast.unparse(node.targets[0] if isinstance(node, ast.Assign) else node.target) != "__all__"
    ]
    assert not offenders, f"module-level mutable state {offenders}; app.py builds shared objects"


@pytest.mark.parametrize("path", [*modules("backends"), *modules("arena"), *modules("tabs")], ids=lambda p: p.name)
def test_only_the_composition_root_reads_the_environment(path: Path) -> None:
    if path.name == "settings.py":  # Settings.from_env parses it, called only from app.py
        return
    source = path.read_text("utf-8")
    assert "os.environ" not in source and "getenv" not in source


def test_settings_are_read_only_in_app() -> None:
    callers = [p for p in [*modules("backends"), *modules("arena"), *modules("tabs")]
               if "Settings.from_env(" in p.read_text("utf-8")]
    assert callers == []
    assert "Settings.from_env(" in (ROOT / "app.py").read_text("utf-8")


def test_importing_app_imports_no_torch() -> None:
    code = ("import sys, app; heavy = sorted(m for m in ('torch', 'diffusers', 'transformers', 'peft') "
            "if m in sys.modules); print(heavy); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
