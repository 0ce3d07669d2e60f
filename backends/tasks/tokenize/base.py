"""Image tokenizers side by side (the Layton / LaCTok, Semanticist and RobustTok directions): reconstructions,
metrics, coarse-to-fine prefixes for ordered tokenizers and robustness to token perturbation for discrete ones.

Every tokenizer backend derives from ``TokenizerBackend``, which runs the whole comparison in ``__call__``; the
subclasses provide the codec operations: ``encode(image) -> Tokens`` (shape, count, bits), ``decode``,
``decode_prefix(tokens, k)`` for ordered 1D tokenizers, and ``perturb(tokens, alpha, delta, seed)`` for discrete
ones (RobustTok's definition: each token, with probability alpha, becomes a random one of its delta nearest
codewords).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.imaging import load_image
from backends.core.recipe import Provenance, make_recipe
from backends.core.run import RunControl
from backends.core.settings import Settings
from backends.core.validation import check_number
from backends.models import device
from backends.models.spec import ModelSpec
from backends.tasks.tokenize.tokens import Tokens, token_map
from backends.tasks.tokenize.types import ALPHAS, CURVE_POINTS, TokenizeRequest, TokenizeResult
from backends.vision import metrics


class TokenizerBackend:
    """``__call__`` for every tokenizer backend; subclasses implement the codec operations.

    Args:
        spec: the registry entry.
        settings: device, dtype, profile.
    """

    ordered = False
    discrete = False
    default_side = 512
    side_multiple = 1

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        # The current call's control, for decoders slow enough to report steps (the cache runs one call at a time).
        self.control = RunControl()

    @property
    def device(self) -> str:
        """Where the tokenizer computes (weight-free codecs: the CPU)."""
        return "cpu"

    def check_inputs(self, request: TokenizeRequest) -> None:
        """Validate the request's numbers; names the field, value and rule."""
        if request.prefix is not None:
            check_number(request.prefix, "prefix", minimum=1, integer=True)
        check_number(request.alpha, "alpha", minimum=0, maximum=1)
        check_number(request.delta, "delta", minimum=1, maximum=65536, integer=True)
        check_number(request.seed, "seed", minimum=0, maximum=2**31 - 1, integer=True)
        if request.bits is not None:
            check_number(request.bits, "bits", minimum=64, integer=True)
        if request.max_side is not None:
            check_number(request.max_side, "max_side", minimum=16, maximum=4096, integer=True)
        if request.steps is not None:
            check_number(request.steps, "steps", minimum=1, maximum=1000, integer=True)
        if request.guidance is not None:
            check_number(request.guidance, "guidance", minimum=0, maximum=50)

    def prepare(self, image: Any, max_side: int | None) -> np.ndarray:
        """The image as float32 HxWx3 in [0, 1], resized so its long side is at most ``max_side`` and both sides
        are multiples of what the tokenizer needs."""
        picture = load_image(image)
        side = int(max_side or self.default_side)
        scale = min(1.0, side / max(picture.size))
        m = self.side_multiple
        size = tuple(max(m, round(s * scale / m) * m) for s in picture.size)
        if size != picture.size:
            picture = picture.resize(size, Image.Resampling.LANCZOS)
        return np.asarray(picture, dtype=np.float32) / 255.0

    def fit(self, image: np.ndarray, request: TokenizeRequest) -> None:
        """Weight-free codecs fit on the image; pretrained tokenizers have nothing to do."""

    def __call__(self, request: TokenizeRequest, control: RunControl | None = None) -> TokenizeResult:
        """Tokenize, reconstruct, perturb and measure one image."""
        control = control or RunControl()
        self.control = _slice(control, 0.0, 0.3)  # slow decoders report their steps: all tokens in 0-30%
        # 1. validate and prepare the image at the tokenizer's size
        self.check_inputs(request)
        image = self.prepare(request.image, request.max_side)
        started = time.perf_counter()
        with device.flushed_denormals(self.settings.profile == "tiny"):
            # 2. encode (codecs first fit on the image) and decode everything
            self.fit(image, request)
            tokens = self.encode(image, request)
            reconstruction = self.decode(tokens)
            control.report(0.3, f"{self.spec.name}: decoded {tokens.count} tokens")
            # 3. the prefix view (ordered) and the perturbed view (discrete)
            prefix = perturbed = None
            self.control = _slice(control, 0.3, 0.4)  # then the prefix and perturbed views in 30-40%
            if request.prefix is not None and self.ordered:
                if request.prefix > tokens.count:
                    raise InvalidInput("prefix", f"{request.prefix} is larger than the {tokens.count} tokens "
                                                 f"{self.spec.name} made of this image")
                prefix = self.decode_prefix(tokens, int(request.prefix))
            if request.alpha > 0 and self.discrete:
                perturbed = self.decode(self.perturb(tokens, request.alpha, int(request.delta), int(request.seed)))
            # 4. curves: quality vs number of tokens, or vs perturbation rate
            curve = self._curve(image, tokens, reconstruction, request, control) if request.curves else None
        seconds = time.perf_counter() - started
        # 5. metrics and views
        summary = {
            "tokenizer": self.spec.key, "name": self.spec.name, "kind": tokens.kind,
            "shape": list(np.asarray(tokens.data).shape), "count": int(tokens.count), "bits": int(tokens.bits),
            "bits_per_pixel": round(tokens.bits / (image.shape[0] * image.shape[1]), 5),
            "size": [image.shape[1], image.shape[0]], "ordered": self.ordered, "discrete": self.discrete,
            "metrics": _json_metrics(metrics.compare(image, reconstruction)),
            "prefix": None if prefix is None else {"k": int(request.prefix),
                                                   **_json_metrics(metrics.compare(image, prefix))},
            "perturbation": None if perturbed is None else {
                "alpha": request.alpha, "delta": int(request.delta), "seed": int(request.seed),
                **_json_metrics(metrics.compare(image, perturbed))},
            "curve": curve, "seconds": round(seconds, 3), **self.summary_extra(),
        }
        recipe = make_recipe(
            self.provenance(), seed=int(request.seed), width=image.shape[1], height=image.shape[0],
            run_seconds=seconds,
            extra={"task": "tokenize", "tokens": summary["count"], "bits": summary["bits"], "prefix": request.prefix,
                   "alpha": request.alpha, "delta": request.delta, "target_bits": request.bits,
                   **({"steps": tokens.params["steps"], "guidance": tokens.params["guidance"]}
                      if "steps" in tokens.params else {})})
        return TokenizeResult(_pil(image), _pil(reconstruction), _pil(prefix), _pil(perturbed),
                              Image.fromarray(self.token_map(tokens)), metrics.error_heatmap(image, reconstruction),
                              summary, recipe)

    def curve_ks(self, tokens: Tokens) -> list[int]:
        """Prefix lengths of the quality-vs-tokens curve: about ten, geometrically spaced."""
        return sorted({max(1, round(tokens.count * f)) for f in np.geomspace(1 / tokens.count, 1, CURVE_POINTS)})

    def summary_extra(self) -> dict[str, Any]:
        """Further facts for the summary (research adapters: preprocessing, architecture notes)."""
        return {}

    def provenance(self) -> Provenance:
        """What every recipe of this tokenizer carries (weight-free codecs: the studio's own code)."""
        # Code the studio ships, loaded from no repository, has no weights: the tiny profile cannot randomise it.
        weight_free = self.spec.loader in ("builtin", "code") and not self.spec.repo_id
        return Provenance(model=self.spec.key, name=self.spec.name, repo_id=self.spec.repo_id or "built-in codec",
                          revision=self.spec.revision, profile=self.settings.profile, pipeline=type(self).__name__,
                          device=self.device, weight_free=weight_free)

    def _curve(self, image: np.ndarray, tokens: Tokens, reconstruction: np.ndarray, request: TokenizeRequest,
               control: RunControl) -> dict[str, Any] | None:
        if self.ordered:
            ks = self.curve_ks(tokens)
            points = []
            for i, k in enumerate(ks):
                control.raise_if_stopped()
                self.control = _slice(control, 0.4 + 0.6 * i / len(ks), 0.4 + 0.6 * (i + 1) / len(ks))
                decoded = reconstruction if k == tokens.count else self.decode_prefix(tokens, k)  # all k: done
                points.append([k, _finite(metrics.psnr(image, decoded))])
                control.report(0.4 + 0.6 * (i + 1) / len(ks), f"{self.spec.name}: prefix curve")
            return {"x": "tokens", "y": "psnr", "points": points}
        if self.discrete:
            points = []
            for i, alpha in enumerate(ALPHAS):
                control.raise_if_stopped()
                decoded = self.decode(self.perturb(tokens, alpha, int(request.delta), int(request.seed)))
                points.append([alpha, _finite(metrics.psnr(image, decoded))])
                control.report(0.4 + 0.6 * (i + 1) / len(ALPHAS), f"{self.spec.name}: robustness curve")
            return {"x": "alpha", "y": "psnr", "delta": int(request.delta), "seed": int(request.seed),
                    "points": points}
        return None

    # Operations the subclasses provide ------------------------------------------------------------------------------
    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, tokens: Tokens) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode_prefix(self, tokens: Tokens, k: int) -> np.ndarray:
        """Decode the first ``k`` tokens (ordered tokenizers only)."""
        raise InvalidInput("prefix", f"{self.spec.key} has no token order; prefixes need an ordered tokenizer")

    def perturb(self, tokens: Tokens, alpha: float, delta: int, seed: int) -> Tokens:
        """Perturb tokens (discrete tokenizers only)."""
        raise InvalidInput("alpha", f"{self.spec.key} has continuous tokens; perturbation needs a discrete one")

    def token_map(self, tokens: Tokens) -> np.ndarray:
        """The tokens as an HxWx3 uint8 picture."""
        return token_map(tokens)

    def unload(self) -> None:
        """Nothing to free by default."""

    def memory_bytes(self) -> int:
        """Nothing held by default."""
        return 0


def _slice(control: RunControl, start: float, end: float) -> RunControl:
    """The control of the part [start, end] of ``control``'s bar (same Stop)."""
    return RunControl(control.on_progress, control.stop, control.start + control.span * start,
                      control.span * (end - start))


def _pil(array: np.ndarray | None) -> Image.Image | None:
    if array is None:
        return None
    return Image.fromarray(np.rint(np.clip(array, 0, 1) * 255).astype(np.uint8))


def _finite(value: float) -> float | None:
    """JSON has no infinity: an exact reconstruction's PSNR is reported as None (and said so in the UI)."""
    return None if not np.isfinite(value) else round(float(value), 4)


def _json_metrics(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (_finite(v) if isinstance(v, float) else v) for k, v in values.items()}
