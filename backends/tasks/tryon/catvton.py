"""CatVTON-MaskFree and CatVTON: mask-free and mask-based try-on assembled from diffusers components.

Neither model is a diffusers pipeline. Each is a base UNet (InstructPix2Pix's 8-channel UNet for the mask-free model,
SD-1.5 inpainting's 9-channel UNet for the mask-based one) whose self-attention weights are replaced by CatVTON's
attention-only checkpoint, a VAE (``stabilityai/sd-vae-ft-mse`` in CatVTON's code; any ``AutoencoderKL`` here), and
a DDIM scheduler built from the base's scheduler config. No text encoder is loaded: cross-attention is skipped
(``attention.py``). The loop is in ``loop.py``; this module reads top to bottom like a pipeline:

1. validate; 2. the inputs (largest person, garment on white, warnings); 3. the mask (mask-based only: the user's
edited mask or the automatic one); 4. encode person and garment; 5. denoise the concatenated latent with zero-garment
guidance; 6. decode the person half (and, if asked, paste the person back outside the mask); 7. the recipe.

Weights: CatVTON and CatVTON-MaskFree are CC BY-NC-SA 4.0 (non-commercial); CatVTON-MaskFree is gated on the hub.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.paths import confine
from backends.core.recipe import Provenance, make_recipe
from backends.core.run import ProgressFn, RunControl
from backends.core.settings import Settings
from backends.core.validation import check_number, check_seed, resolve_seed
from backends.models import weights
from backends.models.backend import PretrainedBackend
from backends.models.spec import GenerationDefaults, ModelSpec
from backends.tasks.tryon import inputs, loop
from backends.tasks.tryon.attention import CHECKPOINT, load_attention_checkpoint, use_catvton_attention
from backends.tasks.tryon.types import TryOnRequest, TryOnResult
from backends.vision.agnostic import AgnosticMasker, check_category
from backends.vision.detectors import Detectors

MAX_GUIDANCE = 20.0
TINY_VAE = "vae_sd"  # the miniature of stabilityai/sd-vae-ft-mse, used for any VAE in the tiny profile


def component(spec: ModelSpec, part: str, repo_id: str, class_name: str, subfolder: str | None,
              architecture: str | None) -> ModelSpec:
    """A registry-like spec for one diffusers component of a composite model, so it loads through the one
    ``load_pretrained`` (device, dtype, offline errors and the tiny profile's miniature included)."""
    return dataclasses.replace(spec, key=f"{spec.key}.{part}", loader="diffusers", defaults=GenerationDefaults(),
                               repo_id=repo_id, class_name=class_name, subfolder=subfolder, variant=None,
                               architecture=architecture, revision="main", requires=())


class CatVTONBase(PretrainedBackend):
    """What both CatVTON models share (see the module docstring); subclasses say how person and garment meet.

    Args:
        spec: the registry entry (``CodeDefaults.options``: ``base``, ``vae``, ``steps``, ``guidance``, ``eta``,
            ``width``, ``height``).
        settings: device, dtype, profile and offload policy.
    """

    MASK_FREE = True
    CONCAT = loop.WIDTH
    IN_CHANNELS = 8

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        super().__init__(spec, settings)
        self.vae: Any = None
        self.scheduler: Any = None
        self.detectors: Detectors | None = None
        self.masker: AgnosticMasker | None = None
        self.attention: dict[str, Any] = {}
        self._vaes: dict[str, Any] = {}
        self._revision = ""

    @property
    def options(self) -> Any:
        """The registry's options (base repo, VAE, defaults)."""
        return self.spec.defaults.options

    # ----------------------------------------------------------------------------------------------------------------
    def load(self, report: ProgressFn | None = None) -> None:
        """Base UNet, CatVTON's attention checkpoint, VAE, DDIM scheduler, and the mediapipe detectors."""
        from diffusers import DDIMScheduler

        started = time.perf_counter()
        # 1. the base UNet, with CatVTON's text-free attention
        unet_spec = component(self.spec, "unet", self.options["base"], "UNet2DConditionModel", "unet",
                              self.spec.architecture)
        self.loaded = weights.load_pretrained(unet_spec, self.settings, report)
        unet = self.loaded.model
        if unet.config.in_channels != self.IN_CHANNELS:
            raise ModelUnavailable(f"{self.spec.key} needs a {self.IN_CHANNELS}-channel UNet; {self.options['base']} "
                                   f"has {unet.config.in_channels}")
        use_catvton_attention(unet)
        # 2. the attention-only checkpoint (released flat-list layout) into the self-attention layers
        path, self._revision = self._attention_file(unet_spec, report)
        self.attention = load_attention_checkpoint(unet, path)
        # 3. the VAE, and the base's scheduler config read as DDIM (IP2P ships Euler ancestral: converted)
        self.vae = self._load_vae(self.options["vae"], report)
        try:
            if self.settings.profile == "tiny":
                self.scheduler = DDIMScheduler.from_pretrained(weights.ensure_miniature(unet_spec, self.settings),
                                                               subfolder="scheduler")
            else:
                self.scheduler = DDIMScheduler.from_pretrained(self.options["base"], subfolder="scheduler",
                                                               local_files_only=self.settings.offline)
        except OSError as exc:
            raise weights.missing_weights(unet_spec, self.settings, exc) from exc
        # 4. perception: people, pose, masks
        self.detectors = Detectors()
        self.masker = AgnosticMasker(self.detectors)
        self.loaded.seconds = time.perf_counter() - started
        self._unreported_load_seconds = self.loaded.seconds

    def _attention_file(self, unet_spec: ModelSpec, report: ProgressFn | None) -> tuple[Path, str]:
        """The attention checkpoint: the miniature's in the tiny profile, else ``hf_hub_download`` of the file."""
        filename = self.spec.defaults.filename or CHECKPOINT
        if self.settings.profile == "tiny":
            return weights.ensure_miniature(unet_spec, self.settings) / "attention" / filename, \
                f"tiny:{self.spec.architecture}:seed0"
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError

        if report is not None:
            report(0.0, f"Loading {self.spec.name}'s attention weights ({self.spec.repo_id}/{self.spec.subfolder})")
        try:
            path = hf_hub_download(self.spec.repo_id, filename, subfolder=self.spec.subfolder,
                                   revision=self.spec.revision, local_files_only=self.settings.offline)
        except (OSError, ValueError, HfHubHTTPError) as exc:
            raise weights.missing_weights(self.spec, self.settings, exc) from exc
        revision = path.split("/snapshots/")[1].split("/")[0] if "/snapshots/" in path else self.spec.revision
        return Path(path), revision

    def vae_source(self, vae: str) -> str:
        """Where another VAE may come from: a hub repo on the registry's list (``options.vaes``), or a folder under
        ``STUDIO_MODEL_ROOTS`` (never an arbitrary path: weight files can be pickles, and loading runs them)."""
        vae = vae.strip()
        allowed = (self.options["vae"], *self.options.get("vaes", ()))
        if vae in allowed:
            return vae
        try:
            return str(confine(vae, self.settings.model_roots, "vae", "STUDIO_MODEL_ROOTS", "folder"))
        except InvalidInput:  # the same words whether the folder exists or not
            raise InvalidInput("vae", f"{vae!r} is not an allowed VAE: use one of {', '.join(allowed)} or a folder "
                                      "under STUDIO_MODEL_ROOTS") from None

    def _load_vae(self, repo: str, report: ProgressFn | None = None) -> Any:
        if repo not in self._vaes:
            spec = component(self.spec, "vae", repo, "AutoencoderKL", None, TINY_VAE)
            try:
                self._vaes[repo] = weights.load_pretrained(spec, self.settings, report).model
            except ModelUnavailable as exc:
                raise InvalidInput("vae", f"{repo!r} could not be loaded as an AutoencoderKL: {exc}") from exc
        return self._vaes[repo]

    def unload(self) -> None:
        """Drop the UNet, VAEs and detectors."""
        super().unload()
        self.vae = None
        self._vaes.clear()
        if self.detectors is not None:
            self.detectors.close()
        self.detectors = self.masker = None

    def memory_bytes(self) -> int:
        """UNet and VAEs."""
        return super().memory_bytes() + sum(weights.module_bytes(v) for v in self._vaes.values())

    def provenance(self) -> Provenance:
        """The recipe's provenance: the CatVTON repo and the revision of its attention checkpoint."""
        return dataclasses.replace(super().provenance(), revision=self._revision,
                                   pipeline=f"CatVTON ({self.IN_CHANNELS}-channel UNet2DConditionModel, "
                                            f"{'width' if self.CONCAT == loop.WIDTH else 'height'} concat)")

    # ----------------------------------------------------------------------------------------------------------------
    def defaults(self, request: TryOnRequest) -> tuple[int, int, int, float]:
        """Width, height, steps and guidance of a request, the model's defaults filling the gaps."""
        options = self.options
        width = int(request.width if request.width is not None else options["width"])
        height = int(request.height if request.height is not None else options["height"])
        steps = int(request.steps if request.steps is not None else options["steps"])
        guidance = float(request.guidance if request.guidance is not None else options["guidance"])
        return width, height, steps, guidance

    def check_settings(self, category: Any, steps: Any, guidance: Any, width: Any, height: Any) -> None:
        """Validate the generation settings every request of this model carries."""
        check_category(category)
        for name, value in (("width", width), ("height", height)):
            if value is not None:
                check_number(value, name, integer=True)
        self.spec.size.check(self.options["width"] if width is None else width,
                             self.options["height"] if height is None else height, self.spec.key)
        if steps is not None:
            check_number(steps, "steps", minimum=1, maximum=200, integer=True)
        if guidance is not None:
            check_number(guidance, "guidance", minimum=0, maximum=MAX_GUIDANCE)

    def check_tryon(self, request: TryOnRequest) -> None:
        """Validate a try-on request (the images are validated when read); names the field, value and rule."""
        if not isinstance(request, TryOnRequest):
            raise InvalidInput("request", f"{self.spec.key} takes a TryOnRequest, not {type(request).__name__}")
        self.check_settings(request.category, request.steps, request.guidance, request.width, request.height)
        check_seed(request.seed)
        if request.vae is not None:
            if not isinstance(request.vae, str) or not request.vae.strip():
                raise InvalidInput("vae", f"expected a repo id or folder of an AutoencoderKL, got {request.vae!r}")
            self.vae_source(request.vae)
        if request.person is None:
            raise InvalidInput("person", "no person photo was given")
        if request.garment is None:
            raise InvalidInput("garment", "no garment image was given")

    def check_inputs(self, request: TryOnRequest) -> None:
        """Validate a request before anything loads (see ``check_tryon``)."""
        self.check_tryon(request)

    # ----------------------------------------------------------------------------------------------------------------
    def __call__(self, request: TryOnRequest, control: RunControl | None = None) -> TryOnResult:
        """Dress the person in the garment (see the module docstring for the steps).

        Raises:
            InvalidInput: a bad field or image, no person found, a bad mask.
            Cancelled: Stop was pressed.
        """
        return self.tryon(request, control)

    def tryon(self, request: TryOnRequest, control: RunControl | None = None) -> TryOnResult:
        """One try-on, steps 1 to 7 (``__call__``; the data engine calls it per triple)."""
        import torch

        control = control or RunControl()
        # 1. validate
        self.check_tryon(request)
        width, height, steps, guidance = self.defaults(request)
        seed = resolve_seed(request.seed)
        started = time.perf_counter()
        # 2. the inputs: the largest person cropped to the output's aspect, the garment fitted on white
        prepared = inputs.prepare(request.person, request.garment, width, height, self.detectors)
        warnings = list(prepared.warnings)
        # 3. the mask (mask-based models): the user's, or the automatic one of the person crop
        mask, mask_source = self._mask(request, prepared, width, height, warnings)
        vae = self._load_vae(self.vae_source(request.vae) if request.vae else self.options["vae"])
        generator = torch.Generator("cpu").manual_seed(seed)  # CPU noise: the same numbers on every device
        with self.computing():
            # 4. encode: person (or masked person) and garment latents, (1, 4, H/8, W/8) each
            condition, uncondition = self.conditions(vae, prepared, mask, generator)
            # 5. denoise the concatenated latent, guided against a zero garment
            latents = loop.denoise(self.model, self.scheduler, condition, uncondition, steps=steps, guidance=guidance,
                                   generator=generator, eta=float(self.options["eta"]), control=control,
                                   label=self.spec.name)
            # 6. decode only the person half
            image = loop.decode(vae, loop.person_half(latents, self.CONCAT))
        if request.repaint and mask is not None:
            image = repaint(prepared.person, image, mask)
        run_seconds = time.perf_counter() - started
        # 7. the recipe
        recipe = make_recipe(
            self.provenance(), seed=seed, width=width, height=height, steps=steps, guidance=guidance,
            guidance_param="guidance_scale", scheduler=f"{type(self.scheduler).__name__} (eta {self.options['eta']})",
            load_seconds=self.take_load_seconds(), run_seconds=run_seconds,
            extra={"task": "tryon", "method": "mask-free" if self.MASK_FREE else "mask-based",
                   "category": request.category, "concat": "width" if self.CONCAT == loop.WIDTH else "height",
                   "guidance_uncond": "zero garment latent", "base": self.options["base"],
                   "vae": request.vae or self.options["vae"], "attention": self.attention.get("file", ""),
                   "mask": mask_source, "mask_area": round(float(mask.mean()), 4) if mask is not None else None,
                   "repaint": bool(request.repaint and mask is not None), "person_crop": list(prepared.box),
                   "people": prepared.people, "warnings": warnings, "license": self.spec.license},
        )
        return TryOnResult(image, recipe, prepared.person, prepared.garment, mask, warnings)

    def _mask(self, request: TryOnRequest, prepared: inputs.Prepared, width: int, height: int,
              warnings: list[str]) -> tuple[np.ndarray | None, str]:
        if self.MASK_FREE:
            if request.mask is not None:
                warnings.append(f"{self.spec.name} is mask-free: the mask given was not used")
            return None, "none (mask-free)"
        if request.mask is not None:
            return inputs.fit_mask(request.mask, prepared.source.size, prepared.box, width, height), "user"
        auto = self.masker(prepared.source.crop(prepared.box), request.category)
        warnings += [w for w in auto.warnings if w not in warnings]
        fitted = Image.fromarray(auto.mask.astype(np.uint8) * 255).resize((width, height), Image.Resampling.NEAREST)
        return np.asarray(fitted) >= 128, "automatic (mediapipe)"

    def conditions(self, vae: Any, prepared: inputs.Prepared, mask: np.ndarray | None, generator: Any) -> tuple:
        """The condition channels and their zero-garment twin; subclasses define them."""
        raise NotImplementedError


class CatVTONMaskFree(CatVTONBase):
    """CatVTON-MaskFree: the full person latent and the garment latent side by side along the width (8 channels)."""

    MASK_FREE = True
    CONCAT = loop.WIDTH
    IN_CHANNELS = 8

    def conditions(self, vae: Any, prepared: inputs.Prepared, mask: np.ndarray | None, generator: Any) -> tuple:
        """``(1, 4, h, 2w)``: person | garment, and person | zeros."""
        import torch

        device = self.device
        person = loop.encode(vae, loop.to_tensor(prepared.person, device, vae.dtype), generator)
        garment = loop.encode(vae, loop.to_tensor(prepared.garment, device, vae.dtype), generator)
        return (loop.concat(person, garment, loop.WIDTH),
                loop.concat(person, torch.zeros_like(garment), loop.WIDTH))


class CatVTON(CatVTONBase):
    """CatVTON: masked person over garment along the height, with the mask (9 channels)."""

    MASK_FREE = False
    CONCAT = loop.HEIGHT
    IN_CHANNELS = 9

    def conditions(self, vae: Any, prepared: inputs.Prepared, mask: np.ndarray | None, generator: Any) -> tuple:
        """``(1, 5, 2h, w)``: [mask over zeros | masked person over garment], and the same over a zero garment."""
        import torch
        import torch.nn.functional as F

        device = self.device
        pixels = loop.to_tensor(prepared.person, device, vae.dtype)  # (1, 3, H, W) in [-1, 1]
        region = torch.from_numpy(mask.astype(np.float32))[None, None].to(device=device, dtype=vae.dtype)
        masked = loop.encode(vae, pixels * (region < 0.5), generator)  # repainted pixels set to 0 (grey)
        garment = loop.encode(vae, loop.to_tensor(prepared.garment, device, vae.dtype), generator)
        small = F.interpolate(region, size=masked.shape[-2:], mode="nearest")  # (1, 1, h, w)
        masks = loop.concat(small, torch.zeros_like(small), loop.HEIGHT)  # the garment half is never repainted
        return (torch.cat([masks, loop.concat(masked, garment, loop.HEIGHT)], dim=1),
                torch.cat([masks, loop.concat(masked, torch.zeros_like(garment), loop.HEIGHT)], dim=1))


def repaint(person: Image.Image, generated: Image.Image, mask: np.ndarray) -> Image.Image:
    """The person's own pixels outside the mask, the generated ones inside, with a soft edge (CatVTON's repaint)."""
    radius = max(1.0, max(person.size) / 200)
    soft = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(radius))
    return Image.composite(generated, person, soft)
