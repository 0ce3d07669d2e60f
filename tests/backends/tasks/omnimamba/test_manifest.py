"""The port against the authors' classes, key by key, on the meta device (no weights, no memory): the manifest in
``tests/fixtures/omnimamba`` was dumped from hustvl/OmniMamba's own modules (see its SOURCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.tasks.omnimamba import keymap
from backends.tasks.omnimamba.config import RELEASED, infer_config
from backends.tasks.omnimamba.model import build_lm
from backends.tasks.omnimamba.types import PAD_TOKEN, SPECIAL_TOKENS
from backends.tasks.omnimamba.vq import vq_config

MANIFEST = json.loads((Path(__file__).resolve().parents[3] / "fixtures" / "omnimamba" /
                       "OmniMamba-1.3b.manifest.json").read_text())


@pytest.fixture(scope="module")
def released_module():
    torch = pytest.importorskip("torch")
    with torch.device("meta"):
        return build_lm(RELEASED)


def test_the_released_checkpoint_maps_onto_the_port_with_nothing_missing_or_unexpected(released_module) -> None:
    mapped, unknown = keymap.map_released(MANIFEST["released"]["keys"])
    report = keymap.compare(released_module.state_dict(), mapped)
    assert unknown == [] and report.ok, report.describe(limit=20)
    assert len(mapped) == MANIFEST["released"]["num_tensors"] == 645


def test_the_architecture_read_from_the_shapes_is_the_released_one() -> None:
    mapped, _ = keymap.map_released(MANIFEST["released"]["keys"])
    assert infer_config(keymap.shapes_of(mapped)) == RELEASED
    assert RELEASED.nheads == 64 and RELEASED.lora_scaling == 4.0


def test_the_key_map_is_a_bijection_the_miniature_writer_can_invert() -> None:
    keys = list(MANIFEST["released"]["keys"])
    studio = [keymap.released_key(k) for k in keys]
    assert len(set(studio)) == len(keys) and None not in studio
    assert [keymap.authors_key(k) for k in studio] == keys


def test_a_key_outside_the_documented_layout_is_reported_not_dropped(released_module) -> None:
    keys = {**MANIFEST["released"]["keys"], "vision_backbone.dino_featurizer.cls_token": [1, 1, 1024]}
    mapped, unknown = keymap.map_released(keys)
    report = keymap.compare(released_module.state_dict(), mapped)
    assert unknown == ["vision_backbone.dino_featurizer.cls_token"]
    assert report.unexpected == ("vision_backbone.dino_featurizer.cls_token",) and not report.ok


def test_a_missing_or_reshaped_tensor_fails_the_strict_check(released_module) -> None:
    keys = dict(MANIFEST["released"]["keys"])
    del keys["llm_backbone.mamba.backbone.layers.7.mixer.in_proj.t2i_lora_B0.weight"]
    keys["projector.projector.0.weight"] = [8704, 2048]
    report = keymap.compare(released_module.state_dict(), keymap.map_released(keys)[0])
    assert report.missing == ("backbone.layers.7.mixer.in_proj.t2i_lora_B0.weight",)
    assert report.misshaped == (("projector.projector.0.weight", (8704, 2176), (8704, 2048)),)


def test_llamagens_vq16_maps_onto_diffusers_vqmodel_with_only_the_usage_buffer_dropped() -> None:
    torch = pytest.importorskip("torch")
    from diffusers import VQModel

    vq = {k.removeprefix("llm_backbone.vqvae."): v for k, v in MANIFEST["vqvae"]["keys"].items()}
    config = vq_config({k: torch.empty(v, device="meta") for k, v in vq.items()})
    assert config["block_out_channels"] == (128, 128, 256, 256, 512) and config["layers_per_block"] == 2
    with torch.device("meta"):
        model = VQModel(**config)
    mapped, dropped = keymap.map_vq(vq)
    report = keymap.compare(model.state_dict(), mapped, dropped)
    assert report.ok, report.describe(limit=20)
    assert dropped == ["quantize.codebook_used"] and len(mapped) == 343


def test_the_manifest_agrees_with_the_token_protocol() -> None:
    ids = MANIFEST["special_token_ids"]
    assert ids[PAD_TOKEN] == 50277 and [ids[t] for t in SPECIAL_TOKENS] == list(range(50278, 50287))
    assert MANIFEST["released"]["keys"]["llm_backbone.mamba.backbone.embedding.weight"] == [50288, 2048]
    # the projector takes DINOv2-L (1024) + SigLIP-SO400M (1152) patches, 27 x 27 of them at 384 px
    assert MANIFEST["released"]["keys"]["projector.projector.0.weight"] == [8704, 2176]
    assert MANIFEST["vision_dino"]["keys"]["vision_backbone.dino_featurizer.pos_embed"] == [1, 729, 1024]
    assert MANIFEST["vision_siglip"]["keys"]["vision_backbone.siglip_featurizer.pos_embed"] == [1, 729, 1152]
    assert sorted(map(tuple, MANIFEST["tied"])) == [
        ("llm_backbone.mamba.img_head.weight", "llm_backbone.mamba.backbone.img_embeddings.word_embeddings.weight"),
        ("llm_backbone.mamba.lm_head.weight", "llm_backbone.mamba.backbone.embedding.weight")]
