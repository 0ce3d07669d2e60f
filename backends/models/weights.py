"""Where a model's weights come from, and the one place they are loaded: ``load_pretrained``.

The real profile loads from the Hugging Face hub (or its local cache); the tiny profile builds a random-weight
miniature of the same architecture, saves it with ``save_pretrained`` and loads that folder. Both end in the same
``Class.from_pretrained`` call with the registry's arguments (revision, subfolder, variant, dtype), then the same
placement policy (device, CPU offload). Fetching ahead of time (``make fetch MODEL=...``) uses diffusers' own
``DiffusionPipeline.download`` so the files picked (variant, safetensors) are exactly those ``from_pretrained``
will want.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import shutil
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from backends.core.errors import ModelUnavailable
from backends.core.recipe import Provenance, library_versions
from backends.core.run import ProgressFn
from backends.core.settings import Settings
from backends.models import device
from backends.models.spec import ModelSpec

log = logging.getLogger(__name__)
LIBRARIES: Mapping[str, str] = MappingProxyType({"diffusers": "diffusers", "transformers": "transformers"})


@dataclass
class Loaded:
    """A model (or pipeline) loaded by ``load_pretrained``, with how it was loaded.

    Attributes:
        model: the pipeline or model object.
        device: the device it runs on (its execution device under CPU offload).
        dtype: its weights dtype, e.g. ``"float16"``.
        revision: the commit loaded (real profile), or the miniature's id (tiny profile).
        seconds: how long loading took.
        versions: library versions, for recipes.
    """

    model: Any
    device: str
    dtype: str
    revision: str
    seconds: float
    versions: dict[str, str] = field(default_factory=dict)


def fetch_command(spec: ModelSpec) -> str:
    """The shell command that downloads ``spec``'s weights into the Hugging Face cache."""
    return f"make fetch MODEL={spec.key}"


def pretrained_source(spec: ModelSpec, settings: Settings, report: ProgressFn | None = None) -> tuple[str, dict]:
    """What to pass to ``from_pretrained``: a repo id or folder, plus the registry's keyword arguments.

    In the tiny profile the miniature is built and saved on first use (seconds) and then loaded from its folder;
    in the real profile the repo id is returned and downloads, if allowed, happen inside ``from_pretrained``.
    """
    if spec.repo_id is None or spec.class_name is None:
        raise ValueError(f"{spec.key} has no Hugging Face weights")
    if settings.profile == "tiny":
        return str(ensure_miniature(spec, settings, report)), {"local_files_only": True}
    kwargs: dict[str, Any] = {"revision": spec.revision, "local_files_only": settings.offline}
    if spec.variant:
        kwargs["variant"] = spec.variant
    if spec.subfolder:
        kwargs["subfolder"] = spec.subfolder
    if report is not None:
        where = "the local cache" if settings.offline else "the hub (or the local cache)"
        report(0.0, f"Loading {spec.name} ({spec.repo_id}) from {where}")
    return spec.repo_id, kwargs


def load_pretrained(spec: ModelSpec, settings: Settings, report: ProgressFn | None = None) -> Loaded:
    """Load ``spec`` with ``from_pretrained`` and place it on the device: the only loading code of the studio.

    1. where the weights are: a hub repo (real) or a saved miniature (tiny);
    2. the device and dtype policy;
    3. the same ``from_pretrained`` call in both profiles;
    4. placement: the whole model on the device, or (pipelines on CUDA) diffusers' CPU offload per
       ``STUDIO_OFFLOAD``.

    Raises:
        ModelUnavailable: the weights are not cached and cannot be downloaded, or the dtype is forbidden.
    """
    started = time.perf_counter()
    source, kwargs = pretrained_source(spec, settings, report)
    where = device.resolve_device(settings)
    dtype = device.resolve_dtype(settings, spec, where)
    library = importlib.import_module(LIBRARIES[spec.loader])
    try:
        model = getattr(library, spec.class_name).from_pretrained(source, dtype=dtype, **kwargs)
    except OSError as exc:
        raise missing_weights(spec, settings, exc) from exc
    if spec.is_pipeline:
        if where.startswith("cuda") and settings.offload == "model":
            model.enable_model_cpu_offload(device=where)
        elif where.startswith("cuda") and settings.offload == "sequential":
            model.enable_sequential_cpu_offload(device=where)
        else:
            model.to(where)
        model.set_progress_bar_config(disable=True)  # progress is reported per step through RunControl
    else:
        model.to(where).eval()
    return Loaded(model, where, str(dtype).removeprefix("torch."), loaded_revision(spec, settings),
                  time.perf_counter() - started, library_versions())


def load_processor(spec: ModelSpec, settings: Settings) -> Any:
    """The ``AutoProcessor`` (tokenizer, image processor, chat template) of a transformers model, read from the same
    repo, revision and subfolder (or miniature folder) as ``load_pretrained`` reads its weights.

    Raises:
        ModelUnavailable: the processor files are not cached and cannot be downloaded.
    """
    from transformers import AutoProcessor

    source, kwargs = pretrained_source(spec, settings)
    kwargs.pop("variant", None)  # weights only
    try:
        return AutoProcessor.from_pretrained(source, **kwargs)
    except OSError as exc:
        raise missing_weights(spec, settings, exc) from exc


def provenance(spec: ModelSpec, settings: Settings, loaded: Loaded) -> Provenance:
    """The provenance every output of a loaded model carries in its recipe."""
    return Provenance(
        model=spec.key, name=spec.name,
        repo_id=spec.repo_id if settings.profile == "real" else f"miniature of {spec.repo_id}",
        revision=loaded.revision, profile=settings.profile, pipeline=spec.class_name or "", device=loaded.device,
        dtype=loaded.dtype, versions=loaded.versions,
    )


def ensure_miniature(spec: ModelSpec, settings: Settings, report: ProgressFn | None = None) -> Path:
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
    if report is not None:
        report(0.0, f"Building the random-weight miniature of {spec.name} ({spec.architecture})")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.parent / f".{spec.architecture}-{uuid.uuid4().hex[:8]}"
    try:
        with device.flushed_denormals():
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
    if spec.is_pipeline:
        return "model_index.json"
    filename = getattr(spec.defaults, "filename", None) or "config.json"
    return f"{spec.subfolder}/{filename}" if spec.subfolder else filename


def is_cached(spec: ModelSpec) -> bool:
    """Whether the model's index file is in the local Hugging Face cache (a cheap proxy for "downloaded")."""
    if spec.repo_id is None:
        return False
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(spec.repo_id, index_file(spec), revision=spec.revision), str)


def checkpoint_root_file(spec: ModelSpec, settings: Settings, filename: str | None = None) -> Path | None:
    """A research checkpoint (``filename``, default the spec's) under a ``STUDIO_CHECKPOINT_ROOTS`` folder, as
    ``<root>/<repo id>/<file>`` or ``<root>/<file>``; None when there is none."""
    filename = filename or getattr(spec.defaults, "filename", None)
    if not filename:
        return None
    for root in settings.checkpoint_roots:
        for candidate in (root / str(spec.repo_id) / filename, root / filename):
            if candidate.is_file():
                return candidate
    return None


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
    if settings.profile == "tiny" and spec.loader == "code":  # research checkpoints: their adapters write these
        return settings.tiny_dir / str(spec.architecture)
    if settings.profile == "tiny":
        return ensure_miniature(spec, settings)
    try:
        if spec.is_pipeline:
            from diffusers import DiffusionPipeline

            kwargs = {"variant": spec.variant} if spec.variant else {}
            return Path(DiffusionPipeline.download(spec.repo_id, revision=spec.revision, **kwargs))
        from huggingface_hub import snapshot_download

        # A model in a subfolder of a larger repo (FLUX's VAE) needs only that folder.
        patterns = [f"{spec.subfolder}/*"] if spec.subfolder else None
        if spec.loader == "code" and getattr(spec.defaults, "filename", None):  # one released file, not the repo
            patterns = [spec.defaults.filename, *spec.defaults.options.get("fetch_also", ())]
        if needed_files(spec):  # a model made of several repos' files: each one
            from huggingface_hub import hf_hub_download

            for repo, name in needed_files(spec)[1:]:
                hf_hub_download(repo, name)
        return Path(snapshot_download(spec.repo_id, revision=spec.revision, allow_patterns=patterns))
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
    if needed_files(spec):
        return parts_availability(spec, settings)
    if is_cached(spec):
        return True, "in the local cache"
    if spec.loader == "code" and checkpoint_root_file(spec, settings):
        return True, "in a checkpoint root (STUDIO_CHECKPOINT_ROOTS)"
    if settings.offline:
        return False, f"not cached and HF_HUB_OFFLINE=1; run: {fetch_command(spec)}"
    return True, "downloads on first use"


def needed_files(spec: ModelSpec) -> list[tuple[str, str]]:
    """``(repo id, file)`` of every released file a ``code`` model is made of: its own file plus
    ``CodeDefaults.options["needs"]`` (other repos' files: a tokenizer, encoders, a decoder); empty for others."""
    needs = getattr(spec.defaults, "options", {}).get("needs", ()) if spec.loader == "code" else ()
    if not needs:
        return []
    return [(str(spec.repo_id), str(spec.defaults.filename)), *((str(r), str(f)) for r, f in needs)]


def _file_present(repo_id: str, filename: str, settings: Settings) -> bool:
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(repo_id, filename), str):
        return True
    return any((root / repo_id / filename).is_file() for root in settings.checkpoint_roots)


def parts_availability(spec: ModelSpec, settings: Settings) -> tuple[bool, str]:
    """Availability of a model made of several released files (``needed_files``): each missing file by name, and
    whether its weights fit the memory budget (``spec.vram_gb`` at the model card's dtype, scaled to the dtype it
    would run in: float32 on a CPU, ``STUDIO_DTYPE`` when set)."""
    missing = [f"{repo}/{name}" for repo, name in needed_files(spec) if not _file_present(repo, name, settings)]
    where = device.resolve_device(settings)
    dtype = str(device.resolve_dtype(settings, spec, where)).removeprefix("torch.")
    width = {"float32": 4, "float16": 2, "bfloat16": 2}
    need = spec.vram_gb * width.get(dtype, 4) / width.get(spec.dtype, 4)
    budget = device.memory_budget(settings) / 1024**3
    problems = []
    if missing and settings.offline:
        problems.append(f"missing {len(missing)} file(s) with HF_HUB_OFFLINE=1: {', '.join(missing)} "
                        f"(run: {fetch_command(spec)})")
    if need > budget:
        problems.append(f"needs about {need:.1f} GB for its weights in {dtype} on {where}, more than the "
                        f"{budget:.1f} GB memory budget here (STUDIO_CACHE_BUDGET_GB or the device's)")
    if problems:
        return False, "; ".join(problems)
    if missing:
        return True, f"downloads on first use: {', '.join(missing)}"
    return True, "in the local cache"


def module_bytes(model: Any) -> int:
    """Bytes of every parameter and buffer of a torch module, or of a diffusers pipeline's modules (0 for None)."""
    if model is None:
        return 0
    modules = model.components.values() if hasattr(model, "components") else [model]
    return sum(t.numel() * t.element_size() for m in modules
               for t in (*getattr(m, "parameters", list)(), *getattr(m, "buffers", list)()))
