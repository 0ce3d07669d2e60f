"""MGHanD's guided denoising loop (KAIST, 2025: multi-modal guidance for authentic hand diffusion) on a Stable
Diffusion 1.x inpainting UNet.

The loop is plain inpainting (it reuses the pipeline's own preparation helpers: prompt encoding, latents, mask
latents) plus two guidance terms confined to a *cumulative* hand mask that grows step by step from the tight
landmark hull to the padded box:

* text guidance: ``w_text * (eps_LoRA("natural hand") - eps_base("hand"))`` (the LoRA is any diffusers-format
  LoRA; without one, the base model's difference between the two prompts is used);
* visual guidance: the gradient of a discriminator's realness score with respect to the latents, applied as
  classifier guidance ``eps -= w_vis * sqrt(1 - alpha_bar_t) * grad``.

Outside the inpainting mask the latents follow the input image's own noising trajectory, so the rest of the image
keeps its content and style. With both weights at 0 the loop *is* plain inpainting.

Discriminator interface (documented for checkpoints from elsewhere): a TorchScript module (``torch.jit.save``)
whose ``forward(latents, timesteps)`` takes the VAE-scaled latents ``(B, 4, H/8, W/8)`` and the timesteps ``(B,)``
and returns realness logits ``(B,)`` (higher = more like a real hand).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from backends.core.errors import Cancelled, InvalidInput
from backends.core.run import RunControl
from backends.tasks.hand_repair.types import HandRepairRequest
from backends.vision import hands as hand_masks

if TYPE_CHECKING:
    import torch


def guided_inpaint(pipe: Any, device: str, crop: Image.Image, tight: np.ndarray, loose: np.ndarray,
                   request: HandRepairRequest, seed: int, steps: int, guidance: float, lora: str | None,
                   discriminator: Any, control: RunControl, label: str) -> tuple[Image.Image, list[np.ndarray]]:
    """The denoising loop shared by ``inpaint`` and ``mghand`` on one square crop.

    Args:
        pipe: a loaded ``StableDiffusionInpaintPipeline``.
        device: where its tensors live (the execution device under CPU offload).
        crop: the square crop at the model's resolution.
        tight: the tight hand mask of the crop (where the cumulative mask starts).
        loose: the padded mask of the crop (where it ends, and what is inpainted).
        request: the repair settings (method, strength, weights, prompts).
        seed: the seed of this crop.
        steps: denoising steps before ``strength`` skips the first ones.
        guidance: classifier-free guidance scale.
        lora: adapter name of the loaded "natural hand" LoRA, or None.
        discriminator: the TorchScript realness discriminator, or None.
        control: progress of this crop, and Stop.
        label: what the progress bar calls the model.

    Returns:
        The repaired crop and the cumulative mask in force at each step that ran (crop coordinates).
    """
    import torch

    generator = torch.Generator("cpu").manual_seed(seed)
    size = crop.height
    # 1. prompts: [negative, prompt] for classifier-free guidance, plus the two text-guidance prompts
    positive, negative = pipe.encode_prompt(request.prompt, device, 1, True, request.negative_prompt or None)
    cfg_embeds = torch.cat([negative, positive])
    use_text = request.method == "mghand" and request.text_guidance > 0
    if use_text:
        hand_embeds, _ = pipe.encode_prompt(request.hand_prompt, device, 1, False)
        natural_embeds, _ = pipe.encode_prompt(request.natural_prompt, device, 1, False)
    # 2. timesteps for the strength, and the noisy start latents (1, 4, H/8, W/8), like the pipeline does
    pipe.scheduler.set_timesteps(steps, device=device)
    timesteps, _ = pipe.get_timesteps(steps, request.strength, device)
    if len(timesteps) < 1:
        raise InvalidInput("strength", f"{request.strength} leaves no denoising step at {steps} steps")
    image_t = pipe.image_processor.preprocess(crop, height=size, width=size).to(dtype=torch.float32)
    latents, noise, image_latents = pipe.prepare_latents(
        1, pipe.vae.config.latent_channels, size, size, positive.dtype, device, generator, image=image_t,
        timestep=timesteps[:1], is_strength_max=request.strength == 1.0, return_noise=True,
        return_image_latents=True)
    # 3. the inpainting condition: mask (2, 1, H/8, W/8) and masked-image latents (2, 4, H/8, W/8)
    mask_condition = pipe.mask_processor.preprocess(Image.fromarray(loose.astype(np.uint8) * 255), height=size,
                                                    width=size)
    mask, masked_latents = pipe.prepare_mask_latents(
        mask_condition, image_t * (mask_condition < 0.5), 1, size, size, positive.dtype, device, generator, True)
    keep = 1.0 - mask[:1]  # where the latents follow the input image's trajectory
    latent_hw = latents.shape[-2:]
    # One mask per step that runs (strength skips the first steps), from the tight hull towards the padded box.
    schedule = hand_masks.cumulative_schedule(tight, loose, len(timesteps), start=0.0, end=request.mask_growth)
    # 4. denoise
    for i, t in enumerate(timesteps):
        if control.stopped:
            raise Cancelled(f"{label} stopped at step {i + 1}/{len(timesteps)}")
        model_in = pipe.scheduler.scale_model_input(torch.cat([latents] * 2), t)
        model_in = torch.cat([model_in, mask, masked_latents], dim=1)
        eps_uncond, eps_cond = pipe.unet(model_in, t, encoder_hidden_states=cfg_embeds).sample.chunk(2)
        eps = eps_uncond + guidance * (eps_cond - eps_uncond)
        if request.method == "mghand" and (use_text or discriminator is not None):
            # the cumulative mask in force at this step, at latent resolution (1, 1, H/8, W/8)
            region = latent_mask(schedule[i], latent_hw, eps)
            if use_text:
                eps = eps + request.text_guidance * region * text_direction(
                    pipe.unet, model_in[1:], t, hand_embeds, natural_embeds, lora)
            if discriminator is not None:
                alpha_bar = pipe.scheduler.alphas_cumprod.to(eps.device)[int(t)]
                gradient = realness_gradient(discriminator, latents, t)
                eps = eps - request.visual_guidance * math.sqrt(1 - float(alpha_bar)) * region * gradient
        latents = pipe.scheduler.step(eps, t, latents).prev_sample
        # outside the inpainting mask, stay on the input's own noising trajectory (exactly the input at the end)
        original = image_latents if i == len(timesteps) - 1 else pipe.scheduler.add_noise(
            image_latents, noise, timesteps[i + 1:i + 2])
        latents = keep * original + (1.0 - keep) * latents
        control.report((i + 1) / len(timesteps), f"{label} ({request.method}): step {i + 1}/{len(timesteps)}")
    # 5. decode (1, 4, H/8, W/8) -> (H, W, 3)
    decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, generator=generator).sample
    return pipe.image_processor.postprocess(decoded, output_type="pil")[0], schedule


def text_direction(unet: Any, model_in: Any, t: Any, hand_embeds: Any, natural_embeds: Any,
                   lora: str | None) -> torch.Tensor:
    """``eps_LoRA("natural hand") - eps_base("hand")``: MGHanD's text guidance direction."""
    base = unet(model_in, t, encoder_hidden_states=hand_embeds).sample
    if lora is not None:
        unet.enable_adapters()
        unet.set_adapters([lora])
    try:
        natural = unet(model_in, t, encoder_hidden_states=natural_embeds).sample
    finally:
        if lora is not None:
            unet.disable_adapters()
    return natural - base


def latent_mask(mask: np.ndarray, hw: tuple[int, int], like: Any) -> torch.Tensor:
    """A pixel mask pooled to latent resolution (any covered pixel counts), shaped (1, 1, h, w)."""
    import torch

    tensor = torch.from_numpy(mask.astype(np.float32))[None, None]
    return torch.nn.functional.adaptive_max_pool2d(tensor, tuple(hw)).to(device=like.device, dtype=like.dtype)


def realness_gradient(discriminator: Any, latents: Any, t: Any) -> torch.Tensor:
    """d realness / d latents for the discriminator (outside inference mode), scaled to unit RMS.

    Discriminators trained elsewhere output logits of any scale, and a mean-pooled score spreads its gradient over
    every latent pixel; normalising the direction makes ``visual_guidance`` mean the same for any checkpoint
    (a step of ``w * sqrt(1 - alpha_bar)`` noise units along it).
    """
    import torch

    with torch.inference_mode(False), torch.enable_grad():
        x = latents.detach().clone().requires_grad_(True)
        timesteps = torch.full((x.shape[0],), int(t), dtype=torch.long, device=x.device)
        score = discriminator(x, timesteps).sum()
        (gradient,) = torch.autograd.grad(score, x)
    gradient = gradient / (gradient.pow(2).mean().sqrt() + 1e-12)
    return gradient.to(latents.dtype)
