"""OmniMamba's architecture as data, and how it is read back from a checkpoint's tensor shapes (torch-free).

Facts from hustvl/OmniMamba @ b372978: ``models/mamba_vlm.py`` (``OmniMamba_1_3B = MambaConfig(d_model=2048,
n_layer=48, adaln_group=True, num_groups=4)``), ``models/stage2/config_mamba.py`` (vocab 50277 padded to a multiple
of 16, VQ vocab 16384, 256 image tokens, ``ssm_cfg={'layer': 'Mamba2'}``, RMSNorm, residual in fp32, tied heads),
``models/stage2/mixer_seq_simple.py`` (``pos_embed`` of 256 + 73 positions, ``mmu_pos_embed`` of 1500, the caption
MLP, the image embedding's fused MLP), ``models/stage2/lora.py`` (``_find_and_replace``: r 8, alpha 32, one LoRA per
task on every ``in_proj``) and mamba_ssm 2.2.2's ``Mamba2`` defaults (d_state 128, d_conv 4, expand 2, headdim 64,
ngroups 1, chunk 256, norm eps 1e-5). The adaLN options are inert in the release: ``cond`` is always None, so no
adaLN module is built or stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from backends.core.errors import ModelUnavailable


@dataclass(frozen=True)
class OmniMambaConfig:
    """One OmniMamba language model plus its understanding projector (the released file's contents).

    Attributes:
        d_model: hidden width.
        n_layer: Mamba-2 blocks.
        vocab_size: text vocabulary rows (GPT-NeoX's 50277 + [PAD] + 9 task tokens, padded to 16: 50288).
        image_vocab_size: VQ codes (LlamaGen VQ-16: 16384).
        image_tokens: image tokens per picture (16 x 16).
        t2i_positions: rows of ``pos_embed`` (the 72-token prompt and 256 image tokens, plus one).
        mmu_positions: rows of ``mmu_pos_embed`` (the longest understanding sequence).
        d_state: SSM state size.
        d_conv: causal convolution width.
        expand: inner width / d_model.
        headdim: SSM head width.
        ngroups: B/C groups (not readable from shapes: the grouped norm has one weight vector).
        chunk_size: SSD chunk length.
        norm_eps: RMSNorm epsilon (block, gated and final norms).
        lora_rank: rank of each task's LoRA on ``in_proj``.
        lora_alpha: LoRA alpha (scaling alpha / rank; not readable from shapes).
        vision_dim: width of the fused DINOv2 + SigLIP patch features the projector takes (1024 + 1152).
    """

    d_model: int = 2048
    n_layer: int = 48
    vocab_size: int = 50288
    image_vocab_size: int = 16384
    image_tokens: int = 256
    t2i_positions: int = 329
    mmu_positions: int = 1500
    d_state: int = 128
    d_conv: int = 4
    expand: int = 2
    headdim: int = 64
    ngroups: int = 1
    chunk_size: int = 256
    norm_eps: float = 1e-5
    lora_rank: int = 8
    lora_alpha: float = 32.0
    vision_dim: int = 2176

    @property
    def d_inner(self) -> int:
        """Inner width of each mixer."""
        return self.expand * self.d_model

    @property
    def nheads(self) -> int:
        """SSM heads."""
        return self.d_inner // self.headdim

    @property
    def lora_scaling(self) -> float:
        """What each LoRA product is multiplied by (alpha / rank = 4 in the release)."""
        return self.lora_alpha / self.lora_rank


RELEASED = OmniMambaConfig()


def _shape(shapes: Mapping[str, Sequence[int]], key: str) -> tuple[int, ...]:
    if key not in shapes:
        raise ModelUnavailable(f"the checkpoint has no {key}: it is not an OmniMamba checkpoint")
    return tuple(int(s) for s in shapes[key])


def infer_config(shapes: Mapping[str, Sequence[int]], base: OmniMambaConfig = RELEASED) -> OmniMambaConfig:
    """The architecture of a checkpoint (studio key names, see ``keymap``), read from its tensor shapes.

    ``ngroups``, ``chunk_size``, ``norm_eps`` and ``lora_alpha`` cannot be read from shapes and come from ``base``.

    Raises:
        ModelUnavailable: a tensor an OmniMamba checkpoint always has is missing.
    """
    vocab, d_model = _shape(shapes, "backbone.embeddings.weight")
    layers = {int(k.split(".")[2]) for k in shapes if k.startswith("backbone.layers.")}
    if not layers or layers != set(range(max(layers) + 1)):
        raise ModelUnavailable("the checkpoint's backbone.layers.* are missing or not numbered 0..n-1")
    d_inner = _shape(shapes, "backbone.layers.0.mixer.norm.weight")[0]
    nheads = _shape(shapes, "backbone.layers.0.mixer.A_log")[0]
    conv_dim, _, d_conv = _shape(shapes, "backbone.layers.0.mixer.conv1d.weight")
    rank = _shape(shapes, "backbone.layers.0.mixer.in_proj.mmu_lora_A0.weight")[0]
    return replace(
        base, d_model=d_model, n_layer=len(layers), vocab_size=vocab,
        image_vocab_size=_shape(shapes, "img_embeddings.word_embeddings.weight")[0],
        t2i_positions=_shape(shapes, "pos_embed")[1], mmu_positions=_shape(shapes, "mmu_pos_embed")[1],
        d_state=(conv_dim - d_inner) // (2 * base.ngroups), d_conv=d_conv, expand=d_inner // d_model,
        headdim=d_inner // nheads, lora_rank=rank, vision_dim=_shape(shapes, "projector.projector.0.weight")[1],
    )
