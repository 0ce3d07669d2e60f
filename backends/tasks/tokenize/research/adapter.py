"""The shared base of the native research tokenizer adapters: loading released checkpoints, miniatures in the tiny
profile, native-size preprocessing, RobustTok's perturbation for discrete codes, token pictures, and the
``--check-weights`` report.

Loading (``ResearchTokenizer.load``):

1. find the files: the released ones (a configured checkpoint root, then ``hf_hub_download`` of the released
   file), or in the tiny profile the miniature, written once by ``write_miniature`` in the same container layout
   under the same file names;
2. read them safely (``checkpoint.read_file``: ``weights_only=True``), unwrap the training container (``ema``
   before ``model`` before ``state_dict``) and drop the documented train-only keys;
3. read the architecture from the file (``infer_config``: widths, depths, codebooks from the tensors' shapes), build
   it on the meta device (no memory, no random init) and load it strictly: every key and shape is checked first.

Miniatures are written by the adapters themselves rather than by ``backends.tiny``: the layers put ``tiny`` below
``tasks``, and a miniature must be built from these very modules.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.recipe import Provenance, library_versions
from backends.core.run import ProgressFn
from backends.core.settings import Settings
from backends.models import device, weights
from backends.models.spec import ModelSpec
from backends.tasks.tokenize.base import TokenizerBackend
from backends.tasks.tokenize.research import checkpoint
from backends.tasks.tokenize.research.checkpoint import KeyReport
from backends.tasks.tokenize.research.common import perturb_codes, token_picture
from backends.tasks.tokenize.tokens import Tokens
from backends.tasks.tokenize.types import TokenizeRequest


class ResearchTokenizer(TokenizerBackend):
    """Native adapter of one released research tokenizer (see the module docstring for how it loads).

    Subclasses provide ``released_config`` / ``miniature_config``, ``infer_config``, ``build``,
    ``write_miniature``, ``encode`` / ``decode`` and, when discrete, ``codebook``. ``drop_prefixes`` lists the
    documented train-only keys the file carries and the adapter removes.

    Args:
        spec: the registry entry (``defaults.filename`` is the released file).
        settings: device, dtype, profile, checkpoint roots.
    """

    codec = "research"
    native_size = 256
    drop_prefixes: tuple[str, ...] = ()
    entries: tuple[str, ...] = checkpoint.TRAINING_ENTRIES

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        super().__init__(spec, settings)
        self.model: Any = None
        self.config: Any = None
        self.paths: dict[str, Path] = {}
        self.report: KeyReport | None = None
        self._where, self._dtype = "cpu", "float32"
        self._codebook: np.ndarray | None = None

    # What subclasses provide -----------------------------------------------------------------------------------------
    def released_config(self) -> Any:  # pragma: no cover - abstract
        """The architecture of the released checkpoint this spec names."""
        raise NotImplementedError

    def miniature_config(self) -> Any:  # pragma: no cover - abstract
        """The same architecture with tiny widths and the real geometry (token grid, codebook)."""
        raise NotImplementedError

    def infer_config(self, state: dict[str, Any], extra: dict[str, Any]) -> Any:  # pragma: no cover - abstract
        """The architecture read from a state dict's shapes (and ``extra``: a config.json, the training args)."""
        raise NotImplementedError

    def build(self, config: Any) -> Any:  # pragma: no cover - abstract
        """The module tree of ``config`` (called inside ``torch.device("meta")`` when loading)."""
        raise NotImplementedError

    def write_miniature(self, folder: Path, config: Any, seed: int) -> None:  # pragma: no cover - abstract
        """Write a random-weight checkpoint of ``config`` into ``folder`` in the released container layout."""
        raise NotImplementedError

    def codebook(self) -> np.ndarray:
        """The codewords as the decoder sees them (K, D) float32: discrete adapters only."""
        raise InvalidInput("alpha", f"{self.spec.key} has continuous tokens; perturbation needs a discrete one")

    # Files -----------------------------------------------------------------------------------------------------------
    @property
    def filename(self) -> str:
        """The released file (the registry's ``CodeDefaults.filename``)."""
        return str(getattr(self.spec.defaults, "filename", None) or "")

    def miniature_seed(self) -> int:
        """A stable seed per miniature, so two tokenizers of one architecture (XQGAN-4096 and RobustTok-zero)
        get different random weights, as trained ones differ."""
        return zlib.crc32(str(self.spec.architecture).encode()) % 2**31

    def miniature_folder(self, report: ProgressFn | None = None) -> Path:
        """The tiny profile's folder holding the miniature's files, written (atomically) on first use."""
        target = self.settings.tiny_dir / str(self.spec.architecture)
        if target.is_dir():
            return target
        if report is not None:
            report(0.0, f"Writing the random-weight miniature of {self.spec.name} ({self.spec.architecture})")
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.parent / f".{self.spec.architecture}-{uuid.uuid4().hex[:8]}"
        scratch.mkdir()
        try:
            with device.flushed_denormals():
                self.write_miniature(scratch, self.miniature_config(), self.miniature_seed())
            with contextlib.suppress(OSError):  # another worker wrote the same (seeded) miniature first
                scratch.rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return target

    def find(self, name: str, report: ProgressFn | None = None) -> Path:
        """One file: the miniature's (tiny profile) or the released one (checkpoint roots, then the hub)."""
        if self.settings.profile == "tiny":
            path = self.miniature_folder(report) / name
            if not path.is_file():
                raise ModelUnavailable(f"the miniature of {self.spec.key} has no {name}")
            return path
        if report is not None:
            report(0.0, f"Loading {self.spec.name}: {self.spec.repo_id} / {name}")
        return checkpoint.find_released(self.spec, self.settings, name)

    def locate(self, report: ProgressFn | None = None) -> dict[str, Path]:
        """The files to read (most adapters: one weights file)."""
        return {"weights": self.find(self.filename, report)}

    def user_files(self, path: Path) -> dict[str, Path]:
        """The files of a user's checkpoint (``--check-weights``): one file by default."""
        return {"weights": Path(path)}

    def read(self, paths: dict[str, Path]) -> tuple[dict[str, Any], dict[str, Any], list[str], str]:
        """State dict (adapter naming), extra facts, dropped keys and the container entry used."""
        content = checkpoint.read_file(paths["weights"])
        state, entry = checkpoint.unwrap(content, self.entries)
        state, dropped = checkpoint.clean(state, self.drop_prefixes)
        args = content.get("args") if isinstance(content, dict) else None
        return state, {"args": dict(vars(args)) if args is not None and hasattr(args, "__dict__") else {}}, \
            dropped, entry

    def module_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """The file's state dict in the module's naming (most adapters: the same)."""
        return state

    def expected_shapes(self, config: Any) -> dict[str, tuple[int, ...]]:
        """Key -> shape the adapter expects for ``config`` (a meta-device build: no memory)."""
        import torch

        with torch.device("meta"):
            return checkpoint.shapes_of(self.build(config).state_dict())

    # Loading ---------------------------------------------------------------------------------------------------------
    def load(self, report: ProgressFn | None = None) -> None:
        """Find, read and strictly load the checkpoint (see the module docstring)."""
        import torch

        self._where = device.resolve_device(self.settings)
        dtype = device.resolve_dtype(self.settings, self.spec, self._where)
        self.paths = self.locate(report)
        state, extra, dropped, entry = self.read(self.paths)
        config = self.infer_config(state, extra)
        with torch.device("meta"):
            model = self.build(config)
        checkpoint.load_strict(model, self.module_state(state),
                               f"{self.spec.name} ({self.paths['weights'].name}, entry {entry!r})")
        if any(p.is_floating_point() and p.dtype != dtype for p in model.parameters()):
            model = model.to(dtype)  # (diffusers warns about a dtype cast even when nothing changes)
        self.model = model.to(self._where).eval()
        self._dtype = str(dtype).removeprefix("torch.")
        self.config = config
        self.report = KeyReport((), (), (), tuple(dropped), entry)
        self._codebook = None

    def unload(self) -> None:
        """Drop the weights."""
        self.model = None
        self._codebook = None

    def memory_bytes(self) -> int:
        """Bytes of every parameter and buffer."""
        return weights.module_bytes(self.model)

    @property
    def device(self) -> str:
        """Where the model runs."""
        return self._where

    def provenance(self) -> Provenance:
        """Repo, file, container entry and commit (or the miniature's id) of the loaded weights."""
        path = self.paths.get("weights")
        real = self.settings.profile == "real"
        entry = self.report.entry if self.report else "?"
        return Provenance(
            model=self.spec.key, name=self.spec.name,
            repo_id=str(self.spec.repo_id) if real else f"miniature of {self.spec.repo_id}",
            revision=checkpoint.snapshot_revision(path) if real and path else
            f"tiny:{self.spec.architecture}:seed{self.miniature_seed()}",
            profile=self.settings.profile, pipeline=f"{type(self).__name__} ({path.name if path else '?'}, {entry})",
            device=self._where, dtype=self._dtype, versions=library_versions())

    def config_note(self) -> str | None:
        """Says so when the loaded file's architecture differs from the released one (real profile)."""
        if self.settings.profile != "real" or self.config is None or self.config == self.released_config():
            return None
        return f"architecture read from the file differs from the released one: {self.config}"

    def summary_extra(self) -> dict[str, Any]:
        """Preprocessing and architecture notes for the summary."""
        extra: dict[str, Any] = {"preprocess": f"center-cropped to a square and resized to {self.native_size}x"
                                               f"{self.native_size} (the tokenizer's native size)"}
        note = self.config_note()
        if note:
            extra["note"] = note
        return extra

    # Images and tokens -----------------------------------------------------------------------------------------------
    def prepare(self, image: Any, max_side: int | None) -> np.ndarray:
        """The image center-cropped to a square and resized to the native size, float32 in [0, 1]; the released
        tokenizers were trained and evaluated at one size (positions are absolute), so ``max_side`` is ignored."""
        from backends.core.imaging import load_image

        picture = ImageOps.fit(load_image(image), (self.native_size, self.native_size), Image.Resampling.BICUBIC)
        return np.asarray(picture, dtype=np.float32) / 255.0

    def pixels(self, image: np.ndarray, low: float = -1.0) -> Any:
        """(1, 3, H, W) tensor on the device in [low, 1] (the authors' input range)."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].to(self._where, self._model_dtype())
        return x * (1 - low) + low

    def image(self, x: Any, low: float = -1.0) -> np.ndarray:
        """(1, 3, H, W) in [low, 1] -> HxWx3 float32 in [0, 1]."""
        out = ((x[0].float() - low) / (1 - low)).clamp(0, 1)
        return out.permute(1, 2, 0).cpu().numpy()

    def _model_dtype(self) -> Any:
        return next(self.model.parameters()).dtype

    def discrete_tokens(self, codes: np.ndarray, codebook_size: int, image_size: tuple[int, int]) -> Tokens:
        """Tokens of code indices; bits as the papers count them: ceil(log2 K) per token, no entropy coding."""
        codes = np.asarray(codes, dtype=np.int32)
        bits_each = int(np.ceil(np.log2(codebook_size)))
        grid = codes.shape if codes.ndim == 2 else (1, codes.size)
        return Tokens("discrete", codes, codes.size, codes.size * bits_each, grid, image_size, self.ordered,
                      image_size, self.codec, {"codebook_size": codebook_size, "code_bits": bits_each})

    def perturb(self, tokens: Tokens, alpha: float, delta: int, seed: int) -> Tokens:
        """RobustTok's perturbation: each code, with probability alpha, becomes one of its delta nearest codewords
        (``common.perturb_codes``)."""
        if not self.discrete:
            return super().perturb(tokens, alpha, delta, seed)
        if self._codebook is None:
            self._codebook = self.codebook()
        codes = perturb_codes(self._codebook, np.asarray(tokens.data), alpha, delta, seed)
        params = {**tokens.params, "perturbation": {"alpha": alpha, "delta": min(int(delta), len(self._codebook)),
                                                    "seed": seed}}
        return replace(tokens, data=codes, params=params)

    def token_map(self, tokens: Tokens) -> np.ndarray:
        """Codes as palette colours (in place on a 2D grid, row-major for 1D sequences) or continuous tokens'
        first three channels as RGB."""
        return token_picture(np.asarray(tokens.data), tokens.params.get("codebook_size"), tokens.image_size)

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, tokens: Tokens) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


def check_weights(spec: ModelSpec, settings: Settings, path: Path) -> tuple[bool, str]:
    """Compare a user's checkpoint file with the released architecture of a research tokenizer's adapter
    (``python app.py --check-weights KEY FILE``).

    Returns:
        ``(matches, report)``: whether every key and shape matches the released architecture, and a readable report
        (missing, unexpected and mis-shaped keys, documented drops, and whether the file loads at all with the
        architecture read from it).

    Raises:
        InvalidInput: ``model`` is not a research checkpoint adapter, or ``file`` does not exist.
        ModelUnavailable: the file cannot be read safely.
    """
    from backends.models.backend import import_backend

    backend = import_backend(spec, settings)
    if not isinstance(backend, ResearchTokenizer):
        raise InvalidInput("model", f"{spec.key} is not a research tokenizer with a checkpoint adapter")
    if not Path(path).exists():
        raise InvalidInput("file", f"{path} does not exist")
    started = time.perf_counter()
    state, extra, dropped, entry = backend.read(backend.user_files(Path(path)))
    report = checkpoint.compare(backend.expected_shapes(backend.released_config()), state, dropped, entry)
    lines = [f"{backend.spec.key} ({backend.spec.name}) against {Path(path).name}", report.describe(limit=40)]
    try:
        config = backend.infer_config(state, extra)
        loads = checkpoint.compare(backend.expected_shapes(config), state).ok
        lines.append(f"architecture read from the file: {config}")
        lines.append("the file loads with that architecture" if loads else
                     "the file does not load even with the architecture read from it")
    except (InvalidInput, ModelUnavailable) as exc:
        lines.append(f"no architecture could be read from the file: {exc}")
    lines.append(f"({time.perf_counter() - started:.1f} s)")
    return report.ok, "\n".join(lines)
