"""RobustTok (Qiu et al., "Robust Latent Matters: Boosting Image Generation with Sampling Error Synthesis",
arXiv:2503.08354) and the XQ-GAN tokenizers it is compared with; also the follow-up RobusTok ("Image Tokenizer
Needs Post-Training", arXiv:2509.12474), which keeps the same tokenizer.

Released files (Adobe Research License, non-commercial): ``qiuk6/RobustTok`` / ``RobustTok-zero.pt``,
``XQGAN-4096.pt``, ``XQGAN-8192.pt``; ``qiuk6/RobusTok`` / ``main-train.pt``, ``post-train.pt``. Each is a training
container ``{"model", "ema", "optimizer", "discriminator", "optimizer_disc", "steps", "args"}`` whose ``args`` is an
``argparse.Namespace`` (allow-listed for ``weights_only`` loading); the RAR configs load ``ema``. The state dict
carries ``semantic_model.*``, a frozen DINOv2 ViT-B used only by the training loss: dropped here.

Architecture (``lxa9867/ImageFolder`` ``xqgan_model.py`` and ``dino_enc/dinov2.py``; config ``RobustTok.yaml``):
DINOv2 ViT-B blocks (timm key names, LayerScale) at 256 px with 16 px patches.

* Encoder: patch tokens get a cls token and the 257 position embeddings; 256 learned ``latent_tokens``, viewed as a
  16 x 16 grid, get the same grid position embeddings (their cls token dropped) and are appended; ``lvl_embed``
  adds level 0 to the 257 image tokens and level 1 to the latents (buffer ``lvl1LC``); 12 blocks, norm; the last 256
  tokens, viewed 16 x 16 (row-major), go through ``quant_conv`` (768 -> 64).
* Quantiser: cosine nearest neighbour in a 4096 x 64 l2 codebook (8192 x 32 for XQGAN-8192).
* Decoder: ``post_quant_conv`` (64 -> 768); 256 ``mask_token`` copies get cls + position embeddings (257); the
  latents, viewed 16 x 16, get their own cls + position embeddings (257); both are concatenated (514) with levels
  0 / 1; 12 blocks, norm; tokens 1..256 -> a linear layer to 16 x 16 x 3 pixels -> MAE-style unpatchify. The
  decoder ViT has no patch embedding (the authors delete it). Images are in [-1, 1]; outputs are clamped.

The authors size ``lvl1LC`` as patch_size^2 + 1 image tokens, which equals the 257 tokens only at 256 px with 16 px
patches; here it is sized by the actual token count (identical for every released file).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from backends.tasks.tokenize.research import checkpoint
from backends.tasks.tokenize.research.adapter import ResearchTokenizer
from backends.tasks.tokenize.research.common import (
    codebook_vectors,
    container,
    count,
    heads_for,
    nearest_codes,
    parameter,
    shape,
    spread_codebook,
    vit_block,
    vit_block_forward,
)
from backends.tasks.tokenize.tokens import Tokens
from backends.tasks.tokenize.types import TokenizeRequest


@dataclass(frozen=True)
class RobustTokConfig:
    """An XQ-GAN / RobustTok ViT VQ tokenizer.

    Attributes:
        width: transformer width (ViT-B: 768).
        enc_depth: encoder blocks.
        dec_depth: decoder blocks.
        mlp_ratio: MLP hidden width / width.
        patch: patch size in pixels.
        grid: image patches per side (256 px / 16).
        latent_grid: latent tokens per side (16: 256 tokens).
        codebook_size: number of codewords.
        codebook_dim: codeword dimension.
        l2: l2-normalised codebook (``codebook_l2_norm: true``).
    """

    width: int = 768
    enc_depth: int = 12
    dec_depth: int = 12
    mlp_ratio: float = 4.0
    patch: int = 16
    grid: int = 16
    latent_grid: int = 16
    codebook_size: int = 4096
    codebook_dim: int = 64
    l2: bool = True


VARIANTS: Mapping[str, RobustTokConfig] = MappingProxyType(
    {"4096": RobustTokConfig(), "8192": RobustTokConfig(codebook_size=8192, codebook_dim=32)})
SEMANTIC_PREFIX = "semantic_model."  # frozen DINOv2 of the training loss, unused at inference


def _vit(config: RobustTokConfig, depth: int, patch_embed: bool) -> Any:
    """timm's VisionTransformer parameters the tokenizer uses (``cls_token``, ``pos_embed``, blocks, ``norm``)."""
    from torch import nn

    w = config.width
    vit = container(cls_token=parameter(1, 1, w), pos_embed=parameter(1, config.grid**2 + 1, w),
                    blocks=nn.ModuleList(vit_block(w, heads_for(w), config.mlp_ratio, layer_scale=True)
                                         for _ in range(depth)),
                    norm=nn.LayerNorm(w, eps=1e-6))
    if patch_embed:
        vit.patch_embed = container(proj=nn.Conv2d(3, w, config.patch, stride=config.patch))
    return vit


def build(config: RobustTokConfig) -> Any:
    """The tokenizer without ``semantic_model``: ``encoder``, ``quant_conv``, ``quantize`` (with its
    ``ema_vocab_hit_SV`` buffer of training hit counts, which a strict load needs), ``post_quant_conv`` and
    ``decoder``."""
    import torch
    from torch import nn

    w, tokens = config.width, config.latent_grid**2
    images = config.grid**2 + 1
    encoder = container(model=_vit(config, config.enc_depth, True), latent_tokens=parameter(1, tokens, w, std=1e-6),
                        lvl_embed=nn.Embedding(2, w))
    encoder.register_buffer("lvl1LC", torch.cat([torch.zeros(images), torch.ones(tokens)]).long()[None])
    decoder = container(model=_vit(config, config.dec_depth, False), mask_token=parameter(1, 1, w, std=1e-6),
                        lvl_embed=nn.Embedding(2, w),
                        to_pixel=container(model=nn.Linear(w, config.patch * config.patch * 3)))
    decoder.register_buffer("lvl1LC", torch.cat([torch.zeros(images), torch.ones(tokens + 1)]).long()[None])
    quantize = container(embedding=nn.Embedding(config.codebook_size, config.codebook_dim))
    quantize.register_buffer("ema_vocab_hit_SV", torch.zeros(config.codebook_size))
    return container(encoder=encoder, decoder=decoder, quant_conv=nn.Conv2d(w, config.codebook_dim, 1),
                     quantize=quantize, post_quant_conv=nn.Conv2d(config.codebook_dim, w, 1))


def _with_cls_and_positions(vit: Any, x: Any) -> Any:
    """timm's ``_pos_embed``: prepend the cls token, add the (cls + grid) position embeddings: (B, N, C) -> N + 1."""
    import torch

    return torch.cat([vit.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + vit.pos_embed


def _blocks(vit: Any, x: Any) -> Any:
    for block in vit.blocks:
        x = vit_block_forward(block, x)
    return vit.norm(x)


def encode_latents(model: Any, x: Any) -> Any:
    """(B, 3, 256, 256) in [-1, 1] -> (B, codebook_dim, 16, 16) before quantisation."""
    import torch

    enc = model.encoder
    patches = enc.model.patch_embed.proj(x).flatten(2).transpose(1, 2)  # (B, 256, C)
    h = _with_cls_and_positions(enc.model, patches)  # (B, 257, C)
    latents = _with_cls_and_positions(enc.model, enc.latent_tokens.expand(x.shape[0], -1, -1))[:, 1:]  # cls dropped
    h = torch.cat([h, latents], dim=1) + enc.lvl_embed(enc.lvl1LC)  # (B, 513, C)
    z = _blocks(enc.model, h)[:, -latents.shape[1]:]  # (B, 256, C)
    side = int(round(z.shape[1] ** 0.5))
    return model.quant_conv(z.reshape(z.shape[0], side, side, -1).permute(0, 3, 1, 2))


def decode_latents(model: Any, quant: Any, patch: int) -> Any:
    """(B, codebook_dim, 16, 16) quantised latents -> (B, 3, 256, 256) in about [-1, 1]."""
    import torch

    dec = model.decoder
    z = model.post_quant_conv(quant).flatten(2).transpose(1, 2)  # (B, 256, C)
    b, tokens = z.shape[0], dec.model.pos_embed.shape[1] - 1
    masks = _with_cls_and_positions(dec.model, dec.mask_token.expand(b, tokens, -1))  # (B, 257, C)
    h = torch.cat([masks, _with_cls_and_positions(dec.model, z)], dim=1) + dec.lvl_embed(dec.lvl1LC)  # (B, 514, C)
    x = dec.to_pixel.model(_blocks(dec.model, h)[:, 1:tokens + 1])  # (B, 256, p*p*3)
    side = int(round(tokens**0.5))
    x = x.reshape(b, side, side, patch, patch, 3).permute(0, 5, 1, 3, 2, 4)  # nhwpqc -> nchpwq
    return x.reshape(b, 3, side * patch, side * patch)


def infer_config(state: dict[str, Any], l2: bool = True) -> RobustTokConfig:
    """The architecture of a state dict (``semantic_model.*`` already dropped), read from its shapes."""
    width = shape(state, "encoder.model.cls_token")[-1]
    size, dim = shape(state, "quantize.embedding.weight")
    return RobustTokConfig(
        width=width, enc_depth=count(state, "encoder.model.blocks"), dec_depth=count(state, "decoder.model.blocks"),
        mlp_ratio=shape(state, "encoder.model.blocks.0.mlp.fc1.weight")[0] / width,
        patch=shape(state, "encoder.model.patch_embed.proj.weight")[-1],
        grid=int(round((shape(state, "encoder.model.pos_embed")[1] - 1) ** 0.5)),
        latent_grid=int(round(shape(state, "encoder.latent_tokens")[1] ** 0.5)), codebook_size=size,
        codebook_dim=dim, l2=l2)


class RobustTokTokenizer(ResearchTokenizer):
    """An XQ-GAN / RobustTok ViT tokenizer: 256 discrete tokens (16 x 16) at 256 px, 12 or 13 bits each."""

    discrete = True
    codec = "robusttok"
    drop_prefixes = (SEMANTIC_PREFIX,)

    def released_config(self) -> RobustTokConfig:
        """The released architecture: codebook 4096 x 64, or 8192 x 32 for XQGAN-8192 (option ``codebook``)."""
        return VARIANTS[str(self.spec.defaults.options.get("codebook", "4096"))]

    def miniature_config(self) -> RobustTokConfig:
        """Width 64 (real 768) and 2 blocks (real 12); the real 256 px / 16 px patches / 256 tokens and codebook."""
        return RobustTokConfig(width=64, enc_depth=2, dec_depth=2, codebook_size=self.released_config().codebook_size,
                               codebook_dim=self.released_config().codebook_dim)

    def infer_config(self, state: dict[str, Any], extra: dict[str, Any]) -> RobustTokConfig:
        """Read from the shapes (so one adapter loads 4096 x 64 and 8192 x 32 files)."""
        return infer_config(state, self.released_config().l2)

    def build(self, config: RobustTokConfig) -> Any:
        """The module tree."""
        return build(config)

    def write_miniature(self, folder: Path, config: RobustTokConfig, seed: int) -> None:
        """The training container with ``semantic_model.*`` (a tiny frozen ViT) inside, as the released files."""
        import torch

        torch.manual_seed(seed)
        model = self.build(config)
        with torch.no_grad():
            # DINOv2 starts LayerScale at 1e-5; at that value the random blocks pass nothing on and every code
            # decodes to the same picture. Trained scales are O(0.1-1): use 1.
            for name, value in model.named_parameters():
                if name.endswith(".gamma"):
                    value.fill_(1.0)
            z = encode_latents(model, torch.rand(2, 3, config.grid * config.patch, config.grid * config.patch) * 2 - 1)
        spread_codebook(model.quantize.embedding, z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]), config.l2, seed)
        state = dict(model.state_dict())
        semantic = _vit(config, 1, True).state_dict()
        state.update({SEMANTIC_PREFIX + k: v for k, v in semantic.items()})
        args = {"codebook_size": config.codebook_size, "codebook_embed_dim": config.codebook_dim,
                "enc_type": "dinov2", "dec_type": "dinov2", "semantic_guide": "dinov2", "num_latent_tokens": 256,
                "v_patch_nums": [16], "product_quant": 1, "ema": True, "alpha": 1.0, "beta": 0.1, "delta": 100}
        checkpoint.save_training_container(folder / self.filename, state, args)

    def codebook(self) -> np.ndarray:
        """The l2-normalised codewords."""
        return codebook_vectors(self.model.quantize.embedding, self.config.l2).detach().float().cpu().numpy()

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:
        """16 x 16 codes (row-major: latent token i sits at row i // 16, column i % 16)."""
        import torch

        with torch.inference_mode():
            z = encode_latents(self.model, self.pixels(image))  # (1, D, 16, 16)
            codes = nearest_codes(z[0].permute(1, 2, 0).reshape(-1, z.shape[1]), self.model.quantize.embedding,
                                  self.config.l2)
        return self.discrete_tokens(codes.reshape(z.shape[2:]).cpu().numpy(), self.config.codebook_size,
                                    image.shape[:2])

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Pixels from codes, clamped to [-1, 1] as ``img_to_reconstructed_img`` does."""
        import torch

        with torch.inference_mode():
            codes = torch.as_tensor(np.asarray(tokens.data, dtype=np.int64), device=self.device)
            vectors = codebook_vectors(self.model.quantize.embedding, self.config.l2)[codes]  # (16, 16, D)
            quant = vectors.permute(2, 0, 1)[None].contiguous().to(self._model_dtype())  # (1, D, 16, 16)
            x = decode_latents(self.model, quant, self.config.patch)
        return self.image(x.clamp(-1, 1))
