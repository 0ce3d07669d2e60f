"""A scratch Hugging Face cache holding research tokenizer checkpoints in their released layouts: each adapter's
random-weight miniature written under the released repo id and file names (training containers with ``args``
Namespaces, flat ``.pkl`` files with torch.compile prefixes, mixin folders, LDM checkpoints), plus the diffusers
repos they need (Semanticist's MAR VAE). Shared by the real-profile tests and the end-to-end API test."""

from __future__ import annotations

from pathlib import Path

from backends.core.settings import Settings
from backends.models import weights
from backends.models.backend import import_backend
from backends.models.registry import default_registry

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"  # the snapshot's commit: recipes must report it


def snapshot(cache: Path, repo_id: str) -> Path:
    """``cache/models--org--name/snapshots/<COMMIT>/`` with ``refs/main`` pointing at it."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    folder = repo / "snapshots" / COMMIT
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_research_snapshots(cache: Path, keys: list[str], tiny_settings: Settings) -> None:
    """Every ``keys`` entry's released file(s), and the diffusers models they decode through."""
    registry = default_registry()
    for key in keys:
        spec = registry[key]
        adapter = import_backend(spec, tiny_settings)
        adapter.write_miniature(snapshot(cache, str(spec.repo_id)), adapter.miniature_config(),
                                adapter.miniature_seed())
        vae_key = spec.defaults.options.get("vae")
        if vae_key:
            import diffusers

            vae = registry[vae_key]
            folder = snapshot(cache, str(vae.repo_id))
            if not (folder / "config.json").exists():
                model = getattr(diffusers, str(vae.class_name)).from_pretrained(
                    weights.ensure_miniature(vae, tiny_settings), local_files_only=True)
                model.save_pretrained(folder, safe_serialization=True)
