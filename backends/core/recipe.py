"""Recipes: everything needed to reproduce an output, written into each PNG and shown in the UI.

``make_recipe`` is the one place a recipe is built. What is the same for every output of a loaded model (key, repo,
revision, profile, device, dtype, library versions) comes in as a ``Provenance``, which the model layer derives
from the registry entry and the load; what varies per run (seed, size, steps, prompt, timings) comes as arguments;
what can be derived (prompt language, text to render) is derived here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from backends.core.text import detect_language, extract_quoted

VERSIONED_LIBRARIES = ("torch", "diffusers", "transformers")  # the libraries that shape the pixels


@dataclass
class Recipe:
    """Everything needed to reproduce an output; written into each PNG and shown in the UI.

    Attributes:
        model: registry key, e.g. ``"t2i/kolors"``.
        name: display name.
        repo_id: Hugging Face repo (or ``ark:<model>`` for the remote API, or the miniature's folder).
        revision: the commit actually loaded, when known.
        profile: ``"real"`` or ``"tiny"`` (random-weight miniature).
        pipeline: the diffusers pipeline class (or API name).
        scheduler: the scheduler class used.
        seed: the seed used.
        steps: denoising steps used (None for remote APIs that do not expose them).
        guidance: guidance value used.
        guidance_param: which call parameter received it.
        width: width in pixels.
        height: height in pixels.
        prompt: the prompt.
        negative_prompt: the negative prompt.
        language: detected prompt language: ``"zh"``, ``"en"`` or ``"mixed"``.
        quoted_text: text the prompt asks to render.
        device: where it ran.
        dtype: weights dtype.
        load_seconds: time spent loading the model for this request (0 when already loaded).
        run_seconds: time of the generation itself.
        extra: model-specific call parameters (e.g. ``max_sequence_length``).
        versions: library versions that produced it.
        weight_free: the model has no weights at all (a codec computed from the image), so the tiny profile
            changes nothing about it: it is not a random-weight miniature.
    """

    model: str
    name: str
    repo_id: str
    revision: str
    profile: str
    pipeline: str
    scheduler: str
    seed: int
    steps: int | None
    guidance: float | None
    guidance_param: str | None
    width: int
    height: int
    prompt: str
    negative_prompt: str
    language: str
    quoted_text: list[str]
    device: str
    dtype: str
    load_seconds: float = 0.0
    run_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    weight_free: bool = False

    @property
    def random_weights(self) -> bool:
        """True for outputs of the tiny profile's random-weight miniatures (never for a weight-free model)."""
        return self.profile == "tiny" and not self.weight_free

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the PNG's JSON chunk and the API's recipe)."""
        data = asdict(self)
        data["random_weights"] = self.random_weights
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        """Rebuild a recipe read back from a PNG, ignoring derived keys."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Provenance:
    """What every output of one loaded model shares.

    Attributes:
        model: registry key.
        name: display name.
        repo_id: where the weights came from (a hub repo, ``miniature of <repo>``, ``ark:<model>``...).
        revision: the commit or version loaded.
        profile: ``"real"``, ``"tiny"`` or ``"remote"``.
        pipeline: the class (or API) that ran.
        device: where it runs.
        dtype: weights dtype.
        versions: library versions.
        weight_free: the model has no weights (e.g. a codec fitted on the image it encodes).
    """

    model: str
    name: str
    repo_id: str
    revision: str
    profile: str
    pipeline: str
    device: str = "cpu"
    dtype: str = "float32"
    versions: Mapping[str, str] = field(default_factory=dict)
    weight_free: bool = False


def make_recipe(
    source: Provenance,
    *,
    seed: int,
    width: int,
    height: int,
    prompt: str = "",
    negative_prompt: str = "",
    steps: int | None = None,
    guidance: float | None = None,
    guidance_param: str | None = None,
    scheduler: str = "n/a",
    load_seconds: float = 0.0,
    run_seconds: float = 0.0,
    extra: Mapping[str, Any] | None = None,
) -> Recipe:
    """The recipe of one output: the model's provenance plus this run's settings (the only recipe builder).

    Args:
        source: the loaded model's provenance.
        seed: the seed actually used.
        width: output width in pixels.
        height: output height in pixels.
        prompt: the prompt ("" for tasks without one); its language and quoted text are derived from it.
        negative_prompt: the negative prompt.
        steps: denoising steps used.
        guidance: guidance value used.
        guidance_param: the call parameter that received it.
        scheduler: the scheduler class used.
        load_seconds: load time charged to this output (0 when the model was already loaded).
        run_seconds: time of the run itself.
        extra: task-specific settings.
    """
    prompt = prompt.strip()
    return Recipe(
        model=source.model, name=source.name, repo_id=source.repo_id, revision=source.revision,
        profile=source.profile, pipeline=source.pipeline, scheduler=scheduler, seed=int(seed), steps=steps,
        guidance=guidance, guidance_param=guidance_param, width=int(width), height=int(height), prompt=prompt,
        negative_prompt=negative_prompt.strip(), language=detect_language(prompt), quoted_text=extract_quoted(prompt),
        device=source.device, dtype=source.dtype, load_seconds=round(load_seconds, 3),
        run_seconds=round(run_seconds, 3), extra=dict(extra or {}), versions=dict(source.versions),
        weight_free=source.weight_free,
    )


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the pixels, for the recipe (call once per load: it scans metadata)."""
    versions = {}
    for name in VERSIONED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
