"""Where OmniMamba's parts come from and how they are read: safely, strictly, and only what a task needs.

A run of OmniMamba needs five released things; the registry entry names them (``CodeDefaults.options``):

====================  ==========================================  ===============================================
part                  released as                                 read with
====================  ==========================================  ===============================================
``main``              ``hustvl/OmniMamba`` / OmniMamba-1.3b.pth    ``torch.load(weights_only=True)``, key map, strict
``tokenizer``         ``EleutherAI/gpt-neox-20b``                  ``AutoTokenizer`` + [PAD] + the 9 task tokens
``dino``, ``siglip``  ``facebook/dinov2-with-registers-large``,    ``from_pretrained`` (understanding only)
                      ``google/siglip-so400m-patch14-384``
``vq``                ``peizesun/llamagen_t2i`` / vq_ds16_t2i.pt  ``torch.load(weights_only=True)`` (generation only)
====================  ==========================================  ===============================================

In the real profile files come from a ``STUDIO_CHECKPOINT_ROOTS`` folder (``<root>/<repo id>/<file>``) or the Hugging
Face cache (downloaded unless ``HF_HUB_OFFLINE=1``); in the tiny profile from the miniature's folder
(``backends.tiny.omnimamba``: the same files under the same names, folders for the ``from_pretrained`` parts).

The main file is checked key by key against the whole model built on the meta device (nothing missing, nothing
unexpected, no shape differs), loaded with ``assign=True``, and then the other task's modules are dropped (the
generation heads and VQ embedding for understanding, the projector and ``lm_head`` for generation), so each task holds
only what it runs.
"""

from __future__ import annotations

import argparse
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from backends.core.errors import ModelUnavailable
from backends.core.run import ProgressFn
from backends.core.settings import Settings
from backends.models import weights
from backends.models.spec import ModelSpec
from backends.tasks.omnimamba import keymap
from backends.tasks.omnimamba.config import OmniMambaConfig, infer_config
from backends.tasks.omnimamba.model import build_lm, tie_heads
from backends.tasks.omnimamba.types import PAD_TOKEN, SPECIAL_TOKENS

MINIATURE_FOLDERS: Mapping[str, str] = MappingProxyType({"tokenizer": "tokenizer", "dino": "dinov2",
                                                          "siglip": "siglip"})
#: Modules each task does not run, dropped after the strict load.
UNUSED: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "mmu": ("img_embeddings", "img_head", "caption_embed", "pos_embed"),
    "t2i": ("projector", "mmu_pos_embed", "lm_head"),
})


@dataclass
class Parts:
    """What ``find_parts`` located: files to read and sources for ``from_pretrained``."""

    main: Path
    tokenizer: str
    dino: str | None = None
    siglip: str | None = None
    vq: Path | None = None
    pretrained_kwargs: dict[str, Any] | None = None


def _option(spec: ModelSpec, name: str) -> Any:
    value = spec.defaults.options.get(name)
    if value is None:
        raise ModelUnavailable(f"{spec.key} names no {name} in its registry entry")
    return value


def released_file(spec: ModelSpec, settings: Settings, repo_id: str, filename: str, revision: str = "main") -> Path:
    """A released file: ``<root>/<repo id>/<file>`` under a checkpoint root, else ``hf_hub_download`` (the local
    cache only when offline).

    Raises:
        ModelUnavailable: not found, naming the repo, the file and the command that fetches it.
    """
    for root in settings.checkpoint_roots:
        if (root / repo_id / filename).is_file():
            return root / repo_id / filename
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision, local_files_only=settings.offline))
    except (OSError, HfHubHTTPError, EntryNotFoundError, ValueError) as exc:
        why = weights.missing_weights(spec, settings, exc)
        raise ModelUnavailable(f"{spec.name} needs {repo_id}/{filename}: {why}") from exc


def find_parts(spec: ModelSpec, settings: Settings, task: str, report: ProgressFn | None = None) -> Parts:
    """The files and ``from_pretrained`` sources of ``task`` (``mmu`` or ``t2i``) for the profile."""
    filename = str(spec.defaults.filename)
    if settings.profile == "tiny":
        folder = weights.ensure_miniature(spec, settings, report)
        parts = Parts(main=folder / filename, tokenizer=str(folder / MINIATURE_FOLDERS["tokenizer"]),
                      pretrained_kwargs={"local_files_only": True})
        if task == "mmu":
            parts.dino = str(folder / MINIATURE_FOLDERS["dino"])
            parts.siglip = str(folder / MINIATURE_FOLDERS["siglip"])
        else:
            parts.vq = folder / str(_option(spec, "vq")[1])
        return parts
    if report is not None:
        report(0.0, f"Loading {spec.name}: {spec.repo_id}/{filename} and its parts")
    parts = Parts(main=released_file(spec, settings, str(spec.repo_id), filename, spec.revision),
                  tokenizer=str(_option(spec, "tokenizer")), pretrained_kwargs={"local_files_only": settings.offline})
    if task == "mmu":
        parts.dino, parts.siglip = str(_option(spec, "dino")), str(_option(spec, "siglip"))
    else:
        repo, name = _option(spec, "vq")
        parts.vq = released_file(spec, settings, str(repo), str(name))
    return parts


def read_file(path: Path) -> Any:
    """A torch checkpoint unpickled safely: tensors, containers and ``argparse.Namespace`` (LlamaGen's training
    arguments) only; never ``weights_only=False``. Zip checkpoints are memory-mapped (no copy of a 3 GB file).

    Raises:
        ModelUnavailable: the file needs other Python objects, or is not a torch checkpoint.
    """
    import torch

    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ModelUnavailable(f"{Path(path).name} holds Python objects the safe unpickler refuses ({first}); the "
                               "studio never unpickles with weights_only=False") from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise ModelUnavailable(f"{Path(path).name} is not a readable torch checkpoint: {exc}") from exc


def state_dict_of(content: Any, what: str, entries: tuple[str, ...] = ("model", "state_dict")) -> dict[str, Any]:
    """A flat state dict, or the one under the first of ``entries`` of a training container.

    Raises:
        ModelUnavailable: neither.
    """
    if isinstance(content, dict):
        for name in entries:
            if isinstance(content.get(name), dict):
                return dict(content[name])
        if content and all(hasattr(v, "shape") for v in content.values()):
            return dict(content)
    raise ModelUnavailable(f"{what} holds neither a state dict nor one of the entries {list(entries)}")


def check_released(state: dict[str, Any]) -> tuple[dict[str, Any], OmniMambaConfig, keymap.KeyReport]:
    """The released state dict in the studio's names, the architecture read from it, and the strict key report
    against ``build_lm`` of that architecture on the meta device."""
    import torch

    mapped, _ = keymap.map_released(state)
    config = infer_config(keymap.shapes_of(mapped))
    with torch.device("meta"):
        expected = build_lm(config).state_dict()
    return mapped, config, keymap.compare(expected, mapped)


def load_lm(path: Path, task: str, device: str, dtype: Any) -> tuple[Any, OmniMambaConfig, keymap.KeyReport]:
    """The language model of ``path`` loaded strictly, with ``task``'s modules only, on ``device`` in ``dtype``.

    Raises:
        ModelUnavailable: unreadable, or any key missing, unexpected or mis-shaped.
    """
    import torch

    state = state_dict_of(read_file(path), path.name)
    mapped, config, report = check_released(state)
    if not report.ok:
        raise ModelUnavailable(f"{path.name} does not match OmniMamba's layout (after the documented key map):\n"
                               f"{report.describe()}")
    with torch.device("meta"):
        lm = build_lm(config)
    lm.load_state_dict(mapped, strict=True, assign=True)
    tie_heads(lm)
    for name in UNUSED[task]:
        delattr(lm, name)
    return lm.to(device=device, dtype=dtype).eval(), config, report


def load_tokenizer(source: str, kwargs: dict[str, Any], vocab_rows: int) -> tuple[Any, dict[str, int]]:
    """GPT-NeoX's tokenizer with the authors' additions (``UniversalPrompting``): ``[PAD]`` as the pad token, then
    the 9 task tokens; returns it and the ids of ``[PAD]`` and the task tokens.

    Raises:
        ModelUnavailable: the tokenizer cannot be read, or has more tokens than the embedding has rows.
    """
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, model_max_length=2048, **kwargs)
    except OSError as exc:
        raise ModelUnavailable(f"the GPT-NeoX tokenizer ({source}) is not available: {exc}") from exc
    tokenizer.add_special_tokens({"pad_token": PAD_TOKEN})
    tokenizer.add_tokens(list(SPECIAL_TOKENS))
    ids = {token: int(tokenizer.convert_tokens_to_ids(token)) for token in (PAD_TOKEN, *SPECIAL_TOKENS)}
    if len(tokenizer) > vocab_rows:
        raise ModelUnavailable(f"the tokenizer has {len(tokenizer)} tokens but the checkpoint's embedding only "
                               f"{vocab_rows} rows: not the tokenizer OmniMamba was trained with")
    return tokenizer, ids
