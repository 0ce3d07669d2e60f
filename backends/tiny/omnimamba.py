"""Random-weight miniature of OmniMamba (hustvl/OmniMamba, arXiv:2503.08686), written as the released files are.

OmniMamba is not one ``save_pretrained`` folder but five released things; the miniature writes each of them, with
the real geometry (a 72-token prompt frame and 256 image tokens in ``pos_embed``, 1500 understanding positions, 729
patch features at 384 px with patch 14, 16 x 16 codes of a 16384-word codebook decoded to 256 x 256) and tiny widths:

* ``OmniMamba-1.3b.pth``: a flat fp16 state dict under the authors' key names (``llm_backbone.mamba.backbone...``,
  ``projector.projector...``), the heads stored as separate copies of their tied embeddings as in the release; the
  Mamba-2 blocks are transformers' ``Mamba2Model`` blocks (hidden 64, 2 layers; real: 2048, 48), renamed to the
  mamba_ssm names they share, plus LoRA pairs of rank 4 (real 8) on ``in_proj``;
* ``vq_ds16_t2i.pt``: LlamaGen's VQ-16 training container (``{"model": ..., "args": Namespace}``) of a diffusers
  ``VQModel`` with channels 32..128 (real 128..512), written back under LlamaGen's names;
* ``tokenizer/``: a GPT-NeoX-style byte-level BPE (``<|endoftext|>`` = 0, ``<|padding|>`` = 1) built in memory, with
  the repo's ``config.json`` (``gpt_neox``), which ``AutoTokenizer`` reads to pick the class;
* ``dinov2/``: ``Dinov2WithRegistersModel`` (4 registers, trained at 518 px like the release: 37 x 37 positions);
* ``siglip/``: ``SiglipModel`` (vision and text towers, as ``google/siglip-so400m-patch14-384`` is stored);
* ``config.json``: what the miniature is (its presence marks a finished build).

The layers keep this package below the tasks, so the studio's OmniMamba modules are not imported here: the
released layout is written from the same library classes, and the task's strict loader checks every key on load.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
from typing import Any

from backends.tiny.common import seeded
from backends.tiny.tokenizers import byte_alphabet

WIDTH = 64  # real 2048
LAYERS = 2  # real 48
HEADDIM = 16  # real 64 (expand 2 -> 8 heads)
STATE = 16  # real 128
LORA_RANK = 4  # real 8
VOCAB_ROWS = 816  # the miniature tokenizer (804 tokens) + [PAD] + 9 task tokens, padded to 16
IMAGE_VOCAB = 16384  # real: LlamaGen's codebook
T2I_POSITIONS = 329  # real: 256 image tokens + 73
MMU_POSITIONS = 1500  # real
VISION = 32  # DINOv2 and SigLIP widths (real 1024 and 1152)
VQ_CHANNELS = (32, 32, 64, 64, 128)  # real (128, 128, 256, 256, 512)
FILENAME = "OmniMamba-1.3b.pth"
VQ_FILENAME = "vq_ds16_t2i.pt"
WORDS = ("a an the of and in on at with to is for by from this that it photo picture image cat dog bird red green "
         "blue white black face man woman smile eyes hair what color how many person wearing glasses yes no user "
         "assistant describe")


def gpt_neox_tokenizer() -> Any:
    """A GPT-NeoX-style byte-level BPE: ``<|endoftext|>`` (0, bos/eos/unk), ``<|padding|>`` (1), the 256 bytes, then
    merges making the English words above whole tokens."""
    from transformers import GPTNeoXTokenizer

    alphabet = byte_alphabet()
    vocab = {"<|endoftext|>": 0, "<|padding|>": 1, **{c: i + 2 for i, c in enumerate(alphabet)}}
    merges: dict[tuple[str, str], None] = {}
    for word in WORDS.split() + [w.upper()[0] + w[1:] for w in WORDS.split()]:
        for spaced in (alphabet[ord(" ")] + word, word):
            piece = spaced[0]
            for char in spaced[1:]:
                merges[(piece, char)] = None
                piece += char
                vocab.setdefault(piece, len(vocab))
    return GPTNeoXTokenizer(vocab=vocab, merges=list(merges))


def _released_name(key: str) -> str:
    """The authors' name of a module key (the inverse of the task's documented key map)."""
    for new, old in (("backbone.embeddings.", "llm_backbone.mamba.backbone.embedding."),
                     ("backbone.", "llm_backbone.mamba.backbone."), ("lm_head.", "llm_backbone.mamba.lm_head."),
                     ("img_head.", "llm_backbone.mamba.img_head."), ("projector.", "projector.")):
        if key.startswith(new):
            return old + key[len(new):]
    return "llm_backbone.mamba.backbone." + key


def _lm_state(seed: int, vision_dim: int) -> dict[str, Any]:
    """The language model's tensors under the studio's module names (backbone from ``Mamba2Model``)."""
    import torch
    from torch import nn
    from transformers import Mamba2Config, Mamba2Model

    config = Mamba2Config(hidden_size=WIDTH, num_hidden_layers=LAYERS, vocab_size=VOCAB_ROWS, state_size=STATE,
                          expand=2, head_dim=HEADDIM, num_heads=2 * WIDTH // HEADDIM, n_groups=1,
                          layer_norm_epsilon=1e-5, residual_in_fp32=True, use_bias=False, use_conv_bias=True)
    backbone = seeded(seed, Mamba2Model, config)
    state = {f"backbone.{k}": v for k, v in backbone.state_dict().items()}
    generator = torch.Generator().manual_seed(seed + 1)

    def randn(*shape: int, scale: float = 1.0) -> Any:
        return torch.randn(*shape, generator=generator) * scale * shape[-1] ** -0.5

    for i in range(LAYERS):
        proj = state[f"backbone.layers.{i}.mixer.in_proj.weight"]
        for task in ("mmu", "t2i"):  # trained LoRA: both factors non-zero, so each task changes the output
            state[f"backbone.layers.{i}.mixer.in_proj.{task}_lora_A0.weight"] = randn(LORA_RANK, WIDTH)
            state[f"backbone.layers.{i}.mixer.in_proj.{task}_lora_B0.weight"] = randn(proj.shape[0], LORA_RANK,
                                                                                      scale=0.5)
    image_table = nn.Embedding(IMAGE_VOCAB, WIDTH).weight.detach()
    for prefix, dim in (("img_embeddings.project_in.projector", WIDTH), ("projector.projector", vision_dim)):
        for index, (fan_in, fan_out) in enumerate(((dim, 4 * dim), (4 * dim, WIDTH), (WIDTH, WIDTH))):
            state[f"{prefix}.{2 * index}.weight"] = randn(fan_out, fan_in)
            state[f"{prefix}.{2 * index}.bias"] = torch.zeros(fan_out)
    state.update({
        "img_embeddings.word_embeddings.weight": image_table,
        "caption_embed.cap_proj.fc1.weight": randn(WIDTH, WIDTH), "caption_embed.cap_proj.fc2.weight": randn(WIDTH,
                                                                                                             WIDTH),
        "pos_embed": torch.randn(1, T2I_POSITIONS, WIDTH, generator=generator) * 0.02,
        "mmu_pos_embed": torch.randn(1, MMU_POSITIONS, WIDTH, generator=generator) * 0.02,
        "lm_head.weight": state["backbone.embeddings.weight"].clone(),  # tied in training, stored twice
        "img_head.weight": image_table.clone(),
    })
    return state


_VQ_ATTENTION = (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out"))


def _llamagen_name(key: str) -> str:
    """LlamaGen's name of a diffusers ``VQModel`` key."""
    key = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
    key = re.sub(r"mid_block\.resnets\.(\d)", lambda m: f"mid.{0 if m[1] == '0' else 2}", key)
    key = key.replace("mid_block.attentions.0", "mid.1")
    key = re.sub(r"(down|up)_blocks\.(\d+)\.", r"conv_blocks.\2.", key)
    key = key.replace(".resnets.", ".res.").replace(".attentions.", ".attn.")
    key = key.replace(".downsamplers.0.", ".downsample.").replace(".upsamplers.0.", ".upsample.")
    for new, old in _VQ_ATTENTION:
        key = re.sub(rf"((?:attn\.\d+|mid\.1))\.{re.escape(new)}\.", rf"\1.{old}.", key)
    return key


def _vq_state(seed: int) -> dict[str, Any]:
    """A LlamaGen VQ-16 state dict (its names, 1x1 attention convolutions, the usage buffer) of a tiny VQModel."""
    import torch
    import torch.nn.functional as F
    from diffusers import VQModel

    model = seeded(seed, VQModel, in_channels=3, out_channels=3, block_out_channels=VQ_CHANNELS, layers_per_block=2,
                   down_block_types=("DownEncoderBlock2D",) * 4 + ("AttnDownEncoderBlock2D",),
                   up_block_types=("AttnUpDecoderBlock2D",) + ("UpDecoderBlock2D",) * 4, act_fn="silu",
                   latent_channels=32, norm_num_groups=32, vq_embed_dim=8, num_vq_embeddings=IMAGE_VOCAB,
                   sample_size=256)
    state = {}
    for key, value in model.state_dict().items():
        name = _llamagen_name(key)
        if re.search(r"(attn\.\d+|mid\.1)\.(q|k|v|proj_out)\.weight$", name):
            value = value[:, :, None, None]
        state[name] = value.detach().clone()
    state["quantize.embedding.weight"] = F.normalize(state["quantize.embedding.weight"].normal_(), dim=-1)
    state["quantize.codebook_used"] = torch.zeros(65536)
    return state


def build_omnimamba(out_dir: pathlib.Path, seed: int) -> None:
    """Write the miniature's released files (see the module docstring) into ``out_dir``.

    Args:
        out_dir: Folder the miniature is written into.
        seed: Seed for the random weights.
    """
    import torch
    from transformers import (
        Dinov2WithRegistersConfig,
        Dinov2WithRegistersModel,
        GPTNeoXConfig,
        SiglipConfig,
        SiglipModel,
    )

    out_dir = pathlib.Path(out_dir)
    tokenizer = gpt_neox_tokenizer()
    if len(tokenizer) + 10 > VOCAB_ROWS:
        raise ValueError(f"the miniature tokenizer has {len(tokenizer)} tokens; raise VOCAB_ROWS")
    tokenizer.save_pretrained(out_dir / "tokenizer")
    # The released repo is a GPT-NeoX model repo; AutoTokenizer reads its config.json to pick the tokenizer class.
    GPTNeoXConfig(vocab_size=VOCAB_ROWS, hidden_size=VISION, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=2 * VISION).to_json_file(out_dir / "tokenizer" / "config.json")
    dino = Dinov2WithRegistersConfig(hidden_size=VISION, num_hidden_layers=3, num_attention_heads=2,
                                     intermediate_size=2 * VISION, image_size=518, patch_size=14,
                                     num_register_tokens=4, layerscale_value=1.0)
    seeded(seed, Dinov2WithRegistersModel, dino).save_pretrained(out_dir / "dinov2", safe_serialization=True)
    siglip = SiglipConfig(
        vision_config={"hidden_size": VISION, "intermediate_size": 2 * VISION, "num_hidden_layers": 3,
                       "num_attention_heads": 2, "image_size": 384, "patch_size": 14},
        text_config={"hidden_size": VISION, "intermediate_size": 2 * VISION, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "vocab_size": 300, "bos_token_id": 1, "eos_token_id": 2,
                     "pad_token_id": 1})
    seeded(seed, SiglipModel, siglip).save_pretrained(out_dir / "siglip", safe_serialization=True)
    released = {_released_name(k): v.to(torch.float16).contiguous() for k, v in _lm_state(seed, 2 * VISION).items()}
    torch.save(released, out_dir / FILENAME)
    args = argparse.Namespace(vq_model="VQ-16", codebook_size=IMAGE_VOCAB, codebook_embed_dim=8, image_size=256)
    torch.save({"model": _vq_state(seed), "args": args}, out_dir / VQ_FILENAME)
    (out_dir / "config.json").write_text(json.dumps({
        "miniature_of": "hustvl/OmniMamba", "files": [FILENAME, VQ_FILENAME, "tokenizer", "dinov2", "siglip"],
        "d_model": WIDTH, "n_layer": LAYERS, "vocab_rows": VOCAB_ROWS, "image_vocab": IMAGE_VOCAB,
        "vision_width": VISION, "vq_channels": list(VQ_CHANNELS), "seed": seed}, indent=2))
