"""Hand repair in the MGHanD direction, next to the detect-and-inpaint repair users know from ADetailer.

Two methods on a registry inpainting model, both working on a crop around each detected hand at the model's
resolution and pasted back with a feathered mask (pixels away from the hand are the input's, exactly):

* ``inpaint``: plain inpainting of the hand region (the ADetailer baseline).
* ``mghand``: the same denoising loop plus MGHanD's inference-time guidance (see ``mghand.py``).

The guided loop runs on Stable Diffusion 1.x inpainting UNets (9 input channels); SDXL inpainting and FLUX Fill
repair through their pipelines' own call (``inpaint`` only).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.imaging import load_image
from backends.core.paths import confine
from backends.core.recipe import make_recipe
from backends.core.run import ProgressFn, RunControl
from backends.core.settings import Settings
from backends.core.text import check_prompt
from backends.core.validation import check_number, check_seed, resolve_seed
from backends.models.backend import PretrainedBackend
from backends.models.spec import ModelSpec
from backends.tasks.hand_repair import geometry
from backends.tasks.hand_repair.mghand import guided_inpaint
from backends.tasks.hand_repair.types import METHODS, HandRepairRequest, HandRepairResult
from backends.vision import hands as hand_masks
from backends.vision.detectors import Detectors, Hand

Region = tuple[geometry.Box, np.ndarray, np.ndarray]  # crop box, tight mask, loose mask (image coordinates)
MAX_ADAPTERS = 4  # LoRAs and discriminators kept loaded per pipeline; the least recently used one goes first


class HandRepair(PretrainedBackend):
    """Hand repair on a diffusers inpainting pipeline (see the module docstring).

    Args:
        spec: the registry entry of the inpainting model.
        settings: device, dtype, profile, offload.
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        super().__init__(spec, settings)
        self.detectors: Detectors | None = None
        self._loras: OrderedDict[str, str] = OrderedDict()  # path or repo id -> adapter name, most recent last
        self._discriminators: OrderedDict[str, Any] = OrderedDict()
        self._adapter_count = 0

    # ----------------------------------------------------------------------------------------------------------------
    def load(self, report: ProgressFn | None = None) -> None:
        """Load the inpainting pipeline (the miniature in the tiny profile) and the hand detector."""
        super().load(report)
        self.detectors = Detectors()

    def unload(self) -> None:
        """Drop the pipeline, adapters and detectors."""
        super().unload()
        self._loras.clear()
        self._discriminators.clear()
        if self.detectors is not None:
            self.detectors.close()
        self.detectors = None

    @property
    def supports_mghand(self) -> bool:
        """The custom loop needs a Stable Diffusion 1.x inpainting UNet (9 input channels, no added conditions)."""
        return self.spec.class_name == "StableDiffusionInpaintPipeline"

    def check_inputs(self, request: HandRepairRequest) -> None:
        """Validate every field against the model's rules; names the field, value and rule."""
        if request.method not in METHODS:
            raise InvalidInput("method", f"{request.method!r} is not one of {', '.join(METHODS)}")
        if request.method == "mghand" and not self.supports_mghand:
            raise InvalidInput("method", f"mghand's guided loop runs on SD-1.x inpainting (inpaint/sd15); "
                                         f"{self.spec.key} repairs with method inpaint")
        check_seed(request.seed)
        if request.steps is not None:
            check_number(request.steps, "steps", minimum=1, maximum=self.spec.generation.max_steps, integer=True)
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
        if request.lora:
            self._lora_source(request.lora)
        if request.discriminator:
            confine(request.discriminator, self.settings.model_roots, "discriminator", "STUDIO_MODEL_ROOTS", "file")
        if request.resolution is not None:
            side = check_number(request.resolution, "resolution", integer=True)
            self.spec.size.check(side, side, self.spec.key)

    # ----------------------------------------------------------------------------------------------------------------
    def __call__(self, request: HandRepairRequest, control: RunControl | None = None) -> HandRepairResult:
        """Repair every hand of the image (or the user's mask) and return the result with its recipe.

        Raises:
            InvalidInput: a bad field, a mask of the wrong size, or no hand found (the message says so).
            Cancelled: Stop was pressed.
        """
        control = control or RunControl()
        defaults = self.spec.generation
        # 1. validate
        self.check_inputs(request)
        image = load_image(request.image)
        seed = resolve_seed(request.seed)
        steps = int(request.steps or defaults.steps)
        guidance = float(request.guidance if request.guidance is not None else defaults.guidance)
        resolution = int(request.resolution or self.spec.size.default)

        # 2. regions: detected hands (tight hull + padded box), or the user's mask
        found = self.detectors.hands(image)
        regions = self._regions(image, found, request)
        lora = self._adapter(request.lora) if request.method == "mghand" and request.text_guidance else None
        discriminator = self._discriminator(request.discriminator) if request.visual_guidance else None

        # 3. repair each region on a crop at the model's resolution, then paste back with a feathered mask
        started = time.perf_counter()
        result = image.copy()
        schedules = []
        for index, (box, tight, loose) in enumerate(regions):
            control.raise_if_stopped()
            part = control.part(index, len(regions))
            crop = result.crop(box).resize((resolution, resolution), Image.Resampling.LANCZOS)
            tight_c, loose_c = (geometry.crop_mask(m, box, resolution) for m in (tight, loose))
            with self.computing():
                if self.supports_mghand:
                    repaired, schedule = guided_inpaint(self.model, self.device, crop, tight_c, loose_c, request,
                                                        seed + index, steps, guidance, lora, discriminator, part,
                                                        self.spec.name)
                else:
                    repaired = self._pipeline_inpaint(crop, loose_c, request, seed + index, steps, guidance, part)
                    schedule = [loose_c]
            result = geometry.paste(result, repaired, box, loose, request.feather * max(image.size))
            schedules.append(schedule)
        run_seconds = time.perf_counter() - started

        # 4. the hands before and after (MediaPipe's confidence is MGHanD's measure of a good hand)
        before = hand_masks.hand_report(found, image.size)
        after = hand_masks.hand_report(self.detectors.hands(result), result.size)

        # 5. recipe
        recipe = make_recipe(
            self.provenance(), seed=seed, width=image.width, height=image.height, prompt=request.prompt,
            negative_prompt=request.negative_prompt, steps=steps, guidance=guidance, guidance_param="guidance_scale",
            scheduler=type(self.model.scheduler).__name__, load_seconds=self.take_load_seconds(),
            run_seconds=run_seconds,
            extra={"task": "hand_repair", "method": request.method, "strength": request.strength,
                   "text_guidance": request.text_guidance if request.method == "mghand" else 0.0,
                   "visual_guidance": request.visual_guidance if request.method == "mghand" else 0.0,
                   "mask_growth": request.mask_growth, "padding": request.padding, "dilation": request.dilation,
                   "feather": request.feather, "resolution": resolution,
                   "hand_prompt": request.hand_prompt, "natural_prompt": request.natural_prompt,
                   "lora": request.lora, "discriminator": request.discriminator,
                   "regions": [list(b) for b, _, _ in regions], "user_mask": request.mask is not None},
        )
        return HandRepairResult(result, recipe, schedules[0] if schedules else [], [b for b, _, _ in regions], before,
                                after)

    # ----------------------------------------------------------------------------------------------------------------
    def _regions(self, image: Image.Image, found: list[Hand], request: HandRepairRequest) -> list[Region]:
        """(crop box, tight mask, loose mask) per region, in image coordinates."""
        size = image.size
        if request.mask is not None:
            # The user's mask is the tight region; the cumulative mask grows towards its padded bounding box.
            mask = hand_masks.check_mask(request.mask, size, field="mask")
            ys, xs = np.nonzero(mask)
            box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
            px0, py0, px1, py1 = geometry.pad_box(box, request.padding, size)
            loose = mask.copy()
            loose[py0:py1, px0:px1] = True
            return [(geometry.square_box(box, request.padding, size), mask, loose)]
        if not found:
            raise InvalidInput("image", "No hand found: nothing to repair. Draw a mask over the hand to repair it "
                                        "anyway, or try a larger image of the hand.")
        regions = []
        for hand in found:
            tight = hand_masks.tight_mask(hand, size, dilation_px=round(request.dilation * max(size)))
            loose = hand_masks.loose_mask(hand, size, padding=request.padding) | tight
            regions.append((geometry.square_box(hand.box, request.padding, size), tight, loose))
        return regions

    def _lora_source(self, lora: str) -> str:
        """Where a LoRA may come from: a Hugging Face repo id on ``STUDIO_LORA_ALLOWLIST``, or a file or folder under
        ``STUDIO_MODEL_ROOTS`` (never an arbitrary path: LoRA files can be pickles, and loading runs them)."""
        if lora in self.settings.lora_allowlist:
            return lora
        if not self.settings.model_roots:
            allowed = ", ".join(self.settings.lora_allowlist) or "none"
            raise InvalidInput("lora", f"{lora!r} is not an allowed LoRA (allowed hub ids: {allowed}; local files "
                                       "need STUDIO_MODEL_ROOTS)")
        try:
            return str(confine(lora, self.settings.model_roots, "lora", "STUDIO_MODEL_ROOTS", "file"))
        except InvalidInput:
            return str(confine(lora, self.settings.model_roots, "lora", "STUDIO_MODEL_ROOTS", "folder"))

    def _adapter(self, lora: str | None) -> str | None:
        """Load a "natural hand" LoRA once into the UNet (disabled except for the guidance prediction); at most
        ``MAX_ADAPTERS`` stay loaded."""
        if not lora:
            return None
        source = self._lora_source(lora)
        if source in self._loras:
            self._loras.move_to_end(source)
        else:
            self._adapter_count += 1
            name = f"natural_hand_{self._adapter_count}"
            try:
                self.model.load_lora_weights(source, adapter_name=name)
            except (OSError, ValueError) as exc:
                raise InvalidInput("lora", f"could not load LoRA {lora!r}: {exc}") from exc
            self._loras[source] = name
            if len(self._loras) > MAX_ADAPTERS:
                _, oldest = self._loras.popitem(last=False)
                self.model.delete_adapters(oldest)
        # Off everywhere (prompt encoding, the main prediction); switched on only for the "natural hand" prediction.
        self.model.disable_lora()
        return self._loras[source]

    def _discriminator(self, path: str | None) -> Any:
        """The TorchScript discriminator at ``path`` (under ``STUDIO_MODEL_ROOTS`` only: TorchScript runs code)."""
        import torch

        if not path:
            return None
        file = str(confine(path, self.settings.model_roots, "discriminator", "STUDIO_MODEL_ROOTS", "file"))
        if file in self._discriminators:
            self._discriminators.move_to_end(file)
        else:
            try:
                module = torch.jit.load(file, map_location=self.device)
            except (RuntimeError, ValueError) as exc:
                raise InvalidInput("discriminator", f"{path!r} is not a TorchScript discriminator: {exc}") from exc
            self._discriminators[file] = module.eval()
            if len(self._discriminators) > MAX_ADAPTERS:
                self._discriminators.popitem(last=False)
        return self._discriminators[file]

    def _pipeline_inpaint(self, crop: Image.Image, loose: np.ndarray, request: HandRepairRequest, seed: int,
                          steps: int, guidance: float, control: RunControl) -> Image.Image:
        """Plain inpainting through the pipeline's own call (SDXL inpainting, FLUX Fill)."""
        import torch

        kwargs = {"prompt": request.prompt, "image": crop, "mask_image": Image.fromarray(loose.astype(np.uint8) * 255),
                  "height": crop.height, "width": crop.width, "num_inference_steps": steps, "guidance_scale": guidance,
                  "generator": torch.Generator("cpu").manual_seed(seed),
                  "callback_on_step_end": control.step_callback(self.spec.name, steps)}
        if self.spec.class_name != "FluxFillPipeline":
            kwargs.update(strength=request.strength, negative_prompt=request.negative_prompt or None)
        return self.model(**kwargs).images[0]
