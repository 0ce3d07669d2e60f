"""TiTok (Yu et al., "An Image is Worth 32 Tokens for Reconstruction and Generation", NeurIPS 2024): a ViT encoder
reads the image's patches together with K learned latent tokens and keeps only those, a 1D sequence of 32 to 256
tokens; a ViT decoder reads them with 256 mask tokens and predicts the image.

Released repos (Apache-2.0, ``PyTorchModelHubMixin``: ``config.json`` + ``model.safetensors`` or
``pytorch_model.bin``): ``yucornetto/tokenizer_titok_{l32,b64,s128,sl256_vq8k,bl128_vae_c16}_imagenet``; flat copies
in ``fun-research/TiTok``. Facts from ``bytedance/1d-tokenizer`` ``modeling/titok.py``, ``modules/blocks.py`` and
``configs/infer/TiTok/*.yaml``: CLIP-style blocks (``ln_1``, ``nn.MultiheadAttention``, ``ln_2``,
``mlp.c_fc/c_proj``, LayerNorm eps 1e-5, GELU), widths small 512/8 layers/8 heads, base 768/12/12, large
1024/24/16, 16 px patches at 256 px, images in [0, 1].

* The original models (L-32, B-64, S-128; ``is_legacy``) quantise with an l2 codebook of 4096 x 12 and decode
  through MaskGIT-VQGAN: the decoder predicts logits over its 1024 codes per 16 x 16 position
  (``maskgit_vqgan.py``). Their encoder reshapes the (B, K, width) latents to (B, width, K, 1) *without a permute*
  before the 1x1 ``conv_out``: it scrambles tokens and channels, and the released weights only reproduce with it.
* SL-256 VQ-8k uses a plain (not l2) 8192 x 64 codebook, BL-128 VAE a 16-channel Gaussian (its mean is the token);
  both predict 16 x 16 x 3 pixels per position then a 3x3 ``conv_out``.

The tokens are a 1D sequence but not ordered: every token attends to every other in both directions and training
never drops a tail (unlike Semanticist), and the decoder needs all K, so there is no prefix view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.tasks.tokenize.research import checkpoint, maskgit_vqgan
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
)
from backends.tasks.tokenize.research.maskgit_vqgan import PixelDecoderConfig
from backends.tasks.tokenize.tokens import Tokens
from backends.tasks.tokenize.types import TokenizeRequest

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # what PyTorchModelHubMixin writes, newest first


@dataclass(frozen=True)
class TiTokConfig:
    """A TiTok tokenizer.

    Attributes:
        enc_width: encoder width.
        enc_depth: encoder blocks.
        dec_width: decoder width.
        dec_depth: decoder blocks.
        patch: patch size in pixels.
        grid: patches per side.
        tokens: latent tokens K.
        token_size: token dimension.
        quantize: ``"vq"`` or ``"vae"``.
        codebook_size: codewords (VQ).
        l2: l2-normalised codebook (legacy models).
        legacy: the original models' encoder reshape and MaskGIT-VQGAN pixel decoder.
        pixel: the MaskGIT-VQGAN decoder (legacy models).
    """

    enc_width: int = 1024
    enc_depth: int = 24
    dec_width: int = 1024
    dec_depth: int = 24
    patch: int = 16
    grid: int = 16
    tokens: int = 32
    token_size: int = 12
    quantize: str = "vq"
    codebook_size: int = 4096
    l2: bool = True
    legacy: bool = True
    pixel: PixelDecoderConfig | None = PixelDecoderConfig()


_SMALL, _BASE, _LARGE = (512, 8), (768, 12), (1024, 24)


def _variant(enc: tuple[int, int], dec: tuple[int, int], **fields: Any) -> TiTokConfig:
    return TiTokConfig(enc_width=enc[0], enc_depth=enc[1], dec_width=dec[0], dec_depth=dec[1], **fields)


VARIANTS: Mapping[str, TiTokConfig] = MappingProxyType({
    "l32": _variant(_LARGE, _LARGE, tokens=32),
    "b64": _variant(_BASE, _BASE, tokens=64),
    "s128": _variant(_SMALL, _SMALL, tokens=128),
    "sl256_vq8k": _variant(_SMALL, _LARGE, tokens=256, token_size=64, codebook_size=8192, l2=False, legacy=False,
                           pixel=None),
    "bl128_vae_c16": _variant(_BASE, _LARGE, tokens=128, token_size=16, quantize="vae", l2=False, legacy=False,
                              pixel=None),
})


def _block(width: int) -> Any:
    from torch import nn

    return container(ln_1=nn.LayerNorm(width), attn=nn.MultiheadAttention(width, heads_for(width), batch_first=True),
                     ln_2=nn.LayerNorm(width),
                     mlp=container(c_fc=nn.Linear(width, 4 * width), c_proj=nn.Linear(4 * width, width)))


def _blocks_forward(blocks: Any, x: Any) -> Any:
    import torch.nn.functional as F

    for block in blocks:
        h = block.ln_1(x)
        x = x + block.attn(h, h, h, need_weights=False)[0]
        x = x + block.mlp.c_proj(F.gelu(block.mlp.c_fc(block.ln_2(x))))
    return x


def build(config: TiTokConfig) -> Any:
    """``latent_tokens``, ``encoder``, ``quantize`` (VQ), ``decoder`` and, for legacy models, ``pixel_quantize`` and
    ``pixel_decoder``."""
    from torch import nn

    we, wd, positions = config.enc_width, config.dec_width, config.grid**2 + 1
    out = config.token_size * (2 if config.quantize == "vae" else 1)  # the VAE predicts mean and log-variance
    encoder = container(
        patch_embed=nn.Conv2d(3, we, config.patch, stride=config.patch), class_embedding=parameter(1, we),
        positional_embedding=parameter(positions, we), latent_token_positional_embedding=parameter(config.tokens, we),
        ln_pre=nn.LayerNorm(we), transformer=nn.ModuleList(_block(we) for _ in range(config.enc_depth)),
        ln_post=nn.LayerNorm(we), conv_out=nn.Conv2d(we, out, 1))
    if config.legacy:
        codes = (config.pixel or PixelDecoderConfig()).codes  # logits over MaskGIT-VQGAN's codes
        ffn = nn.Sequential(nn.Conv2d(wd, 2 * wd, 1), nn.Tanh(), nn.Conv2d(2 * wd, codes, 1))
    else:
        ffn = nn.Sequential(nn.Conv2d(wd, config.patch * config.patch * 3, 1))
    decoder = container(
        decoder_embed=nn.Linear(config.token_size, wd), class_embedding=parameter(1, wd),
        positional_embedding=parameter(positions, wd), mask_token=parameter(1, 1, wd),
        latent_token_positional_embedding=parameter(config.tokens, wd), ln_pre=nn.LayerNorm(wd),
        transformer=nn.ModuleList(_block(wd) for _ in range(config.dec_depth)), ln_post=nn.LayerNorm(wd), ffn=ffn)
    if not config.legacy:
        decoder.conv_out = nn.Conv2d(3, 3, 3, padding=1)
    model = container(latent_tokens=parameter(config.tokens, we), encoder=encoder, decoder=decoder)
    if config.quantize == "vq":
        model.quantize = container(embedding=nn.Embedding(config.codebook_size, config.token_size))
    if config.legacy:
        model.pixel_quantize, model.pixel_decoder = maskgit_vqgan.build(config.pixel or PixelDecoderConfig())
    return model


def encode_latents(model: Any, x: Any, config: TiTokConfig) -> Any:
    """(B, 3, 256, 256) in [0, 1] -> (B, C, 1, K): C = token_size (VQ) or 2 x token_size (VAE mean, log-variance)."""
    import torch

    enc, b = model.encoder, x.shape[0]
    h = enc.patch_embed(x).flatten(2).transpose(1, 2)  # (B, G*G, W)
    h = torch.cat([enc.class_embedding.expand(b, 1, -1), h], dim=1) + enc.positional_embedding
    latents = model.latent_tokens.expand(b, -1, -1) + enc.latent_token_positional_embedding  # (B, K, W)
    h = _blocks_forward(enc.transformer, enc.ln_pre(torch.cat([h, latents], dim=1)))
    latents = enc.ln_post(h[:, config.grid**2 + 1:])  # (B, K, W)
    if config.legacy:  # the authors' reshape without permute: (B, K, W) memory read as (B, W, K, 1)
        latents = latents.reshape(b, config.enc_width, config.tokens, 1)
    else:
        latents = latents.transpose(1, 2)[..., None]  # (B, W, K, 1)
    z = enc.conv_out(latents)  # (B, C, K, 1)
    return z.reshape(b, z.shape[1], 1, config.tokens)


def decode_latents(model: Any, z: Any, config: TiTokConfig) -> Any:
    """(B, token_size, 1, K) -> (B, 3, 256, 256), about [0, 1]."""
    import torch

    dec, b = model.decoder, z.shape[0]
    x = dec.decoder_embed(z.reshape(b, z.shape[1], -1).transpose(1, 2))  # (B, K, Wd)
    masks = dec.mask_token.expand(b, config.grid**2, -1)
    masks = torch.cat([dec.class_embedding.expand(b, 1, -1), masks], dim=1) + dec.positional_embedding
    x = x + dec.latent_token_positional_embedding[: x.shape[1]]
    h = _blocks_forward(dec.transformer, dec.ln_pre(torch.cat([masks, x], dim=1)))
    h = dec.ln_post(h[:, 1:config.grid**2 + 1]).transpose(1, 2).reshape(b, -1, config.grid, config.grid)
    out = dec.ffn(h)
    if config.legacy:  # soft MaskGIT codes -> MaskGIT-VQGAN pixels
        z_pixels = torch.einsum("nchw,cd->ndhw", out.softmax(1), model.pixel_quantize.embedding.weight)
        return maskgit_vqgan.decode(model.pixel_decoder, z_pixels)
    p = config.patch  # 'b (p1 p2 c) h w -> b c (h p1) (w p2)'
    out = out.reshape(b, p, p, 3, config.grid, config.grid).permute(0, 3, 4, 1, 5, 2)
    return dec.conv_out(out.reshape(b, 3, config.grid * p, config.grid * p))


def infer_config(state: dict[str, Any], vq_model: Mapping[str, Any]) -> TiTokConfig:
    """The architecture from a state dict's shapes, and what shapes cannot tell (l2, legacy) from ``config.json``'s
    ``model.vq_model`` (defaults: the original models' choices when the file has the MaskGIT decoder)."""
    legacy = "pixel_decoder.conv_in.weight" in state
    vae = "quantize.embedding.weight" not in state
    tokens, enc_width = shape(state, "latent_tokens")
    return TiTokConfig(
        enc_width=enc_width, enc_depth=count(state, "encoder.transformer"),
        dec_width=shape(state, "decoder.class_embedding")[1], dec_depth=count(state, "decoder.transformer"),
        patch=shape(state, "encoder.patch_embed.weight")[-1],
        grid=int(round((shape(state, "encoder.positional_embedding")[0] - 1) ** 0.5)), tokens=tokens,
        token_size=shape(state, "decoder.decoder_embed.weight")[1], quantize="vae" if vae else "vq",
        codebook_size=4096 if vae else shape(state, "quantize.embedding.weight")[0],
        l2=bool(vq_model.get("use_l2_norm", legacy)) and not vae,
        legacy=bool(vq_model.get("is_legacy", True)) if legacy else False,
        pixel=maskgit_vqgan.infer_config(state) if legacy else None)


def _vq_model_section(config_path: Path | None) -> dict[str, Any]:
    if config_path is None or not Path(config_path).is_file():
        return {}
    try:
        data = json.loads(Path(config_path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput("checkpoint", f"{config_path} is not a readable config.json: {exc}") from exc
    return dict(data.get("model", {}).get("vq_model", data.get("vq_model", {})))


class TiTokTokenizer(ResearchTokenizer):
    """TiTok: a 1D sequence of K tokens (discrete, 12 or 13 bits each; or 16-d continuous for the VAE)."""

    codec = "titok"

    @property
    def discrete(self) -> bool:  # type: ignore[override]
        """VQ variants give codes; the VAE continuous tokens."""
        return self.released_config().quantize == "vq"

    def released_config(self) -> TiTokConfig:
        """The released variant named by the spec's ``variant`` option."""
        return VARIANTS[str(self.spec.defaults.options.get("variant", "l32"))]

    def miniature_config(self) -> TiTokConfig:
        """Width 64, 2 blocks (MaskGIT decoder 32 wide, one residual block); the real K, token size and codebook."""
        real = self.released_config()
        pixel = PixelDecoderConfig(hidden=32, res_blocks=1, z_channels=32) if real.legacy else None
        return TiTokConfig(enc_width=64, enc_depth=2, dec_width=64, dec_depth=2, tokens=real.tokens,
                           token_size=real.token_size, quantize=real.quantize, codebook_size=real.codebook_size,
                           l2=real.l2, legacy=real.legacy, pixel=pixel)

    def locate(self, report: Any = None) -> dict[str, Path]:
        """``config.json`` and the first weights file the mixin repo has."""
        config = self.find(self.filename, report)
        errors: list[ModelUnavailable] = []
        for name in WEIGHT_FILES:
            try:
                return {"config": config, "weights": self.find(name, report)}
            except ModelUnavailable as exc:  # the next candidate may exist
                errors.append(exc)
        raise errors[-1]

    def user_files(self, path: Path) -> dict[str, Path]:
        """A mixin folder, or a weights file (with its folder's config.json when there is one)."""
        path = Path(path)
        if path.is_dir():
            found = [path / n for n in WEIGHT_FILES if (path / n).is_file()]
            if not found:
                raise InvalidInput("file", f"{path} has none of {list(WEIGHT_FILES)}")
            return {"config": path / "config.json", "weights": found[0]}
        return {"config": path.parent / "config.json", "weights": path}

    def read(self, paths: dict[str, Path]) -> tuple[dict[str, Any], dict[str, Any], list[str], str]:
        """A flat state dict plus ``config.json``'s ``vq_model`` section."""
        state, extra, dropped, entry = super().read(paths)
        return state, {**extra, "vq_model": _vq_model_section(paths.get("config"))}, dropped, entry

    def infer_config(self, state: dict[str, Any], extra: dict[str, Any]) -> TiTokConfig:
        """Read from the shapes and ``config.json``."""
        return infer_config(state, extra.get("vq_model", {}))

    def build(self, config: TiTokConfig) -> Any:
        """The module tree."""
        return build(config)

    def write_miniature(self, folder: Path, config: TiTokConfig, seed: int) -> None:
        """A mixin folder: the authors' ``config.json`` layout and ``model.safetensors``."""
        import torch

        torch.manual_seed(seed)
        model = build(config)
        if config.quantize == "vq":
            with torch.no_grad():
                z = encode_latents(model, torch.rand(2, 3, config.grid * config.patch, config.grid * config.patch),
                                   config)
            spread_codebook(model.quantize.embedding, z[:, :, 0].transpose(1, 2).reshape(-1, z.shape[1]), config.l2,
                            seed)
        checkpoint.save_flat(folder / WEIGHT_FILES[0], model.state_dict())
        vq_model = {"codebook_size": config.codebook_size, "token_size": config.token_size, "use_l2_norm": config.l2,
                    "num_latent_tokens": config.tokens, "vit_enc_patch_size": config.patch,
                    "vit_dec_patch_size": config.patch, "finetune_decoder": config.legacy,
                    "is_legacy": config.legacy, "quantize_mode": config.quantize,
                    "studio_miniature": {"width": config.enc_width, "depth": config.enc_depth}}
        (folder / self.filename).write_text(json.dumps({"model": {"vq_model": vq_model}, "dataset": {
            "preprocessing": {"crop_size": config.grid * config.patch}}}, indent=2), "utf-8")

    def codebook(self) -> np.ndarray:
        """The codewords (l2-normalised for the original models)."""
        return codebook_vectors(self.model.quantize.embedding, self.config.l2).detach().float().cpu().numpy()

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:
        """K codes (VQ) or K x 16 posterior means (VAE) of a 256 px image."""
        import torch

        with torch.inference_mode():
            z = encode_latents(self.model, self.pixels(image, low=0.0), self.config)  # (1, C, 1, K)
            rows = z[0, :, 0].transpose(0, 1)  # (K, C)
            if self.config.quantize == "vq":
                codes = nearest_codes(rows, self.model.quantize.embedding, self.config.l2).cpu().numpy()
                return self.discrete_tokens(codes, self.config.codebook_size, image.shape[:2])
            mean = rows[:, : self.config.token_size].float().cpu().numpy()  # the posterior's mode
        return Tokens("continuous", mean, mean.shape[0], mean.size * 16, (1, mean.shape[0]), image.shape[:2], False,
                      image.shape[:2], self.codec, {"token_dim": mean.shape[1]})

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Pixels from codes or continuous tokens, clamped to [0, 1] as the authors' demo does."""
        import torch

        with torch.inference_mode():
            if self.config.quantize == "vq":
                codes = torch.as_tensor(np.asarray(tokens.data, dtype=np.int64).reshape(-1), device=self.device)
                rows = codebook_vectors(self.model.quantize.embedding, self.config.l2)[codes]  # (K, C)
            else:
                rows = torch.as_tensor(np.array(tokens.data, dtype=np.float32), device=self.device)
            z = rows.transpose(0, 1)[None, :, None, :].to(self._model_dtype())  # (1, C, 1, K)
            x = decode_latents(self.model, z, self.config)
        return self.image(x, low=0.0)
