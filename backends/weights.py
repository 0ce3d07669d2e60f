"""Where a model's weights come from: the Hugging Face hub (real profile) or a saved miniature (tiny profile).

Both profiles end in the same ``from_pretrained`` call: the tiny profile only swaps the repo id for the folder its
random-weight miniature was saved to. Fetching ahead of time (``make fetch MODEL=...``) uses diffusers' own
``DiffusionPipeline.download`` so the files picked (variant, safetensors) are exactly those ``from_pretrained``
will want.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import uuid
from pathlib import Path
from typing import Any

from backends.base import ModelUnavailable, ProgressFn
from backends.registry import ModelSpec
from backends.settings import Settings

log = logging.getLogger(__name__)


def fetch_command(spec: ModelSpec) -> str:
    """The shell command that downloads ``spec``'s weights into the Hugging Face cache."""
    return f"make fetch MODEL={spec.key}"


def pretrained_source(spec: ModelSpec, settings: Settings, progress: ProgressFn | None = None) -> tuple[str, dict]:
    """What to pass to ``from_pretrained``: a repo id or folder, plus keyword arguments.

    In the tiny profile the miniature is built and saved on first use (seconds) and then loaded from its folder;
    in the real profile the repo id is returned and downloads, if allowed, happen inside ``from_pretrained``.
    """
    if spec.repo_id is None or spec.pipeline_class is None:
        raise ValueError(f"{spec.key} has no Hugging Face weights")
    if settings.profile == "tiny":
        return str(ensure_miniature(spec, settings, progress)), {"local_files_only": True}
    kwargs: dict[str, Any] = {"revision": spec.revision, "local_files_only": settings.offline}
    if spec.variant:
        kwargs["variant"] = spec.variant
    if progress is not None:
        where = "the local cache" if settings.offline else "the hub (or the local cache)"
        progress(0.0, f"Loading {spec.name} ({spec.repo_id}) from {where}")
    return spec.repo_id, kwargs


def ensure_miniature(spec: ModelSpec, settings: Settings, progress: ProgressFn | None = None) -> Path:
    """The folder of ``spec``'s random-weight miniature, built and saved first if it is not there yet.

    Models sharing an architecture share a miniature. The miniature is saved into a temporary folder and renamed
    into place, so concurrent builders (threads or processes) never see a half-written folder.
    """
    from backends import tiny

    if spec.architecture is None:
        raise ModelUnavailable(f"{spec.key} has no miniature in the tiny profile")
    target = settings.tiny_dir / spec.architecture
    if (target / "model_index.json").is_file() or (target / "config.json").is_file():  # a pipeline, or one model
        return target
    if progress is not None:
        progress(0.0, f"Building the random-weight miniature of {spec.name} ({spec.architecture})")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.parent / f".{spec.architecture}-{uuid.uuid4().hex[:8]}"
    try:
        tiny.build_miniature(spec.architecture, scratch)
        try:
            scratch.rename(target)
        except OSError:  # another builder won the race; its copy is identical (same seed)
            log.info("miniature %s already built by another worker", spec.architecture)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def loaded_revision(spec: ModelSpec, settings: Settings) -> str:
    """The commit that was loaded (from the hub cache), ``main`` when unknown, or the miniature's id."""
    if settings.profile == "tiny":
        return f"tiny:{spec.architecture}:seed0"
    from huggingface_hub import try_to_load_from_cache

    path = try_to_load_from_cache(spec.repo_id, index_file(spec), revision=spec.revision)
    if isinstance(path, str) and "/snapshots/" in path:
        return path.split("/snapshots/")[1].split("/")[0]
    return spec.revision


def index_file(spec: ModelSpec) -> str:
    """The file whose presence marks a downloaded model: a pipeline's index, or a single model's config."""
    if (spec.pipeline_class or "").endswith("Pipeline"):
        return "model_index.json"
    subfolder = spec.call_kwargs.get("subfolder")
    return f"{subfolder}/config.json" if subfolder else "config.json"


def is_cached(spec: ModelSpec) -> bool:
    """Whether the model's index file is in the local Hugging Face cache (a cheap proxy for "downloaded")."""
    if spec.repo_id is None:
        return False
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(spec.repo_id, index_file(spec), revision=spec.revision), str)


def missing_weights(spec: ModelSpec, settings: Settings, exc: BaseException) -> ModelUnavailable:
    """The error for weights that could not be found or downloaded, naming the model and the fix."""
    reason = "the hub is offline (HF_HUB_OFFLINE=1)" if settings.offline else "they could not be downloaded"
    return ModelUnavailable(
        f"{spec.name} ({spec.key}, {spec.repo_id}) is not in the local Hugging Face cache and {reason}. "
        f"Fetch it on a machine with network access with: {fetch_command(spec)}  ({type(exc).__name__}: "
        f"{str(exc).splitlines()[0][:200] if str(exc) else 'no details'})"
    )


def fetch(spec: ModelSpec, settings: Settings) -> Path:
    """Download ``spec``'s weights into the Hugging Face cache and return the snapshot folder.

    Raises:
        ModelUnavailable: the model has no hub weights, or the download failed.
    """
    if spec.remote or spec.repo_id is None:
        raise ModelUnavailable(f"{spec.key} has no weights to fetch ({'remote API' if spec.remote else 'bundled'})")
    if settings.profile == "tiny":
        return ensure_miniature(spec, settings)
    try:
        if (spec.pipeline_class or "").endswith("Pipeline"):
            from diffusers import DiffusionPipeline

            kwargs = {"variant": spec.variant} if spec.variant else {}
            return Path(DiffusionPipeline.download(spec.repo_id, revision=spec.revision, **kwargs))
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec.repo_id, revision=spec.revision))
    except OSError as exc:
        raise missing_weights(spec, settings, exc) from exc


def availability(spec: ModelSpec, settings: Settings) -> tuple[bool, str]:
    """Whether ``spec`` can run here now, and why not.

    Remote models need their API key; in the tiny profile every model with a miniature is available (built on
    first use); in the real profile a model is available when it is cached or the hub may be contacted.
    """
    if spec.remote:
        return (True, "API key set") if settings.ark_api_key else (False, "set ARK_API_KEY to enable")
    missing = [m for m in spec.requires if importlib.util.find_spec(m) is None]
    if missing:
        return False, f"needs the authors' code ({', '.join(missing)}): {spec.notes}"
    if spec.repo_id is None:
        return True, "bundled with the studio"
    if settings.profile == "tiny":
        if spec.architecture is None:
            return False, "no miniature in the tiny profile"
        return True, "random-weight miniature"
    if is_cached(spec):
        return True, "in the local cache"
    if settings.offline:
        return False, f"not cached and HF_HUB_OFFLINE=1; run: {fetch_command(spec)}"
    return True, "downloads on first use"


def pipeline_bytes(pipe: Any) -> int:
    """Bytes of every parameter and buffer of a diffusers pipeline's torch modules (0 for None)."""
    if pipe is None:
        return 0
    return sum(t.numel() * t.element_size() for c in pipe.components.values()
               for t in (*getattr(c, "parameters", list)(), *getattr(c, "buffers", list)()))
