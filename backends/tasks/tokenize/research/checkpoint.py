"""Checkpoint files of the research tokenizers: where they are found, how they are unpickled safely, unwrapped from
their training containers, renamed, compared with an adapter key by key, and how miniatures are written in the
released container layouts.

Released files are training pickles (``{"model", "ema", "optimizer", ..., "args": argparse.Namespace}``), flat
state dicts (``.pkl`` / ``.bin``), ``safetensors`` files or LDM ``{"state_dict": ...}`` files. They are read with
``torch.load(weights_only=True)`` with only ``argparse.Namespace`` allow-listed: the studio never runs
``weights_only=False`` on a downloaded file.
"""

from __future__ import annotations

import argparse
import os
import pickle
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.core.errors import ModelUnavailable
from backends.core.settings import Settings
from backends.models import weights
from backends.models.spec import ModelSpec

TRAINING_ENTRIES = ("ema", "model", "state_dict")  # the authors' loaders prefer EMA weights when present
COMPILE_PREFIXES = ("._orig_mod", "_orig_mod.")  # torch.compile wrappers (Semanticist's EMA export)


@dataclass(frozen=True)
class KeyReport:
    """How a checkpoint's tensors line up with what an adapter expects.

    Attributes:
        missing: keys the adapter needs that the file lacks.
        unexpected: keys the file has that the adapter does not know (after the documented drops).
        misshaped: ``(key, expected shape, shape in the file)`` for keys both have with different shapes.
        dropped: keys removed on purpose before comparing (documented per adapter, e.g. ``semantic_model.*``).
        entry: the container entry the state dict came from (``ema``, ``model``, ``state_dict`` or ``flat``).
    """

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    misshaped: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]
    dropped: tuple[str, ...] = ()
    entry: str = "flat"

    @property
    def ok(self) -> bool:
        """Whether the file loads strictly: nothing missing, unexpected or mis-shaped."""
        return not (self.missing or self.unexpected or self.misshaped)

    def describe(self, limit: int = 12) -> str:
        """A readable multi-line summary (at most ``limit`` keys per list)."""

        def listed(title: str, items: Sequence[str]) -> list[str]:
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            return [f"{title} ({len(items)}){more}:", *(f"  {item}" for item in items[:limit])] if items else []

        lines = [f"entry used: {self.entry}"]
        lines += listed("missing", self.missing) + listed("unexpected", self.unexpected)
        lines += listed("mis-shaped (key: expected vs file)",
                        [f"{k}: {list(a)} vs {list(b)}" for k, a, b in self.misshaped])
        lines += listed("dropped by design", _prefixes(self.dropped))
        if self.ok:
            lines.append("every key and shape matches")
        return "\n".join(lines)


def _prefixes(keys: Sequence[str]) -> list[str]:
    """Dropped keys summarised by their longest shared dotted prefix per first component
    (``semantic_model.* (174 tensors)``, ``dit.projector.* (6 tensors)``)."""
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(key.split(".")[0], []).append(key)
    lines = []
    for members in groups.values():
        if len(members) == 1:
            lines.append(members[0])
            continue
        shared = os.path.commonprefix(members)
        lines.append(f"{shared[: shared.rfind('.') + 1]}* ({len(members)} tensors)")
    return lines


def shapes_of(state: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a state dict (tensors) or of a manifest (shape lists)."""
    return {k: tuple(int(s) for s in (v.shape if hasattr(v, "shape") else v)) for k, v in state.items()}


def compare(expected: Mapping[str, Any], found: Mapping[str, Any], dropped: Iterable[str] = (),
            entry: str = "flat") -> KeyReport:
    """The key report of ``found`` against ``expected`` (both key -> tensor or shape)."""
    want, have = shapes_of(expected), shapes_of(found)
    return KeyReport(
        missing=tuple(sorted(set(want) - set(have))), unexpected=tuple(sorted(set(have) - set(want))),
        misshaped=tuple(sorted((k, want[k], have[k]) for k in set(want) & set(have) if want[k] != have[k])),
        dropped=tuple(sorted(dropped)), entry=entry)


# --------------------------------------------------------------------------------------------------------------------
# Finding and reading files
# --------------------------------------------------------------------------------------------------------------------
def find_released(spec: ModelSpec, settings: Settings, filename: str) -> Path:
    """The released file: under a configured checkpoint root (``<root>/<repo id>/<file>`` or ``<root>/<file>``),
    else ``hf_hub_download`` of ``spec.repo_id`` / ``filename`` at ``spec.revision`` (the cache only when offline).

    Raises:
        ModelUnavailable: the file is nowhere to be found, naming it and the command that fetches it.
    """
    local = weights.checkpoint_root_file(spec, settings, filename)
    if local is not None:
        return local
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

    try:
        return Path(hf_hub_download(str(spec.repo_id), filename, revision=spec.revision,
                                    local_files_only=settings.offline))
    except (OSError, HfHubHTTPError, EntryNotFoundError, ValueError) as exc:
        error = weights.missing_weights(spec, settings, exc)
        raise ModelUnavailable(f"{filename}: {error}") from exc


def snapshot_revision(path: Path) -> str:
    """The commit of a file inside a Hugging Face cache snapshot, or ``local file <path>`` elsewhere."""
    parts = path.parts
    if "snapshots" in parts and parts.index("snapshots") + 1 < len(parts):
        return parts[parts.index("snapshots") + 1]
    return f"local file {path}"


def read_file(path: Path) -> Any:
    """What a checkpoint file holds, unpickled safely (tensors, containers and ``argparse.Namespace`` only).

    Raises:
        ModelUnavailable: the file needs Python objects the safe unpickler refuses, or is not a checkpoint.
    """
    import torch

    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            # Zip checkpoints are memory-mapped, so a multi-GB file is not copied into RAM before loading.
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ModelUnavailable(
            f"{path.name} holds Python objects the safe unpickler refuses ({first}). The studio only allows "
            "tensors, containers and argparse.Namespace and never unpickles with weights_only=False; re-save the "
            "state dict alone (torch.save(checkpoint['model'], ...)) on a machine you trust") from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise ModelUnavailable(f"{path.name} is not a readable torch checkpoint: {exc}") from exc


def unwrap(content: Any, prefer: Sequence[str] = TRAINING_ENTRIES) -> tuple[dict[str, Any], str]:
    """The state dict inside a training container (the first of ``prefer`` present), or a flat state dict.

    Raises:
        ModelUnavailable: neither a flat state dict nor a container with one of the entries.
    """
    if not isinstance(content, Mapping):
        raise ModelUnavailable(f"the checkpoint holds a {type(content).__name__}, not a state dict")
    for name in prefer:
        if isinstance(content.get(name), Mapping):
            return dict(content[name]), name
    if content and all(hasattr(v, "shape") for v in content.values()):
        return dict(content), "flat"
    raise ModelUnavailable(f"the checkpoint has none of the entries {list(prefer)} and is not a flat state dict "
                           f"(top-level entries: {sorted(map(str, content))[:10]})")


def clean(state: Mapping[str, Any], drop_prefixes: Sequence[str] = (),
          renames: Mapping[str, str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Strip torch.compile wrappers, apply prefix renames and drop the documented prefixes.

    Returns:
        ``(state, dropped keys)``.
    """
    out: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in state.items():
        name = key.replace(COMPILE_PREFIXES[0], "").removeprefix(COMPILE_PREFIXES[1])
        for old, new in (renames or {}).items():
            if name.startswith(old):
                name = new + name[len(old):]
        if any(name.startswith(prefix) for prefix in drop_prefixes):
            dropped.append(name)
        else:
            out[name] = value
    return out, dropped


def load_strict(module: Any, state: Mapping[str, Any], what: str) -> None:
    """Load ``state`` into ``module`` (built on the meta device) with every key and shape checked first.

    Raises:
        ModelUnavailable: missing, unexpected or mis-shaped keys, listed, with the command that reports them all.
    """
    report = compare(module.state_dict(), state)
    if not report.ok:
        raise ModelUnavailable(f"{what} does not match its adapter:\n{report.describe(limit=6)}\n"
                               "Run `python app.py --check-weights <model key> <file>` for the full list.")
    module.load_state_dict(dict(state), strict=True, assign=True)


# --------------------------------------------------------------------------------------------------------------------
# Writing miniatures in the released containers
# --------------------------------------------------------------------------------------------------------------------
def save_training_container(path: Path, state: Mapping[str, Any], args: Mapping[str, Any],
                            entries: Sequence[str] = ("model", "ema")) -> None:
    """A training checkpoint as the authors' trainers write it: the state dict under ``entries``, empty optimizer
    and discriminator states, the step count and the ``argparse.Namespace`` of the training arguments."""
    import torch

    content: dict[str, Any] = {name: dict(state) for name in entries}
    content.update(optimizer={}, discriminator={}, optimizer_disc={}, steps=0, args=argparse.Namespace(**args))
    torch.save(content, path)


def save_flat(path: Path, state: Mapping[str, Any]) -> None:
    """A flat state dict: ``safetensors`` for ``.safetensors`` paths, a torch pickle otherwise."""
    if Path(path).suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        import torch

        torch.save(dict(state), path)
