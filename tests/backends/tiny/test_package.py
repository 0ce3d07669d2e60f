"""Tests for the ``backends.tiny`` package itself: the architecture table, the dispatch and cheap, acyclic imports.

The per-module behaviour (every miniature builds, reloads offline and generates) is tested next to this file in
``test_t2i.py``, ``test_inpaint.py`` and ``test_autoencoders.py``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import pathlib
import subprocess
import sys

import pytest

from backends import tiny
from backends.tiny import architectures

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
PACKAGE = REPO_ROOT / "backends" / "tiny"
BUILDER_MODULES = ("t2i", "inpaint", "autoencoders", "vlm", "tryon", "omnimamba")
HEAVY = ("torch", "diffusers", "transformers", "peft")


def _project_imports(module: str) -> set[str]:
    """The project modules (``backends.*``, ``arena``, ``tabs``, ``app``) that ``backends/tiny/<module>.py`` imports,
    anywhere in the file (also inside functions)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update({node.module} | {f"{node.module}.{alias.name}" for alias in node.names})
    return {name for name in found if name.split(".")[0] in {"backends", "arena", "tabs", "app"}}


@pytest.mark.parametrize("arch", list(tiny.ARCHITECTURES))
def test_every_architecture_has_its_builder(arch: str) -> None:
    entry = tiny.ARCHITECTURES[arch]
    assert entry.id == arch
    builder = getattr(importlib.import_module(f"backends.tiny.{entry.module}"), f"build_{arch}", None)
    assert callable(builder), f"backends/tiny/{entry.module}.py has no build_{arch}"
    assert list(inspect.signature(builder).parameters) == ["out_dir", "seed"]


def test_every_builder_is_in_the_table() -> None:
    # An orphan build_<id> would never be reachable through build_miniature.
    for module_name in BUILDER_MODULES:
        module = importlib.import_module(f"backends.tiny.{module_name}")
        builders = {
            name.removeprefix("build_") for name, value in vars(module).items()
            if name.startswith("build_") and inspect.isfunction(value) and value.__module__ == module.__name__
        }
        builders.discard("tiny_lora")  # the LoRA writer, not a miniature
        assert builders == {a.id for a in tiny.ARCHITECTURES.values() if a.module == module_name}, module_name


def test_table_entries_are_consistent() -> None:
    diffusers = pytest.importorskip("diffusers")
    transformers = pytest.importorskip("transformers")
    files = tuple(a.id for a in tiny.ARCHITECTURES.values() if a.kind == "files")
    kinds = (tiny.pipelines(), tiny.models(), architectures.transformers_models(), files)
    assert set().union(*kinds) == set(tiny.ARCHITECTURES) and sum(map(len, kinds)) == len(tiny.ARCHITECTURES)
    for arch in tiny.ARCHITECTURES.values():
        assert arch.module in BUILDER_MODULES and arch.real_repo.count("/") == 1, arch.id
        if arch.kind in ("transformers", "files"):  # a transformers model (with its processor), or released files
            assert hasattr(transformers, arch.class_name), arch.class_name
            continue
        assert hasattr(diffusers, arch.class_name), arch.class_name
        assert arch.kind in ("pipeline", "model")
        assert arch.real_repo.count("/") == 1, arch.real_repo  # a Hub repo id: owner/name
        # A pipeline's class is a DiffusionPipeline, a single model's is not.
        is_pipeline = issubclass(getattr(diffusers, arch.class_name), diffusers.DiffusionPipeline)
        assert is_pipeline == (arch.kind == "pipeline"), arch.id


def test_architecture_rejects_an_unknown_kind_or_module() -> None:
    with pytest.raises(ValueError, match="kind"):
        tiny.Architecture("x", "FluxPipeline", "pipe", "t2i", "owner/name")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="module"):
        tiny.Architecture("x", "FluxPipeline", "pipeline", "text_to_image", "owner/name")


def test_unknown_architecture_error_is_a_value_and_key_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(tiny.UnknownArchitectureError) as caught:
        tiny.build_miniature("sd3", tmp_path / "out")
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, KeyError)
    assert str(caught.value).startswith("Unknown tiny architecture 'sd3'")  # a plain sentence, not quoted
    assert not (tmp_path / "out").exists()


def test_build_miniature_leaves_the_denormal_flag_to_the_caller(tmp_path: pathlib.Path) -> None:
    # The caller (backends.models.weights.ensure_miniature) flushes denormals around the build; the build itself
    # must neither turn flushing on nor switch it off behind the caller's back.
    torch = pytest.importorskip("torch")

    def flushing() -> bool:
        return (torch.tensor([1e-40]) * 2).item() == 0.0  # 2e-40 is a float32 denormal

    assert not flushing()
    tiny.build_miniature("vae_sd", tmp_path / "default")
    assert not flushing()
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush denormals")
    try:
        tiny.build_miniature("vae_sd", tmp_path / "flushed")
        assert flushing()
    finally:
        torch.set_flush_denormal(False)


@pytest.mark.parametrize("module", ["backends.tiny", *(f"backends.tiny.{m.stem}" for m in sorted(PACKAGE.glob("*.py"))
                                                        if m.stem != "__init__")])
def test_import_does_not_load_heavy_libraries(module: str) -> None:
    code = f"import sys, {module}; print(sorted(set({HEAVY!r}) & set(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_importing_the_package_imports_only_the_table() -> None:
    code = "import sys, backends.tiny; print(sorted(m for m in sys.modules if m.startswith('backends.tiny.')))"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['backends.tiny.architectures']"


def _sibling_imports(module: str) -> set[str]:
    """The modules of the package (by stem, ``__init__`` for the package) that ``module`` imports, even lazily."""
    stems = {path.stem for path in PACKAGE.glob("*.py")}
    siblings: set[str] = set()
    for name in _project_imports(module):
        parts = name.split(".")
        if parts[:2] == ["backends", "tiny"]:
            siblings.add(parts[2] if len(parts) > 2 and parts[2] in stems else "__init__")
    return siblings - {module}


def test_imports_are_layered_without_cycles() -> None:
    stems = sorted(path.stem for path in PACKAGE.glob("*.py"))
    # The package sits below backends.models: besides itself it may only use backends.core.
    allowed = (["backends", "tiny"], ["backends", "core"])
    for module in stems:
        outside = {name for name in _project_imports(module) if name.split(".")[:2] not in allowed}
        assert not outside, f"backends/tiny/{module}.py imports {outside}"
    graph = {module: _sibling_imports(module) for module in stems}
    # The shared modules never reach up into the builders or the package front.
    assert graph["architectures"] == set() and graph["tokenizers"] == set()
    assert graph["common"] <= {"tokenizers"}

    def reaches(start: str, target: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(n == target or (n not in seen and reaches(n, target, seen | {n})) for n in graph[start])

    cycles = [module for module in stems if reaches(module, module)]
    assert not cycles, f"import cycle through {cycles}: {graph}"


def test_build_tiny_lora_is_re_exported() -> None:
    inpaint = importlib.import_module("backends.tiny.inpaint")
    assert inspect.signature(tiny.build_tiny_lora) == inspect.signature(inpaint.build_tiny_lora)
    assert set(tiny.__all__) >= {"ARCHITECTURES", "UnknownArchitectureError", "build_miniature", "build_tiny_lora"}
    assert tiny.UnknownArchitectureError is architectures.UnknownArchitectureError
