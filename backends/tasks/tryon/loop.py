"""CatVTON's denoising loop, shared by the mask-free (8-channel) and mask-based (9-channel) models.

Person and garment are concatenated in latent space, along the width for the mask-free model (IP2P's 8-channel UNet
reads ``[noisy 4 | person-and-garment 4]``) or along the height for the mask-based one (SD inpainting's 9-channel UNet
reads ``[noisy 4 | mask 1 | masked-person-and-garment 4]``). The UNet sees no text. Classifier-free guidance runs
the same condition with the garment latent replaced by zeros as its unconditional branch; DDIM steps with
``eta = 1``; only the person half of the final latent is decoded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from backends.core.run import RunControl

WIDTH, HEIGHT = -1, -2  # the latent dims person and garment are concatenated along


def to_tensor(image: Image.Image, device: str, dtype: Any) -> Any:
    """An RGB image as ``(1, 3, H, W)`` in [-1, 1]."""
    import torch

    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1)[None].to(device=device, dtype=dtype)


def encode(vae: Any, pixels: Any, generator: Any) -> Any:
    """VAE latents ``(1, 4, H/8, W/8)``, sampled from the posterior (as CatVTON does) with ``generator``."""
    posterior = vae.encode(pixels.to(vae.dtype)).latent_dist
    return posterior.sample(generator=generator) * vae.config.scaling_factor


def decode(vae: Any, latents: Any) -> Image.Image:
    """The image of latents ``(1, 4, h, w)``."""
    pixels = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
    pixels = (pixels / 2 + 0.5).clamp(0, 1)[0].permute(1, 2, 0).float().cpu().numpy()  # (H, W, 3)
    return Image.fromarray(np.rint(pixels * 255).astype(np.uint8))


def concat(person: Any, garment: Any, dim: int) -> Any:
    """Person and garment side by side (``dim=WIDTH``) or stacked (``dim=HEIGHT``)."""
    import torch

    return torch.cat([person, garment], dim=dim)


def person_half(latents: Any, dim: int) -> Any:
    """The first (person) half of a concatenated latent."""
    return latents.chunk(2, dim=dim)[0]


def denoise(unet: Any, scheduler: Any, condition: Any, uncondition: Any, *, steps: int, guidance: float,
            generator: Any, eta: float = 1.0, control: RunControl | None = None, label: str = "try-on") -> Any:
    """Run the text-free, concatenated-latent loop and return the final latent.

    Args:
        unet: the UNet (CatVTON processors installed: it is called with ``encoder_hidden_states=None``).
        scheduler: a DDIM scheduler.
        condition: the channels appended to the noisy latent, ``(1, C, h', w')`` (C = 4 mask-free, 5 mask-based).
        uncondition: the same with the garment latent zeroed (classifier-free guidance's unconditional branch).
        steps: denoising steps.
        guidance: guidance scale; at 1 or below only the conditional branch runs.
        generator: the seeded generator (initial noise and DDIM's eta noise).
        eta: DDIM's eta (1 in CatVTON).
        control: progress and Stop.
        label: what the progress bar says before ``step i/n``.

    Returns:
        The denoised latent ``(1, 4, h', w')``.
    """
    import torch
    from diffusers.utils.torch_utils import randn_tensor

    control = control or RunControl()
    device, dtype = condition.device, unet.dtype
    scheduler.set_timesteps(steps, device=device)
    shape = (1, unet.config.out_channels, *condition.shape[-2:])
    latents = randn_tensor(shape, generator=generator, device=torch.device(device), dtype=dtype)
    latents = latents * scheduler.init_noise_sigma
    cfg = guidance > 1.0
    # (2, C, h', w') with CFG: row 0 unconditional (zero garment), row 1 conditional
    conditions = torch.cat([uncondition, condition]) if cfg else condition
    conditions = conditions.to(dtype)
    total = len(scheduler.timesteps)
    for index, timestep in enumerate(scheduler.timesteps):
        control.raise_if_stopped(f"{label} stopped at step {index + 1}/{total}")
        model_input = torch.cat([latents] * 2) if cfg else latents
        model_input = scheduler.scale_model_input(model_input, timestep)
        model_input = torch.cat([model_input, conditions], dim=1)  # (B, 4 + C, h', w')
        noise = unet(model_input, timestep, encoder_hidden_states=None, return_dict=False)[0]
        if cfg:
            unconditional, conditional = noise.chunk(2)
            noise = unconditional + guidance * (conditional - unconditional)
        latents = scheduler.step(noise, timestep, latents, eta=eta, generator=generator, return_dict=False)[0]
        control.report((index + 1) / total, f"{label}: step {index + 1}/{total}")
    return latents
