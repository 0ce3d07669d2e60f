"""Building blocks the research tokenizers share: module containers, ViT blocks, vector quantisers with
l2-normalised codebooks, RobustTok's nearest-codeword perturbation, sin-cos position embeddings and token pictures.

The modules are written functionally: a builder returns a plain ``torch.nn.Module`` tree whose attribute names
are exactly the state-dict keys of the released checkpoints, and a forward function computes with it. This keeps
torch out of import time (house rule: heavy libraries are imported inside functions) while ``state_dict()``,
``load_state_dict(strict=True)``, ``.to(device)`` and the meta device work as usual. A container may carry plain
Python attributes (``heads``, ``l2``): they configure the forward and never reach the state dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import InvalidInput
from backends.tasks.tokenize.tokens import code_palette

# Attention heads of the authors' transformers by width (timm DINOv2 / ViT, TiTok, DiT). Widths not listed are the
# studio's miniatures: one head per 32 channels.
HEADS_BY_WIDTH: Mapping[int, int] = MappingProxyType({384: 6, 512: 8, 768: 12, 1024: 16, 1152: 16, 1536: 24})


def heads_for(width: int) -> int:
    """The number of attention heads the authors use at ``width`` (miniatures: one per 32 channels)."""
    return HEADS_BY_WIDTH.get(int(width), max(1, int(width) // 32))


def container(**children: Any) -> Any:
    """A ``torch.nn.Module`` holding ``children`` (modules, parameters or plain attributes) under their names."""
    from torch import nn

    module = nn.Module()
    for name, child in children.items():
        setattr(module, name, child)
    return module


def parameter(*shape: int, std: float = 0.02) -> Any:
    """A trainable tensor drawn from N(0, std^2) (zeros on the meta device cost nothing)."""
    import torch
    from torch import nn

    return nn.Parameter(torch.randn(*shape) * std)


def count(state: Mapping[str, Any], prefix: str) -> int:
    """How many numbered children ``prefix.0``, ``prefix.1``, ... the state dict has."""
    index = 0
    while any(key.startswith(f"{prefix}.{index}.") for key in state):
        index += 1
    return index


def shape(state: Mapping[str, Any], key: str) -> tuple[int, ...]:
    """The shape of ``state[key]`` (a tensor or a shape list from a manifest), naming the key when absent."""
    if key not in state:
        raise InvalidInput("checkpoint", f"has no {key!r}; it is not a checkpoint of this architecture")
    value = state[key]
    return tuple(int(s) for s in (value.shape if hasattr(value, "shape") else value))


# --------------------------------------------------------------------------------------------------------------------
# Transformer blocks
# --------------------------------------------------------------------------------------------------------------------
def vit_block(dim: int, heads: int, mlp_ratio: float = 4.0, layer_scale: bool = False, eps: float = 1e-6) -> Any:
    """A pre-norm ViT block with timm's key names (``norm1``, ``attn.qkv``, ``attn.proj``, ``norm2``,
    ``mlp.fc1``, ``mlp.fc2``; DINOv2 adds LayerScale ``ls1.gamma`` / ``ls2.gamma``)."""
    import torch
    from torch import nn

    hidden = int(dim * mlp_ratio)
    block = container(
        norm1=nn.LayerNorm(dim, eps=eps), attn=container(qkv=nn.Linear(dim, 3 * dim), proj=nn.Linear(dim, dim)),
        norm2=nn.LayerNorm(dim, eps=eps), mlp=container(fc1=nn.Linear(dim, hidden), fc2=nn.Linear(hidden, dim)),
        heads=heads)
    if layer_scale:
        block.ls1 = container(gamma=nn.Parameter(torch.full((dim,), 1e-5)))
        block.ls2 = container(gamma=nn.Parameter(torch.full((dim,), 1e-5)))
    return block


def self_attention(attn: Any, x: Any, heads: int, mask: Any = None) -> Any:
    """Multi-head self-attention with a fused ``qkv`` projection: (B, N, C) -> (B, N, C).

    ``mask`` is a boolean (N, N) matrix, True where a query may attend to a key (SDPA's convention).
    """
    import torch.nn.functional as F

    b, n, c = x.shape
    q, k, v = attn.qkv(x).reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)  # 3 x (B, H, N, C/H)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return attn.proj(out.transpose(1, 2).reshape(b, n, c))


def vit_block_forward(block: Any, x: Any, mask: Any = None, approximate: str = "none") -> Any:
    """One ViT block (with LayerScale when the block has it): (B, N, C) -> (B, N, C)."""
    import torch.nn.functional as F

    y = self_attention(block.attn, block.norm1(x), block.heads, mask)
    x = x + (y * block.ls1.gamma if hasattr(block, "ls1") else y)
    y = block.mlp.fc2(F.gelu(block.mlp.fc1(block.norm2(x)), approximate=approximate))
    return x + (y * block.ls2.gamma if hasattr(block, "ls2") else y)


# --------------------------------------------------------------------------------------------------------------------
# Vector quantisation (l2-normalised codebooks: LlamaGen, XQ-GAN / RobustTok, legacy TiTok)
# --------------------------------------------------------------------------------------------------------------------
def codebook_vectors(embedding: Any, l2: bool) -> Any:
    """The codewords as the decoder sees them: (K, D), l2-normalised when the codebook is."""
    import torch.nn.functional as F

    weight = embedding.weight
    return F.normalize(weight, p=2, dim=-1) if l2 else weight


def nearest_codes(z: Any, embedding: Any, l2: bool, chunk: int = 4096) -> Any:
    """The index of the nearest codeword of each row of ``z`` (N, D) -> (N,) long.

    With an l2 codebook both sides are normalised first (cosine nearest neighbour), as the authors' quantisers do.
    The distances ||e||^2 - 2 z.e are computed in chunks of rows, so 16384 codes never need a huge matrix.
    """
    import torch
    import torch.nn.functional as F

    codebook = codebook_vectors(embedding, l2).float()
    z = F.normalize(z.float(), p=2, dim=-1) if l2 else z.float()
    norms = (codebook**2).sum(dim=1)
    return torch.cat([torch.argmin(norms[None] - 2 * rows @ codebook.T, dim=1) for rows in z.split(chunk)])


def spread_codebook(embedding: Any, latents: Any, l2: bool, seed: int) -> None:
    """Redraw a miniature's codebook from a Gaussian fitted to its encoder's outputs (``latents``: (N, D)).

    A random encoder's outputs share one dominant direction, so against a uniformly initialised codebook every token
    snaps to the same code and the token map is one colour. Trained codebooks cover the latent distribution; drawing
    the codewords from the latents' per-dimension mean and spread does the same for a miniature (only miniatures:
    released codebooks are loaded as they are).
    """
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(seed)
    z = F.normalize(latents.float(), dim=-1) if l2 else latents.float()
    mean, std = z.mean(dim=0), z.std(dim=0).clamp_min(1e-6)
    with torch.no_grad():
        draws = torch.randn(embedding.weight.shape, generator=generator) * std + mean
        embedding.weight.copy_(F.normalize(draws, dim=-1) if l2 else draws)


def perturb_codes(codebook: np.ndarray, codes: np.ndarray, alpha: float, delta: int, seed: int) -> np.ndarray:
    """RobustTok's latent perturbation on code indices: each code, with probability ``alpha``, becomes one of the
    ``delta`` codewords nearest to its own codeword (itself included, so ``delta=1`` changes nothing), uniformly.

    The released training code (``latent_perturbation.py``) ranks the neighbours of the encoder output z; tokens
    only keep the index, so neighbours are ranked around the chosen codeword e_k, as the paper describes (for a
    nearest-neighbour quantiser the two lists nearly coincide). The random draws (a replace flag and a rank per
    token) do not depend on alpha: for one seed a larger alpha perturbs a superset of the tokens.

    Args:
        codebook: (K, D) codewords as the decoder sees them (l2-normalised ones for l2 codebooks).
        codes: code indices of any shape.
        alpha: perturbation rate in [0, 1].
        delta: neighbourhood size, clipped to K.
        seed: seed of the draws.

    Returns:
        Perturbed codes, same shape, int32.
    """
    flat = np.asarray(codes).reshape(-1).astype(np.int64)
    delta = int(min(max(delta, 1), len(codebook)))
    rng = np.random.default_rng(seed)
    hit = rng.random(flat.size) < alpha
    rank = rng.integers(0, delta, size=flat.size)
    new = flat.copy()
    if delta > 1 and hit.any():
        unique, inverse = np.unique(flat[hit], return_inverse=True)
        vectors = np.asarray(codebook, dtype=np.float32)
        norms = np.einsum("ij,ij->i", vectors, vectors)
        distances = norms[None, :] - 2.0 * vectors[unique] @ vectors.T  # (U, K), up to a per-row constant
        distances[np.arange(len(unique)), unique] = -np.inf  # the code itself first, even among duplicates
        nearest = np.argpartition(distances, delta - 1, axis=1)[:, :delta]
        order = np.argsort(np.take_along_axis(distances, nearest, axis=1), axis=1, kind="stable")
        neighbours = np.take_along_axis(nearest, order, axis=1)
        new[hit] = neighbours[inverse.ravel(), rank[hit]]
    return new.reshape(np.asarray(codes).shape).astype(np.int32)


# --------------------------------------------------------------------------------------------------------------------
# Position embeddings and pictures
# --------------------------------------------------------------------------------------------------------------------
def sincos_2d(dim: int, grid: int) -> np.ndarray:
    """MAE / DiT's fixed 2D sin-cos position embedding, (grid*grid, dim) float32.

    The first half of the channels encodes the column (x) coordinate, the second half the row, each as
    [sin(pos * w), cos(pos * w)] with w = 10000^(-i / (dim/4)), which is how the DiT checkpoints were trained.
    """
    rows, cols = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64), indexing="ij")

    def one_axis(positions: np.ndarray) -> np.ndarray:
        omega = 1.0 / 10000 ** (np.arange(dim // 4, dtype=np.float64) / (dim / 4))
        angles = np.outer(positions.reshape(-1), omega)
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)

    return np.concatenate([one_axis(cols), one_axis(rows)], axis=1).astype(np.float32)


def token_picture(data: np.ndarray, codebook_size: int | None, size: tuple[int, int]) -> np.ndarray:
    """An HxWx3 uint8 picture of tokens at ``size`` (h, w).

    Codes on a 2D grid are drawn in place, one palette colour per code; a 1D sequence is drawn row-major on the
    squarest grid that holds it (its position in the picture is its index, not a place in the image). Continuous
    tokens (N, D) show their first three channels as RGB, each stretched between its 1st and 99th percentile.
    """
    data = np.asarray(data)
    if codebook_size is not None:
        codes = data if data.ndim == 2 and data.shape[0] > 1 else data.reshape(-1)
        if codes.ndim == 1:
            codes = _squarest(codes)
        grid = code_palette(int(codebook_size))[np.clip(codes, 0, codebook_size - 1)]
    else:
        first = data.reshape(data.shape[0], -1)[:, :3].astype(np.float64)
        first = np.concatenate([first, np.repeat(first[:, -1:], 3 - first.shape[1], axis=1)], axis=1)
        low, high = np.percentile(first, 1, axis=0), np.percentile(first, 99, axis=0)
        rgb = np.rint(np.clip((first - low) / np.maximum(high - low, 1e-12), 0, 1) * 255).astype(np.uint8)
        grid = np.stack([_squarest(rgb[:, c]) for c in range(3)], axis=-1)
    h, w = size
    return np.asarray(Image.fromarray(grid.astype(np.uint8)).resize((w, h), Image.Resampling.NEAREST))


def _squarest(sequence: np.ndarray) -> np.ndarray:
    """A 1D sequence on the squarest rows x columns grid whose size divides its length."""
    n = len(sequence)
    rows = int(np.floor(np.sqrt(n)))
    while n % rows:
        rows -= 1
    return sequence.reshape(rows, n // rows)
