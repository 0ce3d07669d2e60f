"""OmniMamba's miniature: the released files under the released names, in the released layout (the authors' keys,
an fp16 flat state dict, a LlamaGen training container), with the real geometry and tiny widths."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from backends import tiny

MANIFEST = Path(__file__).resolve().parents[2] / "fixtures" / "omnimamba" / "OmniMamba-1.3b.manifest.json"


def template(key: str) -> str:
    return re.sub(r"\.layers\.\d+\.", ".layers.N.", key)


@pytest.fixture(scope="module")
def miniature(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("omnimamba")
    tiny.build_miniature("omnimamba", folder, seed=0)
    return folder


def test_it_writes_every_released_file(miniature: Path) -> None:
    assert {p.name for p in miniature.iterdir()} == {"OmniMamba-1.3b.pth", "vq_ds16_t2i.pt", "tokenizer", "dinov2",
                                                     "siglip", "config.json"}
    assert {"config.json", "tokenizer.json", "tokenizer_config.json"} <= {p.name for p in (miniature / "tokenizer")
                                                                          .iterdir()}
    assert json.loads((miniature / "siglip" / "config.json").read_text())["model_type"] == "siglip"  # whole model


def test_the_checkpoint_has_the_authors_keys_and_real_geometry(miniature: Path) -> None:
    import torch

    state = torch.load(miniature / "OmniMamba-1.3b.pth", weights_only=True)
    released = json.loads(MANIFEST.read_text())["released"]["keys"]
    assert {template(k) for k in state} == {template(k) for k in released}  # the same keys, 2 layers instead of 48
    assert {v.dtype for v in state.values()} == {torch.float16}
    assert tuple(state["llm_backbone.mamba.backbone.pos_embed"].shape) == (1, 329, 64)
    assert tuple(state["llm_backbone.mamba.backbone.mmu_pos_embed"].shape) == (1, 1500, 64)
    assert tuple(state["llm_backbone.mamba.img_head.weight"].shape) == (16384, 64)
    head, table = state["llm_backbone.mamba.lm_head.weight"], state["llm_backbone.mamba.backbone.embedding.weight"]
    assert torch.equal(head, table) and head.data_ptr() != table.data_ptr()  # equal copies, as released


def test_the_vq_file_is_a_llamagen_training_container(miniature: Path) -> None:
    import torch

    with torch.serialization.safe_globals([argparse.Namespace]):
        content = torch.load(miniature / "vq_ds16_t2i.pt", weights_only=True)
    vq = json.loads(MANIFEST.read_text())["vqvae"]["keys"]
    assert set(content) == {"model", "args"} and content["args"].vq_model == "VQ-16"
    assert set(content["model"]) == {k.removeprefix("llm_backbone.vqvae.") for k in vq}
    assert tuple(content["model"]["quantize.embedding.weight"].shape) == (16384, 8)
    assert tuple(content["model"]["decoder.conv_blocks.0.attn.0.q.weight"].shape) == (128, 128, 1, 1)


def test_the_same_seed_writes_the_same_weights(miniature: Path, tmp_path: Path) -> None:
    import torch

    tiny.build_miniature("omnimamba", tmp_path / "again", seed=0)
    a = torch.load(miniature / "OmniMamba-1.3b.pth", weights_only=True)
    b = torch.load(tmp_path / "again" / "OmniMamba-1.3b.pth", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
