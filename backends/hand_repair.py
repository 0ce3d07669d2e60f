"""Hand repair in the MGHanD direction (KAIST, 2025: multi-modal guidance for authentic hand diffusion), next to
the detect-and-inpaint repair users know from ADetailer.

Two methods on a registry inpainting model, both working on a crop around each detected hand at the model's
resolution and pasted back with a feathered mask (pixels away from the hand are the input's, exactly):

* ``inpaint``: plain inpainting of the hand region (the ADetailer baseline).
* ``mghand``: the same denoising loop plus MGHanD's inference-time guidance, confined to a *cumulative* hand mask
  that grows step by step from the tight landmark hull to the padded box:
  - text guidance: ``w_text * (eps_LoRA("natural hand") - eps_base("hand"))`` (the LoRA is any diffusers-format
    LoRA; without one, the base model's difference between the two prompts is used);
  - visual guidance: the gradient of a discriminator's realness score with respect to the latents, applied as
    classifier guidance ``eps -= w_vis * sqrt(1 - alpha_bar_t) * grad``.
  Outside the inpainting mask the latents follow the input image's own noising trajectory, so the rest of the
  image keeps its content and style. With both weights at 0 the loop *is* plain inpainting.

The custom loop runs on Stable Diffusion 1.x inpainting UNets (9 input channels) and reuses the pipeline's own
preparation helpers (prompt encoding, latents, mask latents), so it stays faithful to diffusers; SDXL inpainting
and FLUX Fill repair through their pipelines' own call (``inpaint`` only).

Discriminator interface (documented for checkpoints from elsewhere): a TorchScript module (``torch.jit.save``)
whose ``forward(latents, timesteps)`` takes the VAE-scaled latents ``(B, 4, H/8, W/8)`` and the timesteps ``(B,)``
and returns realness logits ``(B,)`` (higher = more like a real hand).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from backends import hands as hand_masks
from backends import tiny, weights
from backends.base import (
    Cancelled,
    InvalidInput,
    ProgressFn,
    Recipe,
    RunControl,
    check_number,
    resolve_seed,
)
from backends.detectors import Detectors, Hand
from backends.imaging import load_image
from backends.registry import ModelSpec
from backends.settings import Settings, resolve_device, resolve_dtype
from backends.text import check_prompt, detect_language

if TYPE_CHECKING:
    import torch

METHODS = ("inpaint", "mghand")
DEFAULT_PROMPT = "a natural human hand, five fingers, detailed skin, anatomically correct"
DEFAULT_NEGATIVE = "deformed hand, extra fingers, missing fingers, fused fingers, blurry"


@dataclass
class HandDetectRequest:
    """Detect hands in an image."""

    image: Any
    max_hands: int = 4
    min_confidence: float = 0.3


@dataclass
class HandDetectResult:
    """The hand report (JSON-ready), an overlay, and the hands."""

    report: dict[str, Any]
    overlay: Image.Image
    hands: list[Hand]


@dataclass
class HandRepairRequest:
    """Repair the hands of one image.

    Attributes:
        image: the image (any mode and size; validated).
        method: ``inpaint`` or ``mghand``.
        seed: seed (None: random; hand ``i`` uses seed + i).
        steps: denoising steps (None: the model's default).
        strength: denoising strength in (0, 1].
        guidance: classifier-free guidance (None: the model's default).
        text_guidance: MGHanD text-guidance weight (0 disables it).
        visual_guidance: MGHanD visual-guidance weight (needs ``discriminator``; 0 disables it).
        mask_growth: how far the cumulative mask grows from the tight hull (0) to the padded box (1) by the last step.
        padding: crop and loose-mask padding, as a fraction of the hand box.
        dilation: growth of the tight landmark hull, as a fraction of the image's long side.
        feather: width of the soft edge the repair is pasted back with, as a fraction of the long side.
        prompt: what the repaired region should show.
        negative_prompt: what to avoid.
        hand_prompt: the base prompt of the text guidance ("hand").
        natural_prompt: the LoRA prompt of the text guidance ("natural hand").
        lora: diffusers-format LoRA (folder or repo id) for the text guidance.
        discriminator: TorchScript checkpoint for the visual guidance.
        mask: a user-edited mask (same size as the image) replacing the detected hands.
        resolution: side of the square crop the model works at (None: the model's default size).
        control: progress and Stop.
    """

    image: Any
    method: str = "mghand"
    seed: int | None = None
    steps: int | None = None
    strength: float = 0.75
    guidance: float | None = None
    text_guidance: float = 1.5
    visual_guidance: float = 0.0
    mask_growth: float = 1.0
    padding: float = 0.3
    dilation: float = 0.02
    feather: float = 0.02
    prompt: str = DEFAULT_PROMPT
    negative_prompt: str = DEFAULT_NEGATIVE
    hand_prompt: str = "hand"
    natural_prompt: str = "natural hand"
    lora: str | None = None
    discriminator: str | None = None
    mask: Any = None
    resolution: int | None = None
    control: RunControl = field(default_factory=RunControl, compare=False, repr=False)


@dataclass
class HandRepairResult:
    """The repaired image, its recipe, the masks in force per step, and the regions repaired."""

    image: Image.Image
    recipe: Recipe
    schedule: list[np.ndarray]
    regions: list[tuple[int, int, int, int]]


class HandDetector:
    """Hand detection and report (MediaPipe Hands, bundled with mediapipe; CPU).

    Args:
        spec: the registry entry.
        settings: studio settings (unused: mediapipe runs on the CPU).
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.detectors: Detectors | None = None

    def load(self, progress: ProgressFn | None = None) -> None:
        """Create the (lazy) detectors."""
        self.detectors = Detectors()

    def check_inputs(self, request: HandDetectRequest) -> None:
        """Validate the limits (the image is validated when read)."""
        check_number(request.max_hands, "max_hands", minimum=1, maximum=20, integer=True)
        check_number(request.min_confidence, "min_confidence", minimum=0, maximum=1)

    def __call__(self, request: HandDetectRequest) -> HandDetectResult:
        """Detect hands and report them."""
        # 1. validate
        self.check_inputs(request)
        image = load_image(request.image)
        # 2. detect: MediaPipe landmarks and handedness scores
        found = self.detectors.hands(image, max_hands=int(request.max_hands),
                                     min_confidence=float(request.min_confidence))
        # 3. report and overlay
        return HandDetectResult(hand_masks.hand_report(found, image.size), hand_masks.overlay(image, found), found)

    def unload(self) -> None:
        """Close the mediapipe graphs."""
        if self.detectors is not None:
            self.detectors.close()
        self.detectors = None

    def memory_bytes(self) -> int:
        """The bundled models are a few MB, in host memory."""
        return 0 if self.detectors is None else 20 * 1024**2


class HandRepair:
    """Hand repair on a diffusers inpainting pipeline (see the module docstring).

    Args:
        spec: the registry entry of the inpainting model.
        settings: device, dtype, profile.
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.pipe: Any = None
        self.detectors: Detectors | None = None
        self.device = "cpu"
        self.dtype_name = "float32"
        self.revision = spec.revision
        self._loras: dict[str, str] = {}
        self._discriminators: dict[str, Any] = {}

    # ----------------------------------------------------------------------------------------------------------------
    def load(self, progress: ProgressFn | None = None) -> None:
        """Load the inpainting pipeline (the miniature in the tiny profile) and the hand detector."""
        import diffusers

        source, kwargs = weights.pretrained_source(self.spec, self.settings, progress)
        self.device = resolve_device(self.settings)
        dtype = resolve_dtype(self.settings, self.spec, self.device)
        self.dtype_name = str(dtype).removeprefix("torch.")
        try:
            pipe = getattr(diffusers, self.spec.pipeline_class).from_pretrained(source, dtype=dtype, **kwargs)
        except OSError as exc:
            raise weights.missing_weights(self.spec, self.settings, exc) from exc
        pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe
        self.detectors = Detectors()
        self.revision = weights.loaded_revision(self.spec, self.settings)

    def unload(self) -> None:
        """Drop the pipeline, adapters and detectors."""
        self.pipe = None
        self._loras.clear()
        self._discriminators.clear()
        if self.detectors is not None:
            self.detectors.close()
        self.detectors = None

    def memory_bytes(self) -> int:
        """Bytes of the pipeline's weights."""
        return weights.pipeline_bytes(self.pipe)

    @property
    def supports_mghand(self) -> bool:
        """The custom loop needs a Stable Diffusion 1.x inpainting UNet (9 input channels, no added conditions)."""
        return self.spec.pipeline_class == "StableDiffusionInpaintPipeline"

    def check_inputs(self, request: HandRepairRequest) -> None:
        """Validate every field against the model's rules; names the field, value and rule."""
        if request.method not in METHODS:
            raise InvalidInput("method", f"{request.method!r} is not one of {', '.join(METHODS)}")
        if request.method == "mghand" and not self.supports_mghand:
            raise InvalidInput("method", f"mghand's guided loop runs on SD-1.x inpainting (inpaint/sd15); "
                                         f"{self.spec.key} repairs with method inpaint")
        if request.seed is not None:
            check_number(request.seed, "seed", minimum=0, maximum=2**31 - 1, integer=True)
        if request.steps is not None:
            check_number(request.steps, "steps", minimum=1, maximum=self.spec.max_steps, integer=True)
        check_number(request.strength, "strength", minimum=0.05, maximum=1.0)
        if request.guidance is not None:
            check_number(request.guidance, "guidance", minimum=0, maximum=30)
        check_number(request.text_guidance, "text_guidance", minimum=0, maximum=20)
        check_number(request.visual_guidance, "visual_guidance", minimum=0, maximum=50)
        check_number(request.mask_growth, "mask_growth", minimum=0, maximum=1)
        check_number(request.padding, "padding", minimum=0, maximum=2)
        check_number(request.dilation, "dilation", minimum=0, maximum=0.2)
        check_number(request.feather, "feather", minimum=0, maximum=0.2)
        for name in ("prompt", "hand_prompt", "natural_prompt"):
            check_prompt(getattr(request, name), name)
        check_prompt(request.negative_prompt, "negative_prompt", required=False)
        if request.visual_guidance and not request.discriminator:
            raise InvalidInput("visual_guidance", "needs a discriminator checkpoint (discriminator=...)")
        if request.resolution is not None:
            side = check_number(request.resolution, "resolution", integer=True)
            self.spec.size.check(side, side, self.spec.key)

    # ----------------------------------------------------------------------------------------------------------------
    def __call__(self, request: HandRepairRequest) -> HandRepairResult:
        """Repair every hand of the image (or the user's mask) and return the result with its recipe.

        Raises:
            InvalidInput: a bad field, a mask of the wrong size, or no hand found (the message says so).
            Cancelled: Stop was pressed.
        """
        import torch

        # 1. validate
        self.check_inputs(request)
        image = load_image(request.image)
        control = request.control
        seed = resolve_seed(request.seed)
        steps = int(request.steps or self.spec.steps)
        guidance = float(request.guidance if request.guidance is not None else self.spec.guidance)
        resolution = int(request.resolution or self.spec.size.default)

        # 2. regions: detected hands (tight hull + padded box), or the user's mask
        regions = self._regions(image, request)
        lora = self._adapter(request.lora) if request.method == "mghand" and request.text_guidance else None
        discriminator = self._discriminator(request.discriminator) if request.visual_guidance else None

        # 3. repair each region on a crop at the model's resolution, then paste back with a feathered mask
        started = time.perf_counter()
        result = image.copy()
        schedules = []
        share = 1.0 / len(regions)
        for index, (box, tight, loose) in enumerate(regions):
            control.raise_if_stopped()

            def report(fraction: float, description: str, index: int = index) -> None:
                control.report((index + fraction) * share, description)

            crop = result.crop(box).resize((resolution, resolution), Image.Resampling.LANCZOS)
            tight_c, loose_c = (_crop_mask(m, box, resolution) for m in (tight, loose))
            with torch.inference_mode(), tiny.flushed_denormals(self.settings.profile == "tiny"):
                if self.supports_mghand:
                    repaired, schedule = self._guided_inpaint(crop, tight_c, loose_c, request, seed + index, steps,
                                                              guidance, lora, discriminator, report)
                else:
                    repaired = self._pipeline_inpaint(crop, loose_c, request, seed + index, steps, guidance, report)
                    schedule = [loose_c]
            result = _paste(result, repaired, box, loose, request.feather * max(image.size))
            schedules.append(schedule)
        run_seconds = time.perf_counter() - started

        # 4. recipe
        recipe = Recipe(
            model=self.spec.key, name=self.spec.name,
            repo_id=self.spec.repo_id if self.settings.profile == "real" else f"miniature of {self.spec.repo_id}",
            revision=self.revision, profile=self.settings.profile, pipeline=self.spec.pipeline_class or "",
            scheduler=type(self.pipe.scheduler).__name__, seed=seed, steps=steps, guidance=guidance,
            guidance_param="guidance_scale", width=image.width, height=image.height, prompt=request.prompt,
            negative_prompt=request.negative_prompt, language=detect_language(request.prompt), quoted_text=[],
            device=self.device, dtype=self.dtype_name, run_seconds=round(run_seconds, 3),
            extra={"task": "hand_repair", "method": request.method, "strength": request.strength,
                   "text_guidance": request.text_guidance if request.method == "mghand" else 0.0,
                   "visual_guidance": request.visual_guidance if request.method == "mghand" else 0.0,
                   "mask_growth": request.mask_growth, "padding": request.padding, "dilation": request.dilation,
                   "feather": request.feather, "resolution": resolution,
                   "hand_prompt": request.hand_prompt, "natural_prompt": request.natural_prompt,
                   "lora": request.lora, "discriminator": request.discriminator,
                   "regions": [list(b) for b, _, _ in regions], "user_mask": request.mask is not None},
        )
        return HandRepairResult(result, recipe, schedules[0] if schedules else [], [b for b, _, _ in regions])

    # ----------------------------------------------------------------------------------------------------------------
    def _regions(self, image: Image.Image, request: HandRepairRequest) -> list[tuple[tuple, np.ndarray, np.ndarray]]:
        """(crop box, tight mask, loose mask) per region, in image coordinates."""
        size = image.size
        if request.mask is not None:
            # The user's mask is the tight region; the cumulative mask grows towards its padded bounding box.
            mask = hand_masks.check_mask(request.mask, size, field="mask")
            ys, xs = np.nonzero(mask)
            box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
            px0, py0, px1, py1 = _pad_box(box, request.padding, size)
            loose = mask.copy()
            loose[py0:py1, px0:px1] = True
            return [(_square_box(box, request.padding, size), mask, loose)]
        found = self.detectors.hands(image)
        if not found:
            raise InvalidInput("image", "No hand found: nothing to repair. Draw a mask over the hand to repair it "
                                        "anyway, or try a larger image of the hand.")
        regions = []
        for hand in found:
            tight = hand_masks.tight_mask(hand, size, dilation_px=round(request.dilation * max(size)))
            loose = hand_masks.loose_mask(hand, size, padding=request.padding) | tight
            regions.append((_square_box(hand.box, request.padding, size), tight, loose))
        return regions

    def _adapter(self, lora: str | None) -> str | None:
        """Load a "natural hand" LoRA once per path into the UNet (disabled except for the guidance prediction)."""
        if not lora:
            return None
        if lora not in self._loras:
            name = f"natural_hand_{len(self._loras)}"
            try:
                self.pipe.load_lora_weights(lora, adapter_name=name)
            except (OSError, ValueError) as exc:
                raise InvalidInput("lora", f"could not load LoRA {lora!r}: {exc}") from exc
            self._loras[lora] = name
        # Off everywhere (prompt encoding, the main prediction); switched on only for the "natural hand" prediction.
        self.pipe.disable_lora()
        return self._loras[lora]

    def _discriminator(self, path: str | None) -> Any:
        import torch

        if not path:
            return None
        if path not in self._discriminators:
            if not Path(path).is_file():
                raise InvalidInput("discriminator", f"checkpoint {path!r} does not exist")
            try:
                module = torch.jit.load(path, map_location=self.device)
            except (RuntimeError, ValueError) as exc:
                raise InvalidInput("discriminator", f"{path!r} is not a TorchScript discriminator: {exc}") from exc
            self._discriminators[path] = module.eval()
        return self._discriminators[path]

    def _pipeline_inpaint(self, crop: Image.Image, loose: np.ndarray, request: HandRepairRequest, seed: int,
                          steps: int, guidance: float, report: Any) -> Image.Image:
        """Plain inpainting through the pipeline's own call (SDXL inpainting, FLUX Fill)."""
        import torch

        def on_step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            total = getattr(pipe, "_num_timesteps", None) or steps
            if request.control.stop.is_set():
                raise Cancelled(f"{self.spec.name} stopped at step {step + 1}/{total}")
            report((step + 1) / total, f"{self.spec.name}: step {step + 1}/{total}")
            return tensors

        kwargs = {"prompt": request.prompt, "image": crop, "mask_image": Image.fromarray(loose.astype(np.uint8) * 255),
                  "height": crop.height, "width": crop.width, "num_inference_steps": steps, "guidance_scale": guidance,
                  "generator": torch.Generator("cpu").manual_seed(seed), "callback_on_step_end": on_step_end}
        if self.spec.pipeline_class != "FluxFillPipeline":
            kwargs.update(strength=request.strength, negative_prompt=request.negative_prompt or None)
        return self.pipe(**kwargs).images[0]

    def _guided_inpaint(self, crop: Image.Image, tight: np.ndarray, loose: np.ndarray, request: HandRepairRequest,
                        seed: int, steps: int, guidance: float, lora: str | None, discriminator: Any,
                        report: Any) -> tuple[Image.Image, list[np.ndarray]]:
        """The denoising loop shared by ``inpaint`` and ``mghand`` (SD-1.x inpainting UNet).

        Returns:
            The repaired crop and the cumulative mask in force at each step that ran (crop coordinates).
        """
        import torch

        pipe, device = self.pipe, self.device
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
            if request.control.stop.is_set():
                raise Cancelled(f"{self.spec.name} stopped at step {i + 1}/{len(timesteps)}")
            model_in = pipe.scheduler.scale_model_input(torch.cat([latents] * 2), t)
            model_in = torch.cat([model_in, mask, masked_latents], dim=1)
            eps_uncond, eps_cond = pipe.unet(model_in, t, encoder_hidden_states=cfg_embeds).sample.chunk(2)
            eps = eps_uncond + guidance * (eps_cond - eps_uncond)
            if request.method == "mghand" and (use_text or discriminator is not None):
                # the cumulative mask in force at this step, at latent resolution (1, 1, H/8, W/8)
                region = _latent_mask(schedule[i], latent_hw, eps)
                if use_text:
                    eps = eps + request.text_guidance * region * self._text_direction(
                        model_in[1:], t, hand_embeds, natural_embeds, lora)
                if discriminator is not None:
                    alpha_bar = pipe.scheduler.alphas_cumprod.to(eps.device)[int(t)]
                    gradient = _realness_gradient(discriminator, latents, t)
                    eps = eps - request.visual_guidance * math.sqrt(1 - float(alpha_bar)) * region * gradient
            latents = pipe.scheduler.step(eps, t, latents).prev_sample
            # outside the inpainting mask, stay on the input's own noising trajectory (exactly the input at the end)
            original = image_latents if i == len(timesteps) - 1 else pipe.scheduler.add_noise(
                image_latents, noise, timesteps[i + 1:i + 2])
            latents = keep * original + (1.0 - keep) * latents
            report((i + 1) / len(timesteps), f"{self.spec.name} ({request.method}): step {i + 1}/{len(timesteps)}")
        # 5. decode (1, 4, H/8, W/8) -> (H, W, 3)
        decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, generator=generator).sample
        return pipe.image_processor.postprocess(decoded, output_type="pil")[0], schedule

    def _text_direction(self, model_in: Any, t: Any, hand_embeds: Any, natural_embeds: Any,
                        lora: str | None) -> torch.Tensor:
        """``eps_LoRA("natural hand") - eps_base("hand")``: MGHanD's text guidance direction."""
        unet = self.pipe.unet
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


# --------------------------------------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------------------------------------
def _pad_box(box: tuple[int, int, int, int], padding: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    pad_x, pad_y = (x1 - x0) * padding, (y1 - y0) * padding
    return (max(0, math.floor(x0 - pad_x)), max(0, math.floor(y0 - pad_y)), min(size[0], math.ceil(x1 + pad_x)),
            min(size[1], math.ceil(y1 + pad_y)))


def _square_box(box: tuple[int, int, int, int], padding: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A square crop around the padded box, shifted (not shrunk) to stay inside the image when it can."""
    x0, y0, x1, y1 = _pad_box(box, padding, size)
    side = min(max(x1 - x0, y1 - y0, 32), size[0], size[1])
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(min(max(0, round(cx - side / 2)), size[0] - side))
    top = int(min(max(0, round(cy - side / 2)), size[1] - side))
    return left, top, left + side, top + side


def _crop_mask(mask: np.ndarray, box: tuple[int, int, int, int], resolution: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    region = Image.fromarray(mask[y0:y1, x0:x1].astype(np.uint8) * 255)
    return np.asarray(region.resize((resolution, resolution), Image.Resampling.NEAREST)) > 127


def _paste(image: Image.Image, repaired: Image.Image, box: tuple[int, int, int, int], loose: np.ndarray,
           feather_px: float) -> Image.Image:
    """Blend the repaired crop back under a feathered loose mask; outside it the input's pixels stay exact."""
    x0, y0, x1, y1 = box
    patch = np.asarray(repaired.resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS), dtype=np.float32)
    alpha = (hand_masks.feather(loose, feather_px) if feather_px >= 0.5 else loose.astype(np.float32))
    alpha = alpha[y0:y1, x0:x1, None]
    out = np.asarray(image, dtype=np.float32).copy()
    out[y0:y1, x0:x1] = alpha * patch + (1 - alpha) * out[y0:y1, x0:x1]
    return Image.fromarray(np.clip(out, 0, 255).round().astype(np.uint8))


def _latent_mask(mask: np.ndarray, hw: tuple[int, int], like: Any) -> torch.Tensor:
    """A pixel mask pooled to latent resolution (any covered pixel counts), shaped (1, 1, h, w)."""
    import torch

    tensor = torch.from_numpy(mask.astype(np.float32))[None, None]
    return torch.nn.functional.adaptive_max_pool2d(tensor, tuple(hw)).to(device=like.device, dtype=like.dtype)


def _realness_gradient(discriminator: Any, latents: Any, t: Any) -> torch.Tensor:
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

