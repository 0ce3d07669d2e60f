"""The studio's model table: one typed, validated ``ModelSpec`` per model.

Read top to bottom this file is the list of models the studio can run, with the facts that matter to run them
well: Hugging Face repo, diffusers pipeline class, dtype, the model card's default steps and guidance and each
model's quirks. Facts come from the model cards and the diffusers docs (see ``../shared/reference/models.md``).
Keys are ``"<task>/<name>"`` and are the same in the ``real`` and ``tiny`` profiles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from backends.base import InvalidInput

TASKS = ("t2i", "ocr", "hand", "inpaint", "tryon", "face", "tok", "metric")
DTYPE_NAMES = ("float32", "float16", "bfloat16")
GUIDANCE_PARAMS = ("guidance_scale", "true_cfg_scale", "guider", "distilled_guidance_scale")
_KEY = re.compile(r"^(?P<task>[a-z0-9]+)/[a-z0-9][a-z0-9.\-]*$")
_BACKEND = re.compile(r"^[a-z_][a-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SizeRule:
    """Which output sizes a model accepts.

    Attributes:
        default: default width and height.
        minimum: smallest side in pixels.
        maximum: largest side in pixels.
        multiple: both sides must be a multiple of this (VAE factor x patch size).
        max_pixels: cap on width x height, if the model card gives one.
    """

    default: int = 1024
    minimum: int = 256
    maximum: int = 2048
    multiple: int = 8
    max_pixels: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.minimum <= self.default <= self.maximum:
            raise ValueError(f"size rule needs 0 < minimum <= default <= maximum, got {self}")
        if self.multiple < 1 or self.default % self.multiple:
            raise ValueError(f"size rule default {self.default} is not a multiple of {self.multiple}")

    def check(self, width: Any, height: Any, model: str) -> tuple[int, int]:
        """Validate a requested size for ``model`` and return it as ints.

        Raises:
            InvalidInput: naming ``width`` or ``height``, the value and the rule.
        """
        from backends.base import check_number

        sides = {}
        for name, value in (("width", width), ("height", height)):
            side = int(check_number(value, name, integer=True))
            if not self.minimum <= side <= self.maximum:
                raise InvalidInput(name, f"{side} is outside {self.minimum}..{self.maximum} pixels for {model}")
            if side % self.multiple:
                lower = side - side % self.multiple
                raise InvalidInput(
                    name,
                    f"{side} is not a multiple of {self.multiple}, which {model} needs "
                    f"(try {max(lower, self.minimum)} or {lower + self.multiple})",
                )
            sides[name] = side
        if self.max_pixels and sides["width"] * sides["height"] > self.max_pixels:
            raise InvalidInput(
                "width",
                f"{sides['width']}x{sides['height']} exceeds {model}'s limit of {self.max_pixels} pixels",
            )
        return sides["width"], sides["height"]


@dataclass(frozen=True)
class ModelSpec:
    """One model the studio can run.

    Attributes:
        key: ``"<task>/<name>"``, stable across profiles (API and database use it).
        name: display name.
        task: what it does (``t2i``, ``ocr``, ...).
        backend: ``"module:Class"`` implementing the Backend protocol; imported only when the model loads.
        repo_id: Hugging Face repo id (None for remote APIs and bundled engines).
        revision: branch, tag or commit to load.
        pipeline_class: diffusers pipeline class name, for diffusers backends.
        architecture: id of the random-weight miniature in ``backends.tiny`` (None: no miniature needed).
        variant: weights variant on the hub (e.g. ``"fp16"``).
        dtype: the model card's dtype on a GPU.
        forbidden_dtypes: dtypes the model breaks in.
        steps: default denoising steps (None when not applicable).
        max_steps: upper bound accepted for steps.
        guidance: default guidance value.
        guidance_param: the call parameter that takes guidance (None: not adjustable).
        supports_negative: whether a negative prompt has an effect.
        call_kwargs: fixed extra call arguments from the model card.
        size: accepted output sizes.
        license: license name of the weights.
        languages: prompt languages the model was trained for.
        requires: Python modules the backend needs beyond requirements.txt (research code); unavailable without.
        vram_gb: approximate accelerator memory at the default size, in GB.
        cpu_ok: whether running it on a CPU is practical.
        paper: the paper or report it stands for.
        notes: quirks worth knowing, shown in the Models tab.
        remote: runs through a network API rather than local weights.
    """

    key: str
    name: str
    task: str
    backend: str
    repo_id: str | None = None
    revision: str = "main"
    pipeline_class: str | None = None
    architecture: str | None = None
    variant: str | None = None
    dtype: str = "float16"
    forbidden_dtypes: tuple[str, ...] = ()
    steps: int | None = None
    max_steps: int = 200
    guidance: float | None = None
    guidance_param: str | None = "guidance_scale"
    supports_negative: bool = True
    call_kwargs: Mapping[str, Any] = field(default_factory=dict)
    size: SizeRule = field(default_factory=SizeRule)
    license: str = ""
    languages: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    vram_gb: float = 0.0
    cpu_ok: bool = False
    paper: str = ""
    notes: str = ""
    remote: bool = False

    def __post_init__(self) -> None:
        match = _KEY.match(self.key)
        if not match:
            raise ValueError(f"model key {self.key!r} must look like '<task>/<name>' in lower case")
        if match["task"] != self.task:
            raise ValueError(f"model key {self.key!r} does not start with its task {self.task!r}")
        if self.task not in TASKS:
            raise ValueError(f"{self.key}: task {self.task!r} is not one of {TASKS}")
        if not _BACKEND.match(self.backend):
            raise ValueError(f"{self.key}: backend {self.backend!r} must be 'module:Class'")
        if self.dtype not in DTYPE_NAMES or not set(self.forbidden_dtypes) <= set(DTYPE_NAMES):
            raise ValueError(f"{self.key}: dtypes must be among {DTYPE_NAMES}")
        if self.dtype in self.forbidden_dtypes:
            raise ValueError(f"{self.key}: default dtype {self.dtype} is also forbidden")
        if self.steps is not None and not 1 <= self.steps <= self.max_steps:
            raise ValueError(f"{self.key}: default steps {self.steps} outside 1..{self.max_steps}")
        if self.guidance_param is not None and self.guidance_param not in GUIDANCE_PARAMS:
            raise ValueError(f"{self.key}: guidance_param {self.guidance_param!r} not in {GUIDANCE_PARAMS}")
        if self.guidance is not None and self.guidance < 0:
            raise ValueError(f"{self.key}: default guidance must be >= 0")
        if self.pipeline_class is not None and self.repo_id is None and not self.remote:
            raise ValueError(f"{self.key}: a diffusers model needs a repo_id")
        if self.vram_gb < 0:
            raise ValueError(f"{self.key}: vram_gb must be >= 0")
        # A frozen dataclass may still hold a mutable dict; freeze it so specs are safe to share between threads.
        object.__setattr__(self, "call_kwargs", MappingProxyType(dict(self.call_kwargs)))

    def describe(self) -> dict[str, Any]:
        """The spec as plain JSON-ready data (the Models tab and ``/models``)."""
        return {
            "key": self.key,
            "name": self.name,
            "task": self.task,
            "repo_id": self.repo_id,
            "revision": self.revision,
            "pipeline": self.pipeline_class,
            "dtype": self.dtype,
            "steps": self.steps,
            "guidance": self.guidance,
            "guidance_param": self.guidance_param,
            "size": {"default": self.size.default, "min": self.size.minimum, "max": self.size.maximum,
                     "multiple": self.size.multiple},
            "license": self.license,
            "languages": list(self.languages),
            "vram_gb": self.vram_gb,
            "cpu_ok": self.cpu_ok,
            "paper": self.paper,
            "notes": self.notes,
            "remote": self.remote,
            "requires": list(self.requires),
        }


class Registry(Mapping[str, ModelSpec]):
    """An immutable, validated collection of specs keyed by ``spec.key``.

    Raises:
        ValueError: two specs share a key.
    """

    def __init__(self, specs: Iterable[ModelSpec]) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            if spec.key in self._specs:
                raise ValueError(f"duplicate model key {spec.key!r} in the registry")
            self._specs[spec.key] = spec

    def __getitem__(self, key: str) -> ModelSpec:
        return self._specs[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def get_spec(self, key: Any, field_name: str = "model") -> ModelSpec:
        """Look a key up for a user request, with an error that lists what exists.

        Raises:
            InvalidInput: the key is not registered.
        """
        if not isinstance(key, str) or key not in self._specs:
            known = ", ".join(self._specs)
            raise InvalidInput(field_name, f"unknown model key {key!r}; registered keys: {known}")
        return self._specs[key]

    def by_task(self, task: str) -> list[ModelSpec]:
        """Specs of one task, in registry order."""
        return [s for s in self._specs.values() if s.task == task]


# --------------------------------------------------------------------------------------------------------------------
# The models
# --------------------------------------------------------------------------------------------------------------------
_DIFFUSERS_T2I = "backends.text_to_image:DiffusersTextToImage"
_HAND_REPAIR = "backends.hand_repair:HandRepair"
_CODEC = "backends.tokenizers:CodecTokenizer"
_AUTOENCODER = "backends.tokenizers:AutoencoderTokenizer"
_RESEARCH = "backends.tokenizers:ResearchTokenizer"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="t2i/kolors", name="Kolors", task="t2i", backend=_DIFFUSERS_T2I,
        repo_id="Kwai-Kolors/Kolors-diffusers", pipeline_class="KolorsPipeline", architecture="kolors",
        variant="fp16", dtype="float16", steps=50, guidance=5.0, call_kwargs={"max_sequence_length": 256},
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=8),
        license="Kolors license (academic use; commercial use after registration)", languages=("zh", "en"),
        vram_gb=19, paper="Kolors: Effective Training of Diffusion Model for Photorealistic T2I (Kuaishou, 2024)",
        notes="ChatGLM3-6B text encoder, 256-token context; model card: EulerDiscrete, guidance 5.0, 50 steps.",
    ),
    ModelSpec(
        key="t2i/hunyuan-dit", name="Hunyuan-DiT v1.2", task="t2i", backend=_DIFFUSERS_T2I,
        repo_id="Tencent-Hunyuan/HunyuanDiT-v1.2-Diffusers", pipeline_class="HunyuanDiTPipeline",
        architecture="hunyuan_dit", dtype="float16", steps=50, guidance=5.0,
        call_kwargs={"use_resolution_binning": False},
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=16),
        license="tencent-hunyuan-community", languages=("zh", "en"), vram_gb=11,
        paper="Hunyuan-DiT: Multi-Resolution Diffusion Transformer with Fine-Grained Chinese Understanding "
              "(arXiv:2405.08748)",
        notes="Bilingual CLIP + mT5 encoders. Resolution binning is off so every model gets the same size; the "
              "model is best at 1024x1024, 1280x1280, 1024x768, 768x1024, 1280x768, 768x1280.",
    ),
    ModelSpec(
        key="t2i/hunyuan-dit-distilled", name="Hunyuan-DiT v1.2 Distilled", task="t2i", backend=_DIFFUSERS_T2I,
        repo_id="Tencent-Hunyuan/HunyuanDiT-v1.2-Diffusers-Distilled", pipeline_class="HunyuanDiTPipeline",
        architecture="hunyuan_dit", dtype="float16", steps=25, guidance=5.0,
        call_kwargs={"use_resolution_binning": False},
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=16),
        license="tencent-hunyuan-community", languages=("zh", "en"), vram_gb=11,
        paper="Hunyuan-DiT (arXiv:2405.08748), step-distilled release",
        notes="Same architecture as v1.2, distilled to 25 steps.",
    ),
    ModelSpec(
        key="t2i/cogview4", name="CogView4-6B", task="t2i", backend=_DIFFUSERS_T2I,
        repo_id="THUDM/CogView4-6B", pipeline_class="CogView4Pipeline", architecture="cogview4",
        dtype="bfloat16", forbidden_dtypes=("float16",), steps=50, guidance=3.5,
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=32, max_pixels=2**21),
        license="apache-2.0", languages=("zh", "en"), vram_gb=30,
        paper="CogView4 (Zhipu AI, 2025), GLM-4-9B text encoder",
        notes="BF16 or FP32 only: FP16 overflows to black images. Sides 512-2048, multiples of 32, at most 2^21 "
              "pixels. ~20 GB with model CPU offload.",
    ),
    ModelSpec(
        key="t2i/qwen-image", name="Qwen-Image", task="t2i", backend=_DIFFUSERS_T2I,
        repo_id="Qwen/Qwen-Image", pipeline_class="QwenImagePipeline", architecture="qwen_image",
        dtype="bfloat16", steps=50, guidance=4.0, guidance_param="true_cfg_scale",
        call_kwargs={"max_sequence_length": 512},
        size=SizeRule(default=1328, minimum=256, maximum=2048, multiple=16),
        license="apache-2.0", languages=("zh", "en"), vram_gb=58,
        paper="Qwen-Image Technical Report (arXiv:2508.02324)",
        notes="20B MMDiT + Qwen2.5-VL-7B. CFG only through true_cfg_scale, and only with a negative prompt: the "
              "studio sends ' ' when none is given. guidance_scale is ignored by the base model.",
    ),
    ModelSpec(
        key="t2i/hunyuan-image-2.1", name="HunyuanImage-2.1", task="t2i", backend=_DIFFUSERS_T2I,
        repo_id="hunyuanvideo-community/HunyuanImage-2.1-Diffusers", pipeline_class="HunyuanImagePipeline",
        architecture="hunyuan_image", dtype="bfloat16", steps=50, guidance=3.5, guidance_param="guider",
        size=SizeRule(default=2048, minimum=512, maximum=3072, multiple=64),
        license="tencent-hunyuan-community", languages=("zh", "en"), vram_gb=52,
        paper="HunyuanImage 2.1 (Tencent, 2025): Qwen2.5-VL encoder plus a Glyph-ByT5 branch for quoted text",
        notes="Native 2K. No guidance_scale argument: guidance lives in the pipeline's guider "
              "(AdaptiveProjectedMixGuidance, 3.5); quoted text goes through the ByT5 glyph branch.",
    ),
    ModelSpec(
        key="t2i/taiyi-sd-1b", name="Taiyi-SD 1B (zh/en)", task="t2i", backend=_DIFFUSERS_T2I,
        repo_id="IDEA-CCNL/Taiyi-Stable-Diffusion-1B-Chinese-EN-v0.1", pipeline_class="StableDiffusionPipeline",
        architecture="sd", dtype="float16", steps=50, guidance=7.5,
        size=SizeRule(default=512, minimum=256, maximum=1024, multiple=8),
        license="creativeml-openrail-m", languages=("zh", "en"), vram_gb=4, cpu_ok=True,
        paper="Fengshenbang 1.0 / Taiyi (IDEA-CCNL, arXiv:2209.02970)",
        notes="Stable Diffusion 1.x with a bilingual Taiyi-CLIP (BERT) text encoder; small enough for a CPU "
              "(minutes per 512px image). Weights are .bin (pickle).",
    ),
    ModelSpec(
        key="t2i/flux-schnell", name="FLUX.1-schnell (English reference)", task="t2i", backend=_DIFFUSERS_T2I,
        repo_id="black-forest-labs/FLUX.1-schnell", pipeline_class="FluxPipeline", architecture="flux",
        dtype="bfloat16", steps=4, max_steps=50, guidance=0.0, guidance_param=None, supports_negative=False,
        call_kwargs={"max_sequence_length": 256},
        size=SizeRule(default=1024, minimum=256, maximum=2048, multiple=16),
        license="apache-2.0", languages=("en",), vram_gb=34,
        paper="FLUX.1 (Black Forest Labs, 2024), timestep-distilled",
        notes="English-centred reference for contrast. 4 steps, no guidance, no negative prompt.",
    ),
    ModelSpec(
        key="t2i/sdxl", name="SDXL 1.0 (English reference)", task="t2i", backend=_DIFFUSERS_T2I,
        repo_id="stabilityai/stable-diffusion-xl-base-1.0", pipeline_class="StableDiffusionXLPipeline",
        architecture="sdxl", variant="fp16", dtype="float16", steps=40, guidance=5.0,
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=8),
        license="openrail++", languages=("en",), vram_gb=10,
        paper="SDXL: Improving Latent Diffusion Models for High-Resolution Image Synthesis (arXiv:2307.01952)",
        notes="English-centred reference; CLIP encoders do not understand Chinese.",
    ),
    ModelSpec(
        key="t2i/seedream", name="Seedream (Ark API)", task="t2i", backend="backends.seedream:SeedreamAPI",
        repo_id=None, dtype="bfloat16", steps=None, guidance=2.5, remote=True,
        size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=8),
        license="proprietary API (ByteDance Seed)", languages=("zh", "en"), cpu_ok=True,
        paper="Seedream 2.0: A Native Chinese-English Bilingual Image Generation Foundation Model (arXiv:2503.07703)",
        notes="Closed model through the ModelArk / Ark images API; needs ARK_API_KEY. The public API serves "
              "Seedream 3.0 and later (model id from STUDIO_SEEDREAM_MODEL). Steps are not exposed.",
    ),
    # ---------------------------------------------------------------------------------------------------------------
    # Hand repair (MGHanD direction): detection, and the inpainting models both repair methods run on
    # ---------------------------------------------------------------------------------------------------------------
    ModelSpec(
        key="hand/mediapipe", name="MediaPipe Hands", task="hand", backend="backends.hand_repair:HandDetector",
        dtype="float32", guidance_param=None, license="apache-2.0", vram_gb=0.0, cpu_ok=True,
        paper="MediaPipe Hands: On-device Real-time Hand Tracking (arXiv:2006.10214)",
        notes="Bundled with mediapipe 0.10.21 (offline). Its handedness score is the hand confidence MGHanD reports.",
    ),
    ModelSpec(
        key="inpaint/sd15", name="SD 1.5 Inpainting", task="inpaint", backend=_HAND_REPAIR,
        repo_id="stable-diffusion-v1-5/stable-diffusion-inpainting", pipeline_class="StableDiffusionInpaintPipeline",
        architecture="sd_inpaint", dtype="float16", steps=30, guidance=7.5,
        size=SizeRule(default=512, minimum=256, maximum=1024, multiple=8),
        license="creativeml-openrail-m", languages=("en",), vram_gb=4, cpu_ok=True,
        paper="High-Resolution Image Synthesis with Latent Diffusion Models (arXiv:2112.10752), inpainting model",
        notes="Runs both repair methods: inpaint, and mghand's guided loop (9-channel UNet).",
    ),
    ModelSpec(
        key="inpaint/sdxl", name="SDXL 1.0 Inpainting", task="inpaint", backend=_HAND_REPAIR,
        repo_id="diffusers/stable-diffusion-xl-1.0-inpainting-0.1",
        pipeline_class="StableDiffusionXLInpaintPipeline", architecture="sdxl_inpaint", variant="fp16",
        dtype="float16", steps=30, guidance=8.0, size=SizeRule(default=1024, minimum=512, maximum=2048, multiple=8),
        license="openrail++", languages=("en",), vram_gb=10,
        paper="SDXL (arXiv:2307.01952), inpainting fine-tune by the diffusers team",
        notes="Repairs with method inpaint (through the pipeline's own call).",
    ),
    ModelSpec(
        key="inpaint/flux-fill", name="FLUX.1 Fill [dev]", task="inpaint", backend=_HAND_REPAIR,
        repo_id="black-forest-labs/FLUX.1-Fill-dev", pipeline_class="FluxFillPipeline", architecture="flux_fill",
        dtype="bfloat16", steps=50, guidance=30.0, supports_negative=False,
        size=SizeRule(default=1024, minimum=256, maximum=2048, multiple=16),
        license="flux-1-dev-non-commercial (gated)", languages=("en",), vram_gb=34,
        paper="FLUX.1 Fill (Black Forest Labs, 2024)",
        notes="Gated on the hub: accept the license and set HF_TOKEN before make fetch. Method inpaint only; "
              "strength is not used (FLUX Fill always denoises fully).",
    ),
    # ---------------------------------------------------------------------------------------------------------------
    # Image tokenizers (Layton / LaCTok, Semanticist, RobustTok directions). call_kwargs configure the codec or
    # the model load (subfolder); the size rule bounds the side the image is resized to.
    # ---------------------------------------------------------------------------------------------------------------
    ModelSpec(
        key="tok/pca", name="PCA patch tokenizer (ordered)", task="tok", backend=_CODEC, dtype="float32",
        guidance_param=None, call_kwargs={"codec": "pca", "patch": 8},
        size=SizeRule(default=512, minimum=16, maximum=2048, multiple=1), license="apache-2.0 (studio code)",
        cpu_ok=True, paper="Semanticist: \"Principal Components\" Enable a New Language of Images (arXiv:2503.08685)",
        notes="Weight-free: a PCA basis of 8x8 patches fitted on the image; token k = component k over all patches, "
              "so prefixes are coarse-to-fine and the full sequence reconstructs exactly (Semanticist's idea in "
              "its simplest exact form).",
    ),
    ModelSpec(
        key="tok/vq", name="k-means patch VQ (256 codes)", task="tok", backend=_CODEC, dtype="float32",
        guidance_param=None, call_kwargs={"codec": "vq", "patch": 8, "codebook_size": 256},
        size=SizeRule(default=512, minimum=16, maximum=2048, multiple=1), license="apache-2.0 (studio code)",
        cpu_ok=True, paper="RobustTok: Robust Latent Perturbation for AR Visual Generation (arXiv:2503.08354)",
        notes="Weight-free: a k-means codebook of 8x8 patches fitted on the image (8 bits per token). Supports "
              "RobustTok's perturbation (alpha, delta).",
    ),
    ModelSpec(
        key="tok/dct", name="DCT baseline (JPEG-like, rate-matched)", task="tok", backend=_CODEC, dtype="float32",
        guidance_param=None, call_kwargs={"codec": "dct", "block": 8},
        size=SizeRule(default=512, minimum=16, maximum=2048, multiple=1), license="apache-2.0 (studio code)",
        cpu_ok=True, paper="The JPEG still picture compression standard (Wallace, 1991)",
        notes="8x8 block DCT keeping the coefficients that fit a bit budget: matched to another tokenizer's size "
              "when compared side by side (0.25 bits per pixel alone).",
    ),
    ModelSpec(
        key="tok/sd-vae", name="SD VAE (ft-MSE)", task="tok", backend=_AUTOENCODER,
        repo_id="stabilityai/sd-vae-ft-mse", pipeline_class="AutoencoderKL", architecture="vae_sd", dtype="float32",
        guidance_param=None,
        size=SizeRule(default=512, minimum=64, maximum=2048, multiple=8), license="mit", vram_gb=1, cpu_ok=True,
        paper="High-Resolution Image Synthesis with Latent Diffusion Models (arXiv:2112.10752)",
        notes="f8, 4 latent channels (counted as float16).",
    ),
    ModelSpec(
        key="tok/sdxl-vae", name="SDXL VAE (fp16 fix)", task="tok", backend=_AUTOENCODER,
        repo_id="madebyollin/sdxl-vae-fp16-fix", pipeline_class="AutoencoderKL", architecture="vae_sdxl",
        dtype="float16", guidance_param=None, size=SizeRule(default=512, minimum=64, maximum=2048, multiple=8),
        license="mit", vram_gb=1, cpu_ok=True, paper="SDXL (arXiv:2307.01952)", notes="f8, 4 latent channels.",
    ),
    ModelSpec(
        key="tok/flux-vae", name="FLUX.1 VAE", task="tok", backend=_AUTOENCODER,
        repo_id="black-forest-labs/FLUX.1-schnell", pipeline_class="AutoencoderKL", architecture="vae_flux",
        dtype="bfloat16", guidance_param=None, call_kwargs={"subfolder": "vae"},
        size=SizeRule(default=512, minimum=64, maximum=2048, multiple=8), license="apache-2.0", vram_gb=1,
        cpu_ok=True, paper="FLUX.1 (Black Forest Labs, 2024)", notes="f8, 16 latent channels.",
    ),
    ModelSpec(
        key="tok/taesd", name="TAESD (tiny autoencoder)", task="tok", backend=_AUTOENCODER,
        repo_id="madebyollin/taesd", pipeline_class="AutoencoderTiny", architecture="taesd", dtype="float32",
        guidance_param=None,
        size=SizeRule(default=512, minimum=64, maximum=2048, multiple=8), license="mit", vram_gb=0.1, cpu_ok=True,
        paper="TAESD: Tiny AutoEncoder for Stable Diffusion (madebyollin, 2023)", notes="2.4M parameters, f8.",
    ),
    ModelSpec(
        key="tok/movq", name="MoVQ (Kandinsky 2.2 VQ-GAN)", task="tok", backend=_AUTOENCODER,
        repo_id="kandinsky-community/kandinsky-2-2-decoder", pipeline_class="VQModel", architecture="vqgan",
        dtype="float32", guidance_param=None, call_kwargs={"subfolder": "movq"},
        size=SizeRule(default=512, minimum=64, maximum=2048, multiple=8), license="apache-2.0", vram_gb=1,
        cpu_ok=True, paper="MoVQ: Modulating Quantized Vectors for High-Fidelity Image Generation (arXiv:2209.09002)",
        notes="Discrete: 16384 codes, f8 (14 bits per token); supports RobustTok's perturbation.",
    ),
    ModelSpec(
        key="tok/robusttok", name="RobustTok", task="tok", backend=_RESEARCH, repo_id="qiuk6/RobustTok",
        dtype="float32", guidance_param=None, call_kwargs={"module": "tokenizer.tokenizer_image.xqgan_model"},
        requires=("tokenizer",), license="see github.com/lxa9867/ImageFolder (LICENSE.md)",
        paper="RobustTok (arXiv:2503.08354): latent perturbation, pFID",
        notes="Needs the authors' code from github.com/lxa9867/ImageFolder (not on PyPI, not shipped here) and the "
              "RobustTok-zero.pt checkpoint; the adapter is not verified yet.",
    ),
    ModelSpec(
        key="tok/semanticist", name="Semanticist", task="tok", backend=_RESEARCH, repo_id="tennant/semanticist",
        dtype="float32", guidance_param=None, call_kwargs={"module": "semanticist"}, requires=("semanticist",),
        license="not stated by the authors",
        paper="\"Principal Components\" Enable a New Language of Images (arXiv:2503.08685)",
        notes="Needs the authors' code from github.com/visual-gen/semanticist (DiffuseSlot with a diffusion "
              "decoder; not on PyPI, not shipped here); the adapter is not verified yet.",
    ),
    ModelSpec(
        key="tok/titok", name="TiTok-L-32", task="tok", backend=_RESEARCH,
        repo_id="yucornetto/tokenizer_titok_l32_imagenet", dtype="float32", guidance_param=None,
        call_kwargs={"module": "modeling.titok"}, requires=("modeling",), license="apache-2.0 (code)",
        paper="An Image is Worth 32 Tokens for Reconstruction and Generation (TiTok, NeurIPS 2024)",
        notes="Needs github.com/bytedance/1d-tokenizer on the Python path (TiTok.from_pretrained); not shipped "
              "here; the adapter is not verified yet.",
    ),
    ModelSpec(
        key="tok/llamagen-vq", name="LlamaGen VQ-16", task="tok", backend=_RESEARCH,
        repo_id="FoundationVision/LlamaGen", dtype="float32", guidance_param=None,
        call_kwargs={"module": "tokenizer.tokenizer_image.vq_model"},
        requires=("tokenizer",), license="mit",
        paper="Autoregressive Model Beats Diffusion: LlamaGen (arXiv:2406.06525)",
        notes="Needs github.com/FoundationVision/LlamaGen (VQ_models) and vq_ds16_c2i.pt; not shipped here; the "
              "adapter is not verified yet.",
    ),
    ModelSpec(
        key="tok/lactok", name="LaCTok (Layton)", task="tok", backend=_RESEARCH, repo_id="OPPOer/LaCTok",
        dtype="float32", guidance_param=None, call_kwargs={"module": "vq_model"}, requires=("vq_model",),
        license="not stated by the authors",
        paper="Layton / LaCTok: 1024px images from 256 tokens with a latent-consistency decoder (arXiv:2503.08377)",
        notes="Needs github.com/Alpha-X-95/LaCToK (vq_model.py, the latent-consistency decoder) and flan-t5-xl; "
              "not shipped here; the adapter is not verified yet.",
    ),
    ModelSpec(
        key="metric/inception-fid", name="Inception-v3 (FID features)", task="metric",
        backend="backends.metrics:InceptionFeatures", dtype="float32", guidance_param=None, requires=("torchmetrics",),
        license="apache-2.0 (weights: torch-fidelity's port of TF Inception)", vram_gb=0.2, cpu_ok=True,
        paper="GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium (FID, "
              "arXiv:1706.08500)",
        notes="Optional: pip install 'torchmetrics[image]' (pulls torchvision) and network for the weights; "
              "rFID / pFID are reported as unavailable otherwise.",
    ),
    ModelSpec(
        key="ocr/rapidocr", name="RapidOCR (PP-OCR, zh/en)", task="ocr", backend="backends.ocr:RapidOCRBackend",
        dtype="float32", guidance_param=None, license="apache-2.0", languages=("zh", "en"), vram_gb=0.1,
        cpu_ok=True, paper="PP-OCR (arXiv:2009.09941) through RapidOCR's ONNX models, shipped inside the wheel",
        notes="Reads rendered text for the text-rendering check; runs offline on the CPU.",
    ),
)


def default_registry() -> Registry:
    """The studio's registry (validated on construction)."""
    return Registry(SPECS)
