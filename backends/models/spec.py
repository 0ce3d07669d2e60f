"""``ModelSpec``: one typed, validated entry of the model table.

A spec says where a model's weights come from and how to load them (``loader``: ``diffusers``, ``transformers``,
``api``, ``code`` or ``builtin``), which backend runs it, and its call defaults, typed per loader: a diffusion
pipeline has steps and guidance, a vision-language model has token limits, a built-in codec has options. The
entries themselves live in ``backends.models.catalog``, one data-only module per task.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from backends.core.errors import InvalidInput
from backends.core.validation import check_number

TASKS = ("t2i", "ocr", "hand", "inpaint", "tryon", "face", "tok", "metric")
LOADERS = ("diffusers", "transformers", "api", "code", "builtin")
DTYPE_NAMES = ("float32", "float16", "bfloat16")
GUIDANCE_PARAMS = ("guidance_scale", "true_cfg_scale", "guider", "distilled_guidance_scale")
_KEY = re.compile(r"^(?P<task>[a-z0-9]+)/[a-z0-9][a-z0-9.\-]*$")
_BACKEND = re.compile(r"^[a-z_][a-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    # A frozen dataclass may still hold a mutable dict; freeze it so specs are safe to share between threads.
    return MappingProxyType(dict(mapping))


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


# --------------------------------------------------------------------------------------------------------------------
# Call defaults, one type per loader
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GenerationDefaults:
    """Call defaults of an image generator (a diffusers pipeline or an image API); empty for a single model.

    Attributes:
        steps: default denoising steps (None when not applicable).
        max_steps: upper bound accepted for steps.
        guidance: default guidance value.
        guidance_param: the call parameter that takes guidance (None: not adjustable).
        supports_negative: whether a negative prompt has an effect.
        call_kwargs: fixed extra call arguments from the model card.
    """

    steps: int | None = None
    max_steps: int = 200
    guidance: float | None = None
    guidance_param: str | None = None
    supports_negative: bool = True
    call_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.steps is not None and not 1 <= self.steps <= self.max_steps:
            raise ValueError(f"default steps {self.steps} outside 1..{self.max_steps}")
        if self.guidance_param is not None and self.guidance_param not in GUIDANCE_PARAMS:
            raise ValueError(f"guidance_param {self.guidance_param!r} not in {GUIDANCE_PARAMS}")
        if self.guidance is not None and self.guidance < 0:
            raise ValueError("default guidance must be >= 0")
        object.__setattr__(self, "call_kwargs", _frozen(self.call_kwargs))


@dataclass(frozen=True)
class TransformersDefaults:
    """Call defaults of a transformers model (a vision-language model answering questions).

    Attributes:
        max_new_tokens: longest answer generated.
        do_sample: sample instead of greedy decoding.
        temperature: sampling temperature (with ``do_sample``).
        top_p: nucleus sampling mass (with ``do_sample``).
        call_kwargs: fixed extra ``generate`` arguments from the model card.
    """

    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    call_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise ValueError("temperature must be > 0 and top_p in (0, 1]")
        object.__setattr__(self, "call_kwargs", _frozen(self.call_kwargs))


@dataclass(frozen=True)
class CodeDefaults:
    """Defaults of a model whose architecture is written in this project (research checkpoints).

    Attributes:
        filename: the checkpoint file inside the repo (None: the adapter knows).
        options: architecture and call options of the adapter.
    """

    filename: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", _frozen(self.options))


@dataclass(frozen=True)
class BuiltinDefaults:
    """Options of an engine that needs no download (weight-free codecs, models bundled in a wheel).

    Attributes:
        options: the engine's constructor options.
    """

    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", _frozen(self.options))


Defaults = GenerationDefaults | TransformersDefaults | CodeDefaults | BuiltinDefaults
LOADER_DEFAULTS: Mapping[str, type] = MappingProxyType({
    "diffusers": GenerationDefaults,
    "api": GenerationDefaults,
    "transformers": TransformersDefaults,
    "code": CodeDefaults,
    "builtin": BuiltinDefaults,
})


@dataclass(frozen=True)
class ModelSpec:
    """One model the studio can run.

    Attributes:
        key: ``"<task>/<name>"``, stable across profiles (API and database use it).
        name: display name.
        task: what it does (``t2i``, ``ocr``, ...).
        backend: ``"module:Class"`` implementing the Backend protocol; imported only when the model loads.
        loader: how its weights are loaded: ``diffusers`` / ``transformers`` (``from_pretrained`` of
            ``class_name``), ``api`` (a network service), ``code`` (a checkpoint loaded into this project's own
            modules) or ``builtin`` (nothing to download).
        defaults: call defaults, of the type ``LOADER_DEFAULTS[loader]`` (filled in when omitted).
        repo_id: Hugging Face repo id (None for remote APIs and bundled engines).
        revision: branch, tag or commit to load.
        class_name: the diffusers / transformers class ``from_pretrained`` is called on (a pipeline or a model).
        subfolder: the folder of the repo holding the model, if not its root.
        variant: weights variant on the hub (e.g. ``"fp16"``: ``*.fp16.safetensors``).
        architecture: id of the random-weight miniature in ``backends.tiny`` (None: no miniature needed).
        dtype: the model card's dtype on a GPU.
        forbidden_dtypes: dtypes the model breaks in.
        size: accepted output (or input) sizes.
        license: license name of the weights.
        languages: prompt languages the model was trained for.
        requires: Python modules the backend needs beyond requirements.txt; unavailable without.
        vram_gb: approximate accelerator memory at the default size, in GB.
        cpu_ok: whether running it on a CPU is practical.
        paper: the paper or report it stands for.
        notes: quirks worth knowing, shown in the Models tab.
    """

    key: str
    name: str
    task: str
    backend: str
    loader: str
    defaults: Defaults | None = None
    repo_id: str | None = None
    revision: str = "main"
    class_name: str | None = None
    subfolder: str | None = None
    variant: str | None = None
    architecture: str | None = None
    dtype: str = "float16"
    forbidden_dtypes: tuple[str, ...] = ()
    size: SizeRule = field(default_factory=SizeRule)
    license: str = ""
    languages: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    vram_gb: float = 0.0
    cpu_ok: bool = False
    paper: str = ""
    notes: str = ""

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
        if self.loader not in LOADERS:
            raise ValueError(f"{self.key}: loader {self.loader!r} is not one of {LOADERS}")
        expected = LOADER_DEFAULTS[self.loader]
        if self.defaults is None:
            object.__setattr__(self, "defaults", expected())
        elif not isinstance(self.defaults, expected):
            raise ValueError(f"{self.key}: a {self.loader} model takes {expected.__name__}, "
                             f"not {type(self.defaults).__name__}")
        if self.loader in ("diffusers", "transformers") and (self.repo_id is None or self.class_name is None):
            raise ValueError(f"{self.key}: a {self.loader} model needs a repo_id and a class_name")
        if self.loader == "api" and self.repo_id is not None:
            raise ValueError(f"{self.key}: an api model has no repo_id")
        if self.dtype not in DTYPE_NAMES or not set(self.forbidden_dtypes) <= set(DTYPE_NAMES):
            raise ValueError(f"{self.key}: dtypes must be among {DTYPE_NAMES}")
        if self.dtype in self.forbidden_dtypes:
            raise ValueError(f"{self.key}: default dtype {self.dtype} is also forbidden")
        if self.vram_gb < 0:
            raise ValueError(f"{self.key}: vram_gb must be >= 0")

    @property
    def remote(self) -> bool:
        """Runs through a network API rather than local weights."""
        return self.loader == "api"

    @property
    def is_pipeline(self) -> bool:
        """Whether ``class_name`` is a whole diffusers pipeline (``model_index.json``) rather than one model."""
        return (self.class_name or "").endswith("Pipeline")

    @property
    def generation(self) -> GenerationDefaults:
        """The generation defaults (for ``diffusers`` and ``api`` models).

        Raises:
            TypeError: the model is not a generator.
        """
        if not isinstance(self.defaults, GenerationDefaults):
            raise TypeError(f"{self.key} is a {self.loader} model without generation defaults")
        return self.defaults

    def describe(self) -> dict[str, Any]:
        """The spec as plain JSON-ready data (the Models tab and ``/models``)."""
        gen = self.defaults if isinstance(self.defaults, GenerationDefaults) else None
        return {
            "key": self.key,
            "name": self.name,
            "task": self.task,
            "loader": self.loader,
            "repo_id": self.repo_id,
            "revision": self.revision,
            "pipeline": self.class_name,
            "subfolder": self.subfolder,
            "variant": self.variant,
            "dtype": self.dtype,
            "steps": gen.steps if gen else None,
            "guidance": gen.guidance if gen else None,
            "guidance_param": gen.guidance_param if gen else None,
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
