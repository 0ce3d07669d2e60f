"""Semanticist's diffusion decoder: a DiT (Peebles & Xie, arXiv:2212.09748) in the MAR-VAE latent, conditioned on the
tokenizer's 256 continuous tokens as extra sequence tokens, and its sampler.

Facts from ``visual-gen/semanticist`` ``stage1/diffuse_slot.py`` (``DiT_with_autoenc_cond``),
``stage1/diffusion_transfomer.py`` and ``stage1/diffusion/__init__.py``:

* adaLN-Zero blocks (non-affine LayerNorm eps 1e-6, fused ``qkv``, tanh-GELU MLP, ``adaLN_modulation.1`` giving
  shift / scale / gate for attention and MLP), fixed 2D sin-cos position embeddings (not stored in the checkpoint:
  recomputed here), a sinusoidal timestep embedding (256 frequencies, [cos, sin]) through ``t_embedder.mlp``;
* the condition: the tokens, where the ``keep`` mask is False replaced by the learned ``null_cond`` entries of
  their positions, through ``autoenc_cond_embedder``, appended after the 64 latent patches (not modulated);
* learned sigma: 2 x 16 output channels, the second half interpolating the log-variance between the posterior's
  and beta's (``LEARNED_RANGE``);
* the diffusion: 1000 steps, linear betas 1e-4..0.02, epsilon prediction, ADM's respacing of ``"N"`` (N evenly
  spread timesteps, rounded); classifier-free guidance on the epsilon channels only, the unconditional branch
  conditioned on all-null tokens. diffusers' ``DDPMScheduler`` with ``variance_type="learned_range"`` and these
  custom timesteps is this sampler step for step.

The REPA projector (``dit.projector.*``) only serves a training loss and is not built.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from backends.core.run import RunControl
from backends.tasks.tokenize.research.common import container, heads_for, parameter, self_attention, sincos_2d

TRAIN_STEPS = 1000
BETA_START, BETA_END = 1e-4, 0.02
FREQUENCIES = 256


@dataclass(frozen=True)
class DiTConfig:
    """A DiT conditioned on tokens.

    Attributes:
        hidden: width.
        depth: blocks.
        patch: latent patch size.
        in_channels: VAE latent channels.
        input_size: latent side.
        slots: condition tokens.
        slot_dim: condition token dimension.
        learn_sigma: two output halves (epsilon, variance interpolation).
    """

    hidden: int = 1152
    depth: int = 28
    patch: int = 2
    in_channels: int = 16
    input_size: int = 16
    slots: int = 256
    slot_dim: int = 16
    learn_sigma: bool = True


def _dit_block(hidden: int) -> Any:
    from torch import nn

    return container(attn=container(qkv=nn.Linear(hidden, 3 * hidden), proj=nn.Linear(hidden, hidden)),
                     mlp=container(fc1=nn.Linear(hidden, 4 * hidden), fc2=nn.Linear(4 * hidden, hidden)),
                     adaLN_modulation=nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden)), heads=heads_for(hidden))


def build(config: DiTConfig) -> Any:
    """The DiT with the authors' key names (``x_embedder.proj``, ``t_embedder.mlp``, ``blocks``, ``final_layer``,
    ``null_cond``, ``autoenc_cond_embedder``)."""
    from torch import nn

    h, out = config.hidden, config.in_channels * (2 if config.learn_sigma else 1)
    return container(
        x_embedder=container(proj=nn.Conv2d(config.in_channels, h, config.patch, stride=config.patch)),
        t_embedder=container(mlp=nn.Sequential(nn.Linear(FREQUENCIES, h), nn.SiLU(), nn.Linear(h, h))),
        blocks=nn.ModuleList(_dit_block(h) for _ in range(config.depth)),
        final_layer=container(linear=nn.Linear(h, config.patch**2 * out),
                              adaLN_modulation=nn.Sequential(nn.SiLU(), nn.Linear(h, 2 * h))),
        null_cond=parameter(1, config.slots, config.slot_dim), autoenc_cond_embedder=nn.Linear(config.slot_dim, h))


def _modulate(x: Any, shift: Any, scale: Any) -> Any:
    import torch.nn.functional as F

    return F.layer_norm(x, x.shape[-1:], eps=1e-6) * (1 + scale[:, None]) + shift[:, None]


def timestep_embedding(t: Any, dim: int = FREQUENCIES, max_period: float = 10000.0) -> Any:
    """(N,) timesteps -> (N, dim) [cos, sin] features (GLIDE's embedding, as DiT)."""
    import torch

    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def forward(dit: Any, x: Any, t: Any, tokens: Any, keep: Any, config: DiTConfig) -> Any:
    """One DiT pass.

    Args:
        dit: the module tree.
        x: (B, C, H, W) noisy latents.
        t: (B,) timesteps in 0..999.
        tokens: (B, S, D) condition tokens.
        keep: (B, S) bool, False where a token is replaced by its null condition.
        config: the architecture.

    Returns:
        (B, 2C, H, W): epsilon and the variance interpolation.
    """
    import torch
    import torch.nn.functional as F

    b, p = x.shape[0], config.patch
    grid = x.shape[-1] // p
    pos = torch.from_numpy(sincos_2d(config.hidden, grid)).to(x.device, x.dtype)
    h = dit.x_embedder.proj(x).flatten(2).transpose(1, 2) + pos  # (B, T, hidden), T = 64 at 16x16 latents
    c = dit.t_embedder.mlp(timestep_embedding(t).to(x.dtype))  # (B, hidden)
    cond = torch.where(keep[..., None], tokens, dit.null_cond.to(tokens.dtype))
    n = h.shape[1]
    h = torch.cat([h, dit.autoenc_cond_embedder(cond)], dim=1)  # (B, T + S, hidden)
    for block in dit.blocks:
        shift1, scale1, gate1, shift2, scale2, gate2 = block.adaLN_modulation(c).chunk(6, dim=1)
        h = h + gate1[:, None] * self_attention(block.attn, _modulate(h, shift1, scale1), block.heads)
        y = block.mlp.fc2(F.gelu(block.mlp.fc1(_modulate(h, shift2, scale2)), approximate="tanh"))
        h = h + gate2[:, None] * y
    shift, scale = dit.final_layer.adaLN_modulation(c).chunk(2, dim=1)
    h = dit.final_layer.linear(_modulate(h[:, :n], shift, scale))  # (B, T, p*p*out)
    out = h.shape[-1] // (p * p)
    h = h.reshape(b, grid, grid, p, p, out).permute(0, 5, 1, 3, 2, 4)  # nhwpqc -> nchpwq
    return h.reshape(b, out, grid * p, grid * p)


def respaced_timesteps(steps: int, train_steps: int = TRAIN_STEPS) -> list[int]:
    """ADM's ``space_timesteps(1000, "N")``: N timesteps evenly spread over 0..999 (rounded), descending."""
    if steps >= train_steps:
        return list(range(train_steps - 1, -1, -1))
    stride = (train_steps - 1) / (steps - 1) if steps > 1 else 1.0
    return sorted({round(i * stride) for i in range(steps)}, reverse=True)


def scheduler(steps: int) -> Any:
    """diffusers' DDPM scheduler set up as Semanticist's respaced, learned-range Gaussian diffusion."""
    from diffusers import DDPMScheduler

    schedule = DDPMScheduler(num_train_timesteps=TRAIN_STEPS, beta_start=BETA_START, beta_end=BETA_END,
                             beta_schedule="linear", variance_type="learned_range", clip_sample=False,
                             prediction_type="epsilon")
    schedule.set_timesteps(timesteps=respaced_timesteps(steps))
    return schedule


def sample(dit: Any, config: DiTConfig, tokens: Any, keep: Any, steps: int, guidance: float, seed: int,
           control: RunControl, label: str, dtype: Any) -> Any:
    """Latents decoded from tokens by ancestral sampling, with progress, a time estimate and Stop per step.

    Args:
        dit: the module tree.
        config: the architecture.
        tokens: (1, S, D) tokens.
        keep: (1, S) bool mask (a prefix: the first k True).
        steps: respaced sampling steps.
        guidance: classifier-free guidance (1: a single conditional pass per step).
        seed: seeds the initial noise and every step's noise.
        control: progress and Stop.
        label: what the progress bar says first.
        dtype: the model's dtype.

    Returns:
        (1, C, H, W) latents.
    """
    import torch

    generator = torch.Generator().manual_seed(int(seed))
    shape = (1, config.in_channels, config.input_size, config.input_size)
    z = torch.randn(shape, generator=generator).to(tokens.device, dtype)
    schedule = scheduler(steps)
    guided = guidance != 1.0
    if guided:  # the unconditional branch: every token replaced by its null condition
        tokens = torch.cat([tokens, dit.null_cond.to(tokens.dtype).expand_as(tokens)])
        keep = torch.cat([keep, torch.ones_like(keep)])
    started = time.perf_counter()
    total = len(schedule.timesteps)
    for i, t in enumerate(schedule.timesteps):
        control.raise_if_stopped(f"{label} stopped at step {i + 1}/{total}")
        x = torch.cat([z, z]) if guided else z
        out = forward(dit, x, t.repeat(x.shape[0]).to(z.device), tokens, keep, config)
        if guided:
            conditional, unconditional = out.chunk(2)
            eps_c, rest = conditional.split(config.in_channels, dim=1)
            eps_u = unconditional[:, : config.in_channels]
            out = torch.cat([eps_u + guidance * (eps_c - eps_u), rest], dim=1)
        z = schedule.step(out.float(), t, z.float(), generator=generator).prev_sample.to(dtype)
        elapsed = time.perf_counter() - started
        control.report((i + 1) / total, f"{label}: step {i + 1}/{total}, ~{elapsed / (i + 1) * (total - i - 1):.0f} s "
                                        "left")
    return z


def decode_with_vae(vae: Any, latents: Any) -> Any:
    """MAR-VAE latents (scaled) -> (1, 3, H, W) in [0, 1], as ``DiffuseSlot.vae_decode``."""
    pixels = vae.decode(latents.to(next(vae.parameters()).dtype) / vae.config.scaling_factor).sample
    return (pixels.float() + 1) / 2

