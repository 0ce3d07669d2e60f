"""CatVTON's text-free attention and its attention-only checkpoint in the released flat-list layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor2_0

from backends import tiny
from backends.core.errors import ModelUnavailable
from backends.tasks.tryon.attention import (
    alias_table,
    flat_list_names,
    load_attention_checkpoint,
    use_catvton_attention,
)
from tests.backends.tasks.tryon.common import authors_flat_list, perturb


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("catvton-maskfree")
    tiny.build_miniature("catvton_maskfree", out, seed=0)
    return out


def fresh_unet(folder: Path) -> UNet2DConditionModel:
    unet = UNet2DConditionModel.from_pretrained(folder, local_files_only=True).eval()
    use_catvton_attention(unet)
    return unet


def run(unet: UNet2DConditionModel) -> torch.Tensor:
    sample = torch.randn(1, 8, 16, 24, generator=torch.Generator().manual_seed(0))  # a width-concat canvas
    with torch.no_grad():
        return unet(sample, 500, encoder_hidden_states=None).sample


def test_cross_attention_is_skipped_not_removed(folder: Path) -> None:
    unet = fresh_unet(folder)
    block = unet.down_blocks[0].attentions[0].transformer_blocks[0]
    seen = {}
    block.norm2.register_forward_hook(lambda m, i, o: seen.__setitem__("norm2", o))
    block.attn2.register_forward_hook(lambda m, i, o: seen.__setitem__("attn2", (i[0], o)))
    skipped = run(unet)
    attn2_in, attn2_out = seen["attn2"]
    assert torch.equal(attn2_out, attn2_in) and torch.equal(attn2_in, seen["norm2"])  # h <- h + norm2(h)

    class Zero:
        def __call__(self, attn, hidden_states, *args, **kwargs):
            return torch.zeros_like(hidden_states)

    unet.set_attn_processor({n: AttnProcessor2_0() if n.endswith("attn1.processor") else Zero()
                             for n in unet.attn_processors})
    assert not torch.allclose(run(unet), skipped)  # returning zeros would be another model


def test_the_flat_list_has_eight_slots_per_block(folder: Path) -> None:
    unet = fresh_unet(folder)
    names = flat_list_names(unet)
    blocks = [n for n, _ in unet.named_modules() if n.endswith("attn1")]
    assert len(blocks) == 16 and len(names) == 8 * 16  # SD-1.5's 16 self-attentions
    assert names[:8] == [f"{blocks[0]}{s}" for s in ("", ".to_q", ".to_k", ".to_v", ".to_out", ".to_out.0",
                                                      ".to_out.1", ".processor")]
    authors = fresh_unet(folder)
    authors_flat_list(authors)  # CatVTON's module processors registered: they now appear in named_modules
    assert names == [n for n, _ in authors.named_modules() if "attn1" in n]  # our slots match the authors' list
    table = alias_table(unet)
    assert table["0.to_q.weight"] == table["1.weight"] == f"{blocks[0]}.to_q.weight"
    assert table["8.to_q.weight"] == f"{blocks[1]}.to_q.weight"


@pytest.mark.parametrize("saver", ["accelerate", "safetensors"])
def test_a_released_layout_checkpoint_loads_and_changes_the_output(folder: Path, tmp_path: Path, saver: str) -> None:
    source = fresh_unet(folder)
    modules = authors_flat_list(source)
    perturb(modules)
    if saver == "accelerate":  # how CatVTON's training saves it (shared aliases dropped, N.to_q.weight kept)
        from accelerate import Accelerator

        Accelerator(cpu=True).save_model(modules, tmp_path)
    else:  # safetensors keeps another alias set (e.g. "1.weight" for to_q)
        from safetensors.torch import save_model

        save_model(modules, str(tmp_path / "model.safetensors"))
    target = fresh_unet(folder)
    before = run(target)
    untouched = {k: v.clone() for k, v in target.state_dict().items() if ".attn1." not in k}
    report = load_attention_checkpoint(target, tmp_path / "model.safetensors")
    assert report["slots_per_block"] == 8 and report["parameters"] == 5 * 16
    expected = dict(source.named_parameters())
    for name, value in target.named_parameters():
        if ".attn1." in name:
            assert torch.equal(value, expected[name]), name
    assert all(torch.equal(target.state_dict()[k], v) for k, v in untouched.items())
    assert not torch.allclose(run(target), before)  # loading it changes the output


def test_a_checkpoint_saved_with_plain_processors_loads_too(folder: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_model

    source = fresh_unet(folder)
    modules = authors_flat_list(source, processors_are_modules=False)  # seven slots per block
    perturb(modules)
    save_model(modules, str(tmp_path / "model.safetensors"))
    target = fresh_unet(folder)
    assert load_attention_checkpoint(target, tmp_path / "model.safetensors")["slots_per_block"] == 7
    assert torch.equal(target.down_blocks[1].attentions[0].transformer_blocks[0].attn1.to_k.weight,
                       source.down_blocks[1].attentions[0].transformer_blocks[0].attn1.to_k.weight)


def test_a_checkpoint_of_another_unet_is_refused(folder: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    unet = fresh_unet(folder)
    state = authors_flat_list(fresh_unet(folder)).state_dict()
    last = 8 * 15  # the first slot of the 16th block: drop every alias of that block's weights
    save_file({k: v.clone() for k, v in state.items() if int(k.split(".")[0]) < last},
              str(tmp_path / "partial.safetensors"))
    with pytest.raises(ModelUnavailable, match="no value for"):
        load_attention_checkpoint(unet, tmp_path / "partial.safetensors")
    save_file({"0.to_q.weight": torch.zeros(3, 3)}, str(tmp_path / "shape.safetensors"))
    with pytest.raises(ModelUnavailable):
        load_attention_checkpoint(unet, tmp_path / "shape.safetensors")
    save_file({"unet.conv_in.weight": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ModelUnavailable, match="not a CatVTON attention checkpoint"):
        load_attention_checkpoint(unet, tmp_path / "other.safetensors")
