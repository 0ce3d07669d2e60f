"""The documented key maps from the released files to the studio's modules, and the strict key comparison.

``OmniMamba-1.3b.pth`` (a flat fp16 state dict of the authors' ``OmniMamba`` without ``vision_backbone.*`` and
``llm_backbone.vqvae.*``, 645 tensors; see ``tests/fixtures/omnimamba/SOURCE.md``) maps by prefix, in this order:

============================================================  ====================================================
released (hustvl/OmniMamba)                                   studio (``model.OmniMambaLM``)
============================================================  ====================================================
``llm_backbone.mamba.backbone.embedding.``                    ``backbone.embeddings.`` (transformers' Mamba2Model)
``llm_backbone.mamba.backbone.layers.``                       ``backbone.layers.`` (Mamba2Block: ``norm``, ``mixer``;
                                                              ``mixer.in_proj`` is ``TaskLoRALinear`` keeping the
                                                              authors' ``mmu_lora_A0`` ... ``t2i_lora_B0``)
``llm_backbone.mamba.backbone.norm_f.``                       ``backbone.norm_f.``
``llm_backbone.mamba.backbone.`` (img_embeddings, pos_embed,  the same names at the top level
caption_embed, mmu_pos_embed)
``llm_backbone.mamba.`` (lm_head, img_head)                   the same names at the top level
``projector.``                                                ``projector.``
============================================================  ====================================================

Every other name is unchanged (mamba_ssm's ``Mamba2`` and transformers' ``Mamba2Mixer`` share ``in_proj``, ``conv1d``,
``dt_bias``, ``A_log``, ``D``, ``norm``, ``out_proj``), and no tensor is reshaped.

``vq_ds16_t2i.pt`` (LlamaGen's VQ-16 training container; the state dict under ``"model"``, 344 tensors) maps onto
diffusers' ``VQModel`` (the same taming-style VQGAN) by ``vq_key``; the 1x1 attention convolutions ``q``, ``k``,
``v``, ``proj_out`` become linear weights (``[C, C, 1, 1]`` -> ``[C, C]``), and ``quantize.codebook_used`` (a
training-time usage buffer) is the one documented drop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

RELEASED_RENAMES: tuple[tuple[str, str], ...] = (
    ("llm_backbone.mamba.backbone.embedding.", "backbone.embeddings."),
    ("llm_backbone.mamba.backbone.layers.", "backbone.layers."),
    ("llm_backbone.mamba.backbone.norm_f.", "backbone.norm_f."),
    ("llm_backbone.mamba.backbone.", ""),
    ("llm_backbone.mamba.", ""),
    ("projector.", "projector."),
)
VQ_DROPS = ("quantize.codebook_used",)
_VQ_ATTENTION: Mapping[str, str] = MappingProxyType({"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v",
                                                     "proj_out": "to_out.0"})
_VQ_RESNET: Mapping[str, str] = MappingProxyType({"nin_shortcut": "conv_shortcut"})


def released_key(key: str) -> str | None:
    """The studio name of a released checkpoint key, or None for a key outside the documented layout."""
    for old, new in RELEASED_RENAMES:
        if key.startswith(old):
            return new + key[len(old):]
    return None


def authors_key(key: str) -> str:
    """The inverse of ``released_key``: the authors' name of a studio key (the miniatures are written with it)."""
    for new, old in (("backbone.embeddings.", "llm_backbone.mamba.backbone.embedding."),
                     ("backbone.layers.", "llm_backbone.mamba.backbone.layers."),
                     ("backbone.norm_f.", "llm_backbone.mamba.backbone.norm_f."),
                     ("projector.", "projector."), ("lm_head.", "llm_backbone.mamba.lm_head."),
                     ("img_head.", "llm_backbone.mamba.img_head.")):
        if key.startswith(new):
            return old + key[len(new):]
    return "llm_backbone.mamba.backbone." + key


def _vq_block(kind: str, rest: str) -> str:
    """``res.J.x`` / ``attn.J.x`` / ``downsample.conv.x`` / ``upsample.conv.x`` inside one level."""
    head, _, tail = rest.partition(".")
    if kind == "res":
        index, _, name = tail.partition(".")
        first, _, param = name.partition(".")
        return f"resnets.{index}.{_VQ_RESNET.get(first, first)}.{param}"
    if kind == "attn":
        index, _, name = tail.partition(".")
        first, _, param = name.partition(".")
        return f"attentions.{index}.{_VQ_ATTENTION[first]}.{param}"
    return f"{'downsamplers' if kind == 'downsample' else 'upsamplers'}.0.{tail}"


def vq_key(key: str) -> str | None:
    """The diffusers ``VQModel`` name of a LlamaGen VQ key, or None for a documented drop."""
    if key in VQ_DROPS:
        return None
    match = re.match(r"^(encoder|decoder)\.(.*)$", key)
    if not match:
        return key  # quant_conv, post_quant_conv, quantize.embedding
    side, rest = match.groups()
    if rest.startswith("mid."):
        index, _, name = rest[4:].partition(".")
        first, _, param = name.partition(".")
        if index == "1":
            return f"{side}.mid_block.attentions.0.{_VQ_ATTENTION[first]}.{param}"
        return f"{side}.mid_block.resnets.{0 if index == '0' else 1}.{_VQ_RESNET.get(first, first)}.{param}"
    level = re.match(r"^conv_blocks\.(\d+)\.(res|attn|downsample|upsample)\.(.*)$", rest)
    if level:
        number, kind, tail = level.groups()
        blocks = "down_blocks" if side == "encoder" else "up_blocks"
        return f"{side}.{blocks}.{number}.{_vq_block(kind, f'{kind}.{tail}')}"
    return f"{side}.{'conv_norm_out' if rest.startswith('norm_out.') else rest.split('.')[0]}.{rest.split('.', 1)[1]}"


def is_vq_attention_conv(key: str) -> bool:
    """Whether a LlamaGen key is a 1x1 attention convolution weight (stored ``[C, C, 1, 1]``, linear in diffusers)."""
    return bool(re.search(r"(\.attn\.\d+|\.mid\.1)\.(q|k|v|proj_out)\.weight$", key))


@dataclass(frozen=True)
class KeyReport:
    """How a file's tensors line up with what a module expects.

    Attributes:
        missing: keys the module needs that the file lacks.
        unexpected: keys the file has that the module does not know (after the key map and documented drops).
        misshaped: ``(key, expected shape, shape in the file)``.
        dropped: keys removed on purpose (documented in this module).
    """

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    misshaped: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]
    dropped: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the file loads strictly: nothing missing, unexpected or mis-shaped."""
        return not (self.missing or self.unexpected or self.misshaped)

    def describe(self, limit: int = 8) -> str:
        """A readable summary (at most ``limit`` keys per list)."""
        lines = []
        for title, items in (("missing", self.missing), ("unexpected", self.unexpected),
                             ("mis-shaped (key: expected vs file)",
                              [f"{k}: {list(a)} vs {list(b)}" for k, a, b in self.misshaped])):
            if items:
                more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
                lines += [f"{title} ({len(items)}){more}:", *(f"  {item}" for item in list(items)[:limit])]
        if self.dropped:
            lines.append(f"dropped by design: {', '.join(self.dropped)}")
        return "\n".join(lines) or "every key and shape matches"


def shapes_of(state: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a state dict (tensors) or of a manifest (lists)."""
    return {k: tuple(int(s) for s in (v.shape if hasattr(v, "shape") else v)) for k, v in state.items()}


def compare(expected: Mapping[str, Any], found: Mapping[str, Any], dropped: Iterable[str] = ()) -> KeyReport:
    """The key report of ``found`` against ``expected`` (key -> tensor or shape, both in the module's naming)."""
    want, have = shapes_of(expected), shapes_of(found)
    return KeyReport(
        missing=tuple(sorted(set(want) - set(have))), unexpected=tuple(sorted(set(have) - set(want))),
        misshaped=tuple(sorted((k, want[k], have[k]) for k in set(want) & set(have) if want[k] != have[k])),
        dropped=tuple(sorted(dropped)))


def map_released(state: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The released state dict in the studio's names, plus the keys outside the documented layout (kept under their
    own names, so the comparison reports them as unexpected)."""
    out, unknown = {}, []
    for key, value in state.items():
        new = released_key(key)
        if new is None:
            unknown.append(key)
            new = key
        out[new] = value
    return out, unknown


def map_vq(state: Mapping[str, Any], reshape: Any = None) -> tuple[dict[str, Any], list[str]]:
    """The LlamaGen VQ state dict in diffusers' names (``reshape(tensor)`` flattens the 1x1 attention convolutions;
    None leaves values alone, e.g. for manifest shapes), plus the dropped keys."""
    out, dropped = {}, []
    for key, value in state.items():
        new = vq_key(key)
        if new is None:
            dropped.append(key)
            continue
        if is_vq_attention_conv(key):
            value = reshape(value) if reshape is not None else _flat_shape(value)
        out[new] = value
    return out, dropped


def _flat_shape(shape: Sequence[int]) -> list[int]:
    return list(shape)[:2]
