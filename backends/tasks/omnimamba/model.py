"""OmniMamba's language model on transformers' native Mamba-2 (``Mamba2Model``: pure PyTorch on a CPU, the
mamba-ssm / causal-conv1d kernels where they are installed).

What the authors add around Mamba-2 (hustvl/OmniMamba ``models/stage2``), built here from plain modules:

* task-specific LoRA on every mixer's ``in_proj``: ``in_proj(x) + 4 * B(A(x))`` with the understanding (``mmu``) or
  generation (``t2i``) pair, as children of ``in_proj`` under the authors' names (``mmu_lora_A0`` ... ``t2i_lora_B0``)
  and applied by a forward hook, switched per run with ``set_task``;
* decoupled vocabularies: the text embedding and ``lm_head`` (GPT-NeoX + task tokens), the image embedding (VQ codes
  through a fused GELU MLP) and ``img_head``;
* learned absolute position embeddings added to the inputs: ``mmu_pos_embed`` for understanding, ``pos_embed`` for
  generation;
* the text-to-image conditioning: the prompt's text embeddings go through ``caption_embed`` (a two-layer tanh-GELU
  MLP without biases) before the image tokens;
* the understanding projector (Cobra's fused GELU MLP, 2176 -> 8704 -> 2048 -> 2048) from DINOv2 + SigLIP patches.

``Mamba2Model`` keeps the authors' block layout: mamba_ssm's fused "add, then norm" blocks compute the same sums as
transformers' pre-norm residual blocks, with the residual in fp32 in both. Build under ``torch.device("meta")`` and
load with ``load_state_dict(..., assign=True)``.
"""

from __future__ import annotations

from typing import Any

from backends.tasks.omnimamba.config import OmniMambaConfig

TASKS = ("mmu", "t2i")


def _container(**modules: Any) -> Any:
    from torch import nn

    holder = nn.Module()
    for name, module in modules.items():
        setattr(holder, name, module)
    return holder


def fused_mlp(dim: int, out: int) -> Any:
    """Cobra's ``FusedMLPProjector``: ``projector`` = Linear(d, 4d), GELU, Linear(4d, out), GELU, Linear(out, out)."""
    from torch import nn

    return _container(projector=nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, out), nn.GELU(),
                                              nn.Linear(out, out)))


def _lora_hook(module: Any, inputs: tuple[Any, ...], output: Any) -> Any:
    """``in_proj``'s output plus the active task's LoRA (unmerged: rank 8 is cheap next to the projection, and one
    copy of the weight serves both tasks)."""
    a, b = getattr(module, f"{module.task}_lora_A0"), getattr(module, f"{module.task}_lora_B0")
    return output + b(a(inputs[0])) * module.lora_scaling


def add_task_lora(linear: Any, rank: int, scaling: float) -> None:
    """Give an ``in_proj`` the authors' two LoRA pairs and the hook that applies the active one."""
    from torch import nn

    for task in TASKS:
        linear.add_module(f"{task}_lora_A0", nn.Linear(linear.in_features, rank, bias=False))
        linear.add_module(f"{task}_lora_B0", nn.Linear(rank, linear.out_features, bias=False))
    linear.lora_scaling = scaling
    linear.task = TASKS[0]
    linear.register_forward_hook(_lora_hook)


def mamba2_config(config: OmniMambaConfig) -> Any:
    """The transformers ``Mamba2Config`` of the backbone."""
    from transformers import Mamba2Config

    return Mamba2Config(
        hidden_size=config.d_model, num_hidden_layers=config.n_layer, vocab_size=config.vocab_size,
        state_size=config.d_state, conv_kernel=config.d_conv, expand=config.expand, head_dim=config.headdim,
        num_heads=config.nheads, n_groups=config.ngroups, chunk_size=config.chunk_size,
        layer_norm_epsilon=config.norm_eps, residual_in_fp32=True, use_bias=False, use_conv_bias=True,
        hidden_act="silu", rms_norm=True, tie_word_embeddings=False,
    )


def build_lm(config: OmniMambaConfig) -> Any:
    """The released file's modules: ``backbone`` (Mamba2Model with task LoRA), ``img_embeddings``, ``caption_embed``,
    ``pos_embed``, ``mmu_pos_embed``, ``lm_head``, ``img_head``, ``projector``."""
    import torch
    from torch import nn
    from transformers import Mamba2Model

    d = config.d_model
    images = config.image_vocab_size
    lm = _container(
        backbone=Mamba2Model(mamba2_config(config)),
        img_embeddings=_container(word_embeddings=nn.Embedding(images, d), project_in=fused_mlp(d, d)),
        caption_embed=_container(cap_proj=_container(fc1=nn.Linear(d, d, bias=False),
                                                     fc2=nn.Linear(d, d, bias=False))),
        lm_head=nn.Linear(d, config.vocab_size, bias=False), img_head=nn.Linear(d, images, bias=False),
        projector=fused_mlp(config.vision_dim, d))
    lm.pos_embed = nn.Parameter(torch.zeros(1, config.t2i_positions, d))
    lm.mmu_pos_embed = nn.Parameter(torch.zeros(1, config.mmu_positions, d))
    for block in lm.backbone.layers:
        add_task_lora(block.mixer.in_proj, config.lora_rank, config.lora_scaling)
    return lm


def set_task(lm: Any, name: str) -> None:
    """Switch every ``in_proj`` to task ``name``'s LoRA (``set_lora_mode`` in the authors' code)."""
    if name not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {name!r}")
    for block in lm.backbone.layers:
        block.mixer.in_proj.task = name


def tie_heads(lm: Any) -> list[str]:
    """Share ``lm_head`` / ``img_head`` with their embeddings when the file holds equal copies (the authors tie them;
    the release stores each twice). Returns the heads tied."""
    import torch

    tied = []
    for head, table in (("lm_head", lm.backbone.embeddings), ("img_head", lm.img_embeddings.word_embeddings)):
        module = getattr(lm, head)
        if module.weight.shape == table.weight.shape and torch.equal(module.weight, table.weight):
            module.weight = table.weight
            tied.append(head)
    return tied


# Inputs --------------------------------------------------------------------------------------------------------------
def text_embeddings(lm: Any, ids: Any) -> Any:
    """(B, L) text ids -> (B, L, d)."""
    return lm.backbone.embeddings(ids)


def image_embeddings(lm: Any, codes: Any) -> Any:
    """(B, L) VQ codes -> (B, L, d) through the fused MLP (the authors' ``GPT2Embeddings.project_in``)."""
    return lm.img_embeddings.project_in.projector(lm.img_embeddings.word_embeddings(codes))


def caption(lm: Any, ids: Any) -> Any:
    """(B, 72) prompt ids -> (B, 72, d): text embeddings through ``caption_embed``, plus ``pos_embed[:72]``."""
    import torch.nn.functional as F

    mlp = lm.caption_embed.cap_proj
    x = mlp.fc2(F.gelu(mlp.fc1(text_embeddings(lm, ids)), approximate="tanh"))
    return x + lm.pos_embed[:, : x.shape[1]]


def image_step(lm: Any, codes: Any, position: int) -> Any:
    """(B, 1) codes at ``position`` -> (B, 1, d): image embeddings plus ``pos_embed[position]``."""
    return image_embeddings(lm, codes) + lm.pos_embed[:, position: position + 1]


def with_mmu_positions(lm: Any, x: Any, start: int = 0) -> Any:
    """(B, L, d) understanding inputs plus ``mmu_pos_embed[start: start + L]``."""
    return x + lm.mmu_pos_embed[:, start: start + x.shape[1]]


def project(lm: Any, patches: Any) -> Any:
    """(B, 729, 2176) DINOv2 + SigLIP patches -> (B, 729, d)."""
    return lm.projector.projector(patches)


# Running -------------------------------------------------------------------------------------------------------------
def new_cache(lm: Any) -> Any:
    """An empty recurrent cache (conv and SSM states per layer) for a prefill and one-token steps."""
    from transformers.cache_utils import DynamicCache

    return DynamicCache(config=lm.backbone.config)


def last_hidden(lm: Any, x: Any, cache: Any) -> Any:
    """(B, L, d) inputs -> (B, d) final-norm hidden state of the last position, updating ``cache``."""
    return lm.backbone(inputs_embeds=x, cache=cache, use_cache=True).last_hidden_state[:, -1]
