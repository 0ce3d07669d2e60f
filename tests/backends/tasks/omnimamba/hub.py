"""A scratch Hugging Face cache holding OmniMamba's released files in their released repos and names, with the
miniature's random weights: ``hustvl/OmniMamba/OmniMamba-1.3b.pth``, ``peizesun/llamagen_t2i/vq_ds16_t2i.pt``, the
``EleutherAI/gpt-neox-20b`` tokenizer files and the two encoder repos (``config.json`` + ``model.safetensors``).
Shared by the real-profile test and the end-to-end API test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from backends.core.settings import Settings
from backends.models import weights
from backends.models.registry import default_registry

COMMIT = "0badc0ffee0badc0ffee0badc0ffee0badc0ffee"  # the snapshot's commit: recipes must report it


def snapshot(cache: Path, repo_id: str) -> Path:
    """``cache/models--org--name/snapshots/<COMMIT>/`` with ``refs/main`` pointing at it."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    folder = repo / "snapshots" / COMMIT
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_omnimamba_snapshots(cache: Path, tiny_settings: Settings) -> None:
    """Every file both registry entries need, copied from the miniature into its released repo."""
    registry = default_registry()
    face, t2i = registry["face/omnimamba-1.3b"], registry["t2i/omnimamba-1.3b"]
    miniature = weights.ensure_miniature(face, tiny_settings)
    options = {**face.defaults.options, **t2i.defaults.options}
    shutil.copy(miniature / str(face.defaults.filename), snapshot(cache, str(face.repo_id)))
    repo, name = options["vq"]
    shutil.copy(miniature / name, snapshot(cache, repo))
    for part, folder in (("tokenizer", "tokenizer"), ("dino", "dinov2"), ("siglip", "siglip")):
        target = snapshot(cache, options[part])
        for file in (miniature / folder).iterdir():
            shutil.copy(file, target)
    tokenizer = snapshot(cache, options["tokenizer"])
    if not (tokenizer / "special_tokens_map.json").exists():  # the released repo has one; transformers 5 no longer
        (tokenizer / "special_tokens_map.json").write_text(json.dumps({  # writes it
            "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}))
