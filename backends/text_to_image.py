"""Bilingual text-to-image on any diffusers pipeline of the registry (Kolors, Hunyuan-DiT, CogView4, Qwen-Image,
HunyuanImage-2.1, Taiyi-SD, FLUX.1-schnell, SDXL), in the Seedream 2.0 direction.

One backend class serves every model: what differs between them (pipeline class, dtype, defaults and how guidance
is passed) lives in the model's ``ModelSpec``. Read ``__call__`` top to bottom: validate, resolve parameters, seed,
denoise, write the recipe.
"""

from __future__ import annotations

import time
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from backends import tiny, weights
from backends.base import (
    Cancelled,
    GenerationFailed,
    InvalidInput,
    ProgressFn,
    Recipe,
    T2IRequest,
    T2IResult,
    resolve_seed,
)
from backends.registry import ModelSpec
from backends.settings import Settings, resolve_device, resolve_dtype
from backends.text import check_t2i_request, detect_language, extract_quoted

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the pixels, for the recipe."""
    versions = {}
    for name in ("torch", "diffusers", "transformers"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


class DiffusersTextToImage:
    """Text-to-image through a diffusers pipeline loaded with ``from_pretrained``.

    Args:
        spec: the registry entry (pipeline class, repo, defaults, quirks).
        settings: device, dtype, profile and offload policy.
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.pipe: DiffusionPipeline | None = None
        self.device = "cpu"
        self.dtype_name = "float32"
        self.revision = spec.revision
        self.versions: dict[str, str] = {}
        self._unreported_load_seconds = 0.0

    # ----------------------------------------------------------------------------------------------------------------
    def load(self, progress: ProgressFn | None = None) -> None:
        """Load the pipeline (building the miniature first in the tiny profile) onto the configured device."""
        import diffusers

        started = time.perf_counter()
        # 1. where the weights are: a hub repo (real) or a saved miniature (tiny)
        source, kwargs = weights.pretrained_source(self.spec, self.settings, progress)
        # 2. device and dtype policy
        self.device = resolve_device(self.settings)
        dtype = resolve_dtype(self.settings, self.spec, self.device)
        self.dtype_name = str(dtype).removeprefix("torch.")
        # 3. the same from_pretrained call in both profiles
        pipeline_class = getattr(diffusers, self.spec.pipeline_class)
        try:
            pipe = pipeline_class.from_pretrained(source, dtype=dtype, **kwargs)
        except OSError as exc:
            raise weights.missing_weights(self.spec, self.settings, exc) from exc
        # 4. placement: whole pipeline on the device, or diffusers' CPU offload to fit smaller GPUs
        if self.device.startswith("cuda") and self.settings.offload == "model":
            pipe.enable_model_cpu_offload(device=self.device)
        elif self.device.startswith("cuda") and self.settings.offload == "sequential":
            pipe.enable_sequential_cpu_offload(device=self.device)
        else:
            pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)  # progress is reported per step through RunControl
        self.pipe = pipe
        self.revision = weights.loaded_revision(self.spec, self.settings)
        self.versions = library_versions()  # once: metadata lookups scan site-packages
        self._unreported_load_seconds = time.perf_counter() - started

    def check_inputs(self, request: T2IRequest) -> None:
        """Validate ``request`` for this model (see ``check_t2i_request``)."""
        check_t2i_request(self.spec, request)

    def unload(self) -> None:
        """Drop the pipeline; the cache then returns the memory to the device."""
        self.pipe = None

    def memory_bytes(self) -> int:
        """Bytes of all parameters and buffers of the pipeline's torch modules."""
        return weights.pipeline_bytes(self.pipe)

    # ----------------------------------------------------------------------------------------------------------------
    def __call__(self, request: T2IRequest) -> T2IResult:
        """Generate one image for ``request`` and return it with its recipe.

        Raises:
            InvalidInput: the request breaks one of the model's rules.
            Cancelled: Stop was pressed; raised at the next step boundary.
        """
        import torch

        if self.pipe is None:
            raise RuntimeError(f"{self.spec.key} is not loaded; use it through the ModelCache")
        spec, control = self.spec, request.control
        # 1. validate
        self.check_inputs(request)
        control.raise_if_stopped()

        # 2. resolve parameters: the model card's defaults unless the request overrides them
        steps = int(request.steps if request.steps is not None else spec.steps)
        guidance = float(request.guidance) if request.guidance is not None else spec.guidance
        if spec.guidance_param is None:
            guidance = spec.guidance  # not adjustable (FLUX.1-schnell is guidance-distilled)
        seed = resolve_seed(request.seed)
        kwargs = self._call_arguments(request, steps, guidance)

        # 3. seed: a CPU generator gives the same initial noise on every device
        kwargs["generator"] = torch.Generator("cpu").manual_seed(seed)

        def on_step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            # Some schedulers run more model evaluations than steps (PNDM's warm-up): count what the pipeline runs.
            total = getattr(pipe, "_num_timesteps", None) or steps
            if control.stop.is_set():
                raise Cancelled(f"{spec.name} stopped at step {step + 1}/{total}")
            control.report((step + 1) / total, f"{spec.name}: step {step + 1}/{total}")
            return tensors

        kwargs["callback_on_step_end"] = on_step_end

        # 4. denoise: latents (1, C, H/f, W/f) -> pixels (H, W, 3) in [0, 1]
        started = time.perf_counter()
        guiders = self._swap_guiders(guidance)
        try:
            with torch.inference_mode(), tiny.flushed_denormals(self.settings.profile == "tiny"):
                pixels = self.pipe(**kwargs).images[0]
        finally:
            for name, guider in guiders.items():
                setattr(self.pipe, name, guider)
        run_seconds = time.perf_counter() - started
        # An overflow (fp16 where the model needs bf16, a scheduler at too few steps) gives NaN pixels, which
        # would otherwise be cast silently into a black image.
        if not np.isfinite(pixels).all():
            raise GenerationFailed(
                f"{spec.name} produced invalid (NaN) pixels at {steps} steps in {self.dtype_name}; try more steps "
                f"or another dtype (STUDIO_DTYPE)"
            )
        image = Image.fromarray((np.clip(pixels, 0.0, 1.0) * 255).round().astype(np.uint8))

        # 5. recipe
        recipe = Recipe(
            model=spec.key, name=spec.name,
            repo_id=spec.repo_id if self.settings.profile == "real" else f"miniature of {spec.repo_id}",
            revision=self.revision, profile=self.settings.profile, pipeline=spec.pipeline_class or "",
            scheduler=type(self.pipe.scheduler).__name__, seed=seed, steps=steps, guidance=guidance,
            guidance_param=spec.guidance_param, width=request.width, height=request.height,
            prompt=request.prompt.strip(), negative_prompt=request.negative_prompt.strip(),
            language=detect_language(request.prompt), quoted_text=extract_quoted(request.prompt),
            device=self.device, dtype=self.dtype_name, load_seconds=round(self._unreported_load_seconds, 3),
            run_seconds=round(run_seconds, 3), extra=dict(spec.call_kwargs), versions=dict(self.versions),
        )
        self._unreported_load_seconds = 0.0
        return T2IResult(image=image, recipe=recipe)

    def _call_arguments(self, request: T2IRequest, steps: int, guidance: float | None) -> dict[str, Any]:
        """The pipeline call's keyword arguments, with each model's way of taking guidance."""
        spec = self.spec
        kwargs: dict[str, Any] = {
            "prompt": request.prompt.strip(),
            "height": int(request.height),
            "width": int(request.width),
            "num_inference_steps": steps,
            "output_type": "np",
            **spec.call_kwargs,
        }
        negative = request.negative_prompt.strip()
        if spec.supports_negative and negative:
            kwargs["negative_prompt"] = negative
        if spec.guidance_param in ("guidance_scale", "distilled_guidance_scale"):
            kwargs[spec.guidance_param] = guidance
        elif spec.guidance_param == "true_cfg_scale":
            # Qwen-Image applies CFG only when a negative prompt is passed; " " is the model card's empty one.
            kwargs["true_cfg_scale"] = guidance
            kwargs["negative_prompt"] = negative or " "
        elif spec.guidance_param is not None and spec.guidance_param != "guider":
            raise InvalidInput("guidance", f"{spec.key} takes guidance through unknown {spec.guidance_param!r}")
        return kwargs

    def _swap_guiders(self, guidance: float | None) -> dict[str, Any]:
        """For guider-based pipelines (HunyuanImage-2.1) install guiders with the requested scale.

        Returns the original guiders so the caller can put them back: the loaded pipeline is shared between
        requests and must not keep one request's setting.
        """
        if self.spec.guidance_param != "guider" or guidance is None:
            return {}
        originals = {}
        for name in ("guider", "ocr_guider"):
            guider = getattr(self.pipe, name, None)
            if guider is not None:
                originals[name] = guider
                setattr(self.pipe, name, guider.new(guidance_scale=guidance))
        return originals
