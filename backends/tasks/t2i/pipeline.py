"""Bilingual text-to-image on any diffusers pipeline of the registry (Kolors, Hunyuan-DiT, CogView4, Qwen-Image,
HunyuanImage-2.1, Taiyi-SD, FLUX.1-schnell, SDXL), in the Seedream 2.0 direction.

One backend class serves every model: what differs between them (pipeline class, dtype, defaults and how guidance
is passed) lives in the model's ``ModelSpec``. Read ``__call__`` top to bottom: validate, resolve parameters, seed,
denoise, write the recipe.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import GenerationFailed, InvalidInput
from backends.core.recipe import make_recipe
from backends.core.run import RunControl
from backends.core.validation import resolve_seed
from backends.models.backend import PretrainedBackend
from backends.tasks.t2i.types import T2IRequest, T2IResult, check_t2i_request


class DiffusersTextToImage(PretrainedBackend):
    """Text-to-image through a diffusers pipeline loaded with ``from_pretrained`` (see ``PretrainedBackend``)."""

    def check_inputs(self, request: T2IRequest) -> None:
        """Validate ``request`` for this model (see ``check_t2i_request``)."""
        check_t2i_request(self.spec, request)

    def __call__(self, request: T2IRequest, control: RunControl | None = None) -> T2IResult:
        """Generate one image for ``request`` and return it with its recipe.

        Raises:
            InvalidInput: the request breaks one of the model's rules.
            Cancelled: Stop was pressed; raised at the next step boundary.
            GenerationFailed: the model produced NaN pixels.
        """
        import torch

        pipe, spec, defaults = self.model, self.spec, self.spec.generation
        control = control or RunControl()
        # 1. validate
        self.check_inputs(request)
        control.raise_if_stopped()

        # 2. resolve parameters: the model card's defaults unless the request overrides them
        steps = int(request.steps if request.steps is not None else defaults.steps)
        guidance = float(request.guidance) if request.guidance is not None else defaults.guidance
        if defaults.guidance_param is None:
            guidance = defaults.guidance  # not adjustable (FLUX.1-schnell is guidance-distilled)
        seed = resolve_seed(request.seed)
        kwargs = self._call_arguments(request, steps, guidance)

        # 3. seed: a CPU generator gives the same initial noise on every device
        kwargs["generator"] = torch.Generator("cpu").manual_seed(seed)
        kwargs["callback_on_step_end"] = control.step_callback(spec.name, steps)

        # 4. denoise: latents (1, C, H/f, W/f) -> pixels (H, W, 3) in [0, 1]
        started = time.perf_counter()
        guiders = self._swap_guiders(guidance)
        try:
            with self.computing():
                pixels = pipe(**kwargs).images[0]
        finally:
            for name, guider in guiders.items():
                setattr(pipe, name, guider)
        run_seconds = time.perf_counter() - started
        # An overflow (fp16 where the model needs bf16, a scheduler at too few steps) gives NaN pixels, which
        # would otherwise be cast silently into a black image.
        if not np.isfinite(pixels).all():
            raise GenerationFailed(
                f"{spec.name} produced invalid (NaN) pixels at {steps} steps in {self.loaded.dtype}; try more steps "
                f"or another dtype (STUDIO_DTYPE)"
            )
        image = Image.fromarray((np.clip(pixels, 0.0, 1.0) * 255).round().astype(np.uint8))

        # 5. recipe
        recipe = make_recipe(
            self.provenance(), seed=seed, width=request.width, height=request.height, prompt=request.prompt,
            negative_prompt=request.negative_prompt, steps=steps, guidance=guidance,
            guidance_param=defaults.guidance_param, scheduler=type(pipe.scheduler).__name__,
            load_seconds=self.take_load_seconds(), run_seconds=run_seconds, extra=dict(defaults.call_kwargs),
        )
        return T2IResult(image=image, recipe=recipe)

    def _call_arguments(self, request: T2IRequest, steps: int, guidance: float | None) -> dict[str, Any]:
        """The pipeline call's keyword arguments, with each model's way of taking guidance."""
        defaults = self.spec.generation
        kwargs: dict[str, Any] = {
            "prompt": request.prompt.strip(),
            "height": int(request.height),
            "width": int(request.width),
            "num_inference_steps": steps,
            "output_type": "np",
            **defaults.call_kwargs,
        }
        negative = request.negative_prompt.strip()
        if defaults.supports_negative and negative:
            kwargs["negative_prompt"] = negative
        if defaults.guidance_param in ("guidance_scale", "distilled_guidance_scale"):
            kwargs[defaults.guidance_param] = guidance
        elif defaults.guidance_param == "true_cfg_scale":
            # Qwen-Image applies CFG only when a negative prompt is passed; " " is the model card's empty one.
            kwargs["true_cfg_scale"] = guidance
            kwargs["negative_prompt"] = negative or " "
        elif defaults.guidance_param is not None and defaults.guidance_param != "guider":
            raise InvalidInput("guidance", f"{self.spec.key} takes guidance through unknown "
                                           f"{defaults.guidance_param!r}")
        return kwargs

    def _swap_guiders(self, guidance: float | None) -> dict[str, Any]:
        """For guider-based pipelines (HunyuanImage-2.1) install guiders with the requested scale.

        Returns the original guiders so the caller can put them back: the loaded pipeline is shared between
        requests and must not keep one request's setting.
        """
        if self.spec.generation.guidance_param != "guider" or guidance is None:
            return {}
        originals = {}
        for name in ("guider", "ocr_guider"):
            guider = getattr(self.model, name, None)
            if guider is not None:
                originals[name] = guider
                setattr(self.model, name, guider.new(guidance_scale=guidance))
        return originals
