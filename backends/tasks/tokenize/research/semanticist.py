"""Semanticist (Wen et al., "'Principal Components' Enable A New Language of Images", arXiv:2503.08685): a causal
ViT encoder turns an image into 256 continuous 16-d tokens, ordered coarse to fine; a DiT decodes them in the
MAR-VAE latent (``dit.py``), and any prefix of the tokens decodes to a whole image.

Released file (MIT): ``tennant/semanticist`` / ``semanticist_tok_XL.pkl``, a flat state dict of the trainable
parameters (an EMA export; keys may carry torch.compile's ``_orig_mod`` wrappers, stripped here). The VAE is
``xwen99/mar-vae-kl16`` (diffusers ``AutoencoderKL``), loaded through the registry entry named by the ``vae``
option. Architecture (``stage1/diffuse_slot.py``, ``stage1/vision_transformer.py``, ``configs/tokenizer_xl.yaml``):

* encoder: ViT-B/16 at 256 px (LayerNorm eps 1e-6, qkv bias, no LayerScale) over [cls, 256 patches, 256 slot
  embeddings] + one learned ``pos_embed`` (513); causal: slots attend to every patch and to earlier slots, cls and
  patches never see slots; the last 256 outputs -> ``encoder2slot`` (768 -> 16) -> each token standardised over its
  16 values (``torch.std``, unbiased). Images are in [0, 1].
* decoder: DiT-XL/2 (``DiT-L/2`` for the L config) in the MAR-VAE latent (16 channels, 16 x 16 at 256 px).
* prefixes: the nested sampler keeps the first k tokens and replaces the rest by the learned ``null_cond`` entries
  of their positions; guidance contrasts with all-null tokens. The demo decodes with 1, 4, 16, 64 and 256 tokens.

Train-only keys dropped when present: ``dit.projector.*`` (REPA), ``dit.pos_embed`` (fixed sin-cos, recomputed),
``vae.*`` (loaded from its own repo), ``repa_encoder.*`` (DINOv2 of the REPA loss), ``nested_sampler.*``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from backends.core.errors import InvalidInput
from backends.core.run import ProgressFn
from backends.models import weights
from backends.tasks.tokenize.research import checkpoint, dit
from backends.tasks.tokenize.research.adapter import ResearchTokenizer
from backends.tasks.tokenize.research.common import (
    container,
    count,
    heads_for,
    parameter,
    shape,
    vit_block,
    vit_block_forward,
)
from backends.tasks.tokenize.research.dit import DiTConfig
from backends.tasks.tokenize.tokens import Tokens
from backends.tasks.tokenize.types import TokenizeRequest

DEMO_PREFIXES = (1, 4, 16, 64, 256)  # the token counts the authors' demo decodes
DEFAULT_STEPS, DEFAULT_GUIDANCE = 25, 3.0  # the released config samples 250 steps; 25 keeps CPU runs in minutes


@dataclass(frozen=True)
class SemanticistConfig:
    """The tokenizer: a causal ViT encoder and a DiT decoder.

    Attributes:
        width: encoder width.
        depth: encoder blocks.
        patch: patch size.
        grid: patches per side.
        norm_slots: standardise each token over its values.
        dit: the decoder.
    """

    width: int = 768
    depth: int = 12
    patch: int = 16
    grid: int = 16
    norm_slots: bool = True
    dit: DiTConfig = DiTConfig()


VARIANTS: Mapping[str, SemanticistConfig] = MappingProxyType({
    "xl": SemanticistConfig(),
    "l": SemanticistConfig(dit=DiTConfig(hidden=1024, depth=24)),
})


def build(config: SemanticistConfig) -> Any:
    """``encoder``, ``encoder2slot`` and ``dit``."""
    from torch import nn

    w, slots = config.width, config.dit.slots
    encoder = container(
        cls_token=parameter(1, 1, w), pos_embed=parameter(1, config.grid**2 + 1 + slots, w),
        slot_embed=parameter(1, slots, w), patch_embed=container(proj=nn.Conv2d(3, w, config.patch,
                                                                                  stride=config.patch)),
        blocks=nn.ModuleList(vit_block(w, heads_for(w)) for _ in range(config.depth)), norm=nn.LayerNorm(w, eps=1e-6))
    return container(encoder=encoder, encoder2slot=nn.Linear(w, config.dit.slot_dim), dit=dit.build(config.dit))


def causal_mask(images: int, slots: int, device: Any = None) -> Any:
    """(L, L) bool, True where a query may attend: slots see every image token and earlier slots; the cls token and
    the patches never see slots."""
    import torch

    length = images + slots
    mask = torch.ones(length, length, dtype=torch.bool, device=device)
    mask[-slots:, -slots:] = torch.ones(slots, slots, dtype=torch.bool, device=device).tril()
    mask[:-slots, -slots:] = False
    return mask


def encode_tokens(model: Any, x: Any, config: SemanticistConfig) -> Any:
    """(B, 3, 256, 256) in [0, 1] -> (B, 256, 16) tokens."""
    import torch

    enc, b = model.encoder, x.shape[0]
    patches = enc.patch_embed.proj(x).flatten(2).transpose(1, 2)
    h = torch.cat([enc.cls_token.expand(b, -1, -1), patches, enc.slot_embed.expand(b, -1, -1)], dim=1)
    h = h + enc.pos_embed
    mask = causal_mask(h.shape[1] - config.dit.slots, config.dit.slots, x.device)
    for block in enc.blocks:
        h = vit_block_forward(block, h, mask)
    tokens = model.encoder2slot(enc.norm(h)[:, -config.dit.slots:])
    if config.norm_slots:
        tokens = (tokens - tokens.mean(dim=-1, keepdim=True)) / tokens.std(dim=-1, keepdim=True)
    return tokens


def infer_config(state: dict[str, Any], norm_slots: bool = True) -> SemanticistConfig:
    """The architecture from a state dict's shapes (the VAE's 16x downsampling gives the latent side)."""
    width = shape(state, "encoder.cls_token")[-1]
    slots, slot_dim = shape(state, "dit.null_cond")[1:]
    patch = shape(state, "encoder.patch_embed.proj.weight")[-1]
    grid = int(round((shape(state, "encoder.pos_embed")[1] - 1 - slots) ** 0.5))
    hidden, channels, dit_patch = shape(state, "dit.x_embedder.proj.weight")[:3]
    out = shape(state, "dit.final_layer.linear.weight")[0] // dit_patch**2
    return SemanticistConfig(
        width=width, depth=count(state, "encoder.blocks"), patch=patch, grid=grid, norm_slots=norm_slots,
        dit=DiTConfig(hidden=hidden, depth=count(state, "dit.blocks"), patch=dit_patch, in_channels=channels,
                      input_size=grid * patch // 16, slots=slots, slot_dim=slot_dim, learn_sigma=out == 2 * channels))


class SemanticistTokenizer(ResearchTokenizer):
    """Semanticist: 256 ordered continuous tokens; decoding is a diffusion run (steps and guidance adjustable)."""

    ordered = True
    codec = "semanticist"
    drop_prefixes = ("dit.projector.", "dit.pos_embed", "vae.", "repa_encoder.", "nested_sampler.")
    entries = ("state_dict", "ema", "model")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vae: weights.Loaded | None = None

    def released_config(self) -> SemanticistConfig:
        """The released XL tokenizer (option ``variant``: ``xl`` or ``l``)."""
        return VARIANTS[str(self.spec.defaults.options.get("variant", "xl"))]

    def miniature_config(self) -> SemanticistConfig:
        """Encoder and DiT 64 wide, 2 blocks; the real 256 x 16 tokens, patches and 16 x 16 x 16 latent."""
        return SemanticistConfig(width=64, depth=2, dit=DiTConfig(hidden=64, depth=2))

    def infer_config(self, state: dict[str, Any], extra: dict[str, Any]) -> SemanticistConfig:
        """Read from the shapes."""
        return infer_config(state, self.released_config().norm_slots)

    def build(self, config: SemanticistConfig) -> Any:
        """The module tree."""
        return build(config)

    def write_miniature(self, folder: Path, config: SemanticistConfig, seed: int) -> None:
        """A flat ``.pkl`` state dict as the EMA export, keys wrapped by torch.compile as the released file may be,
        with the REPA projector inside (dropped on load)."""
        import torch

        torch.manual_seed(seed)
        model = build(config)
        state = {k.replace("dit.", "dit._orig_mod.", 1): v for k, v in model.state_dict().items()}
        state.update({f"dit.projector.{i}.weight": torch.zeros(4, 4) for i in (0, 2, 4)})
        checkpoint.save_flat(folder / self.filename, state)

    def load(self, report: ProgressFn | None = None) -> None:
        """The tokenizer (``ResearchTokenizer.load``), then the MAR VAE through its registry entry."""
        from backends.models.registry import default_registry

        super().load(report)
        vae_spec = default_registry().get_spec(self.spec.defaults.options.get("vae", "tok/mar-vae"), "vae")
        self.vae = weights.load_pretrained(vae_spec, self.settings, report)

    def unload(self) -> None:
        """Drop the tokenizer and the VAE."""
        super().unload()
        self.vae = None

    def memory_bytes(self) -> int:
        """Tokenizer and VAE."""
        return super().memory_bytes() + weights.module_bytes(self.vae.model if self.vae else None)

    def curve_ks(self, tokens: Tokens) -> list[int]:
        """The demo's prefixes (each point is a whole diffusion run)."""
        return sorted({k for k in DEMO_PREFIXES if k < tokens.count} | {tokens.count})

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:
        """256 x 16 tokens; the sampling settings ride along for decoding."""
        import torch

        with torch.inference_mode():
            tokens = encode_tokens(self.model, self.pixels(image, low=0.0), self.config)[0].float().cpu().numpy()
        steps = int(request.steps or self.spec.defaults.options.get("steps", DEFAULT_STEPS))
        guidance = float(request.guidance if request.guidance is not None else
                         self.spec.defaults.options.get("guidance", DEFAULT_GUIDANCE))
        return Tokens("continuous", tokens, tokens.shape[0], tokens.size * 16, (1, tokens.shape[0]), image.shape[:2],
                      True, image.shape[:2], self.codec, {"token_dim": tokens.shape[1], "steps": steps,
                                                          "guidance": guidance, "seed": int(request.seed)})

    def decode(self, tokens: Tokens) -> np.ndarray:
        """All tokens."""
        return self.decode_prefix(tokens, tokens.count)

    def decode_prefix(self, tokens: Tokens, k: int) -> np.ndarray:
        """The first k tokens, the rest replaced by their null conditions (the nested sampler at inference)."""
        import torch

        if not 1 <= k <= tokens.count:
            raise InvalidInput("prefix", f"{k} is outside 1..{tokens.count}")
        p = tokens.params
        with torch.inference_mode():
            data = torch.as_tensor(np.array(tokens.data, dtype=np.float32), device=self.device)[None]
            keep = torch.arange(tokens.count, device=self.device)[None] < k
            latents = dit.sample(self.model.dit, self.config.dit, data.to(self._model_dtype()), keep, p["steps"],
                                 p["guidance"], p["seed"], self.control, f"{self.spec.name}: {k} tokens",
                                 self._model_dtype())
            x = dit.decode_with_vae(self.vae.model, latents)
        return self.image(x, low=0.0)

    def provenance(self) -> Any:
        """The tokenizer's provenance, naming the VAE it decodes through."""
        source = super().provenance()
        vae = self.spec.defaults.options.get("vae", "tok/mar-vae")
        return replace(source, pipeline=f"{source.pipeline} + {vae}")
