"""Image tokenizers side by side (the Layton / LaCTok, Semanticist and RobustTok directions): reconstructions,
metrics, coarse-to-fine prefixes for ordered tokenizers and robustness to token perturbation for discrete ones.

Every tokenizer is a registry entry (``tok/...``) served by one of three backends:

* ``CodecTokenizer``: weight-free codecs from ``backends.codecs`` (ordered PCA patches, k-means patch VQ, a DCT
  baseline at a matched bit rate), fitted on the image itself; they make the tab useful with no GPU and no download.
* ``AutoencoderTokenizer``: diffusers autoencoders loaded with ``from_pretrained`` (SD / SDXL / FLUX VAEs, TAESD,
  a MoVQ ``VQModel``); in the tiny profile their random-weight miniatures.
* ``ResearchTokenizer``: adapters for released research tokenizers whose model code is not on PyPI and cannot be
  shipped here; the entry says which code it needs and loading fails with that instruction until it is installed.

All share one interface: ``encode(image) -> Tokens`` (shape, count, bits), ``decode``, ``decode_prefix(tokens, k)``
for ordered 1D tokenizers, and ``perturb(tokens, alpha, delta, seed)`` for discrete ones (RobustTok's definition:
each token, with probability alpha, becomes a random one of its delta nearest codewords).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from backends import codecs, metrics, tiny, weights
from backends.base import InvalidInput, ModelUnavailable, ProgressFn, Recipe, RunControl, check_number
from backends.imaging import load_image
from backends.registry import ModelSpec
from backends.settings import Settings, resolve_device, resolve_dtype

ALPHAS = (0.0, 0.1, 0.25, 0.5, 1.0)  # the robustness curve's perturbation rates
CURVE_POINTS = 10


@dataclass
class TokenizeRequest:
    """Tokenize one image and look at what comes back.

    Attributes:
        image: the image (any mode and size).
        prefix: for ordered tokenizers, decode only the first k tokens as well (None: no prefix view).
        alpha: perturbation rate for discrete tokenizers (0: none).
        delta: perturb among the delta nearest codewords.
        seed: perturbation seed.
        bits: target size for rate-matched codecs (the DCT baseline), e.g. another tokenizer's bits.
        max_side: longest side the image is resized to first (None: the tokenizer's default).
        curves: also compute the prefix curve (ordered) or the robustness curve (discrete).
        control: progress and Stop.
    """

    image: Any
    prefix: int | None = None
    alpha: float = 0.0
    delta: int = 8
    seed: int = 0
    bits: int | None = None
    max_side: int | None = None
    curves: bool = True
    control: RunControl = field(default_factory=RunControl, compare=False, repr=False)


@dataclass
class TokenizeResult:
    """What a tokenizer made of the image.

    Attributes:
        original: the image as it was tokenized (after any resize; its size is in ``summary``).
        reconstruction: decoded from all tokens.
        prefix: decoded from the first ``request.prefix`` tokens (ordered tokenizers).
        perturbed: decoded from perturbed tokens (discrete tokenizers, alpha > 0).
        token_map: the tokens as a picture.
        error_map: per-pixel error heat map of the reconstruction.
        summary: tokens (kind, shape, count, bits, bits per pixel, ordered, discrete) and metrics, JSON-ready.
        recipe: what produced it.
    """

    original: Image.Image
    reconstruction: Image.Image
    prefix: Image.Image | None
    perturbed: Image.Image | None
    token_map: Image.Image
    error_map: Image.Image
    summary: dict[str, Any]
    recipe: Recipe


# --------------------------------------------------------------------------------------------------------------------
# The shared pipeline: every backend provides encode / decode (+ decode_prefix, perturb) and inherits __call__
# --------------------------------------------------------------------------------------------------------------------
class _TokenizerBase:
    """``__call__`` for every tokenizer backend; subclasses implement the codec operations."""

    ordered = False
    discrete = False
    default_side = 512
    side_multiple = 1

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.device = "cpu"

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

    def __call__(self, request: TokenizeRequest) -> TokenizeResult:
        """Tokenize, reconstruct, perturb and measure one image."""
        control = request.control
        # 1. validate and prepare the image at the tokenizer's size
        self.check_inputs(request)
        image = self.prepare(request.image, request.max_side)
        started = time.perf_counter()
        with tiny.flushed_denormals(self.settings.profile == "tiny"):
            # 2. encode (codecs first fit on the image) and decode everything
            self.fit(image, request)
            tokens = self.encode(image, request)
            reconstruction = self.decode(tokens)
            control.report(0.4, f"{self.spec.name}: decoded {tokens.count} tokens")
            # 3. the prefix view (ordered) and the perturbed view (discrete)
            prefix = perturbed = None
            if request.prefix is not None and self.ordered:
                if request.prefix > tokens.count:
                    raise InvalidInput("prefix", f"{request.prefix} is larger than the {tokens.count} tokens "
                                                 f"{self.spec.name} made of this image")
                prefix = self.decode_prefix(tokens, int(request.prefix))
            if request.alpha > 0 and self.discrete:
                perturbed = self.decode(self.perturb(tokens, request.alpha, int(request.delta), int(request.seed)))
            # 4. curves: quality vs number of tokens, or vs perturbation rate
            curve = self._curve(image, tokens, request, control) if request.curves else None
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
            "curve": curve, "seconds": round(seconds, 3),
        }
        recipe = self._recipe(image, request, summary, seconds)
        return TokenizeResult(_pil(image), _pil(reconstruction), _pil(prefix), _pil(perturbed),
                              Image.fromarray(self.token_map(tokens)), metrics.error_heatmap(image, reconstruction),
                              summary, recipe)

    def _curve(self, image: np.ndarray, tokens: codecs.Tokens, request: TokenizeRequest,
               control: RunControl) -> dict[str, Any] | None:
        if self.ordered:
            ks = sorted({max(1, round(tokens.count * f)) for f in np.geomspace(1 / tokens.count, 1, CURVE_POINTS)})
            points = []
            for i, k in enumerate(ks):
                control.raise_if_stopped()
                points.append([k, _finite(metrics.psnr(image, self.decode_prefix(tokens, k)))])
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

    def _recipe(self, image: np.ndarray, request: TokenizeRequest, summary: dict[str, Any],
                seconds: float) -> Recipe:
        return Recipe(
            model=self.spec.key, name=self.spec.name, repo_id=self.spec.repo_id or "built-in codec",
            revision=getattr(self, "revision", self.spec.revision), profile=self.settings.profile,
            pipeline=self.spec.pipeline_class or type(self).__name__, scheduler="n/a", seed=int(request.seed),
            steps=None, guidance=None, guidance_param=None, width=image.shape[1], height=image.shape[0],
            prompt="", negative_prompt="", language="en", quoted_text=[], device=self.device, dtype="float32",
            run_seconds=round(seconds, 3),
            extra={"task": "tokenize", "tokens": summary["count"], "bits": summary["bits"], "prefix": request.prefix,
                   "alpha": request.alpha, "delta": request.delta, "target_bits": request.bits})

    # Operations the subclasses provide ------------------------------------------------------------------------------
    def encode(self, image: np.ndarray, request: TokenizeRequest) -> codecs.Tokens:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, tokens: codecs.Tokens) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode_prefix(self, tokens: codecs.Tokens, k: int) -> np.ndarray:
        """Decode the first ``k`` tokens (ordered tokenizers only)."""
        raise InvalidInput("prefix", f"{self.spec.key} has no token order; prefixes need an ordered tokenizer")

    def perturb(self, tokens: codecs.Tokens, alpha: float, delta: int, seed: int) -> codecs.Tokens:
        """Perturb tokens (discrete tokenizers only)."""
        raise InvalidInput("alpha", f"{self.spec.key} has continuous tokens; perturbation needs a discrete one")

    def token_map(self, tokens: codecs.Tokens) -> np.ndarray:
        """The tokens as an HxWx3 uint8 picture."""
        return codecs.token_map(tokens)

    def unload(self) -> None:
        """Nothing to free by default."""

    def memory_bytes(self) -> int:
        """Nothing held by default."""
        return 0


# --------------------------------------------------------------------------------------------------------------------
# Weight-free codecs
# --------------------------------------------------------------------------------------------------------------------
class CodecTokenizer(_TokenizerBase):
    """The PCA, VQ and DCT codecs of ``backends.codecs``, fitted on the image being tokenized.

    ``spec.call_kwargs`` configures them: ``codec`` (pca | vq | dct), ``patch``, ``components``,
    ``codebook_size``.
    """

    def load(self, progress: ProgressFn | None = None) -> None:
        """Build the codec (no weights)."""
        options = dict(self.spec.call_kwargs)
        kind = options.pop("codec")
        self.kind = kind
        # The DCT baseline is rate-matched, not a token sequence: only PCA has meaningful prefixes.
        self.ordered, self.discrete = kind == "pca", kind == "vq"
        self.side_multiple = 1
        if kind == "pca":
            self.codec: Any = codecs.PCAPatchTokenizer(**options)
        elif kind == "vq":
            self.codec = codecs.VQPatchTokenizer(**options)
        else:
            self.codec = codecs.DCTCodec(**options)

    def fit(self, image: np.ndarray, request: TokenizeRequest) -> None:
        """PCA and VQ learn their basis / codebook from the image's own patches."""
        if self.kind in ("pca", "vq"):
            self.codec.fit(image)

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> codecs.Tokens:
        """PCA / VQ tokens, or DCT coefficients at the requested bit budget (default 0.25 bits per pixel)."""
        if self.kind != "dct":
            return self.codec.encode(image)
        bits = int(request.bits or 0.25 * image.shape[0] * image.shape[1])
        tokens, _ = self.codec.at_bits(image, bits)
        return tokens

    def decode(self, tokens: codecs.Tokens) -> np.ndarray:
        """Reconstruct from all tokens."""
        return self.codec.decode(tokens)

    def decode_prefix(self, tokens: codecs.Tokens, k: int) -> np.ndarray:
        """PCA: reconstruction from the first k components (coarse to fine)."""
        return self.codec.decode_prefix(tokens, k)

    def perturb(self, tokens: codecs.Tokens, alpha: float, delta: int, seed: int) -> codecs.Tokens:
        """RobustTok-style perturbation among the delta nearest codewords."""
        return self.codec.perturb(tokens, alpha, min(delta, self.codec.codebook_size), seed)


# --------------------------------------------------------------------------------------------------------------------
# diffusers autoencoders
# --------------------------------------------------------------------------------------------------------------------
class AutoencoderTokenizer(_TokenizerBase):
    """AutoencoderKL / AutoencoderTiny (continuous latents) and VQModel (discrete codes) through diffusers."""

    side_multiple = 8

    def load(self, progress: ProgressFn | None = None) -> None:
        """``from_pretrained`` of the model class on the hub repo (real) or the saved miniature (tiny)."""
        import diffusers

        source, kwargs = weights.pretrained_source(self.spec, self.settings, progress)
        if self.settings.profile == "real" and self.spec.call_kwargs.get("subfolder"):
            kwargs["subfolder"] = self.spec.call_kwargs["subfolder"]
        kwargs.pop("variant", None)
        self.device = resolve_device(self.settings)
        dtype = resolve_dtype(self.settings, self.spec, self.device)
        try:
            self.model = getattr(diffusers, self.spec.pipeline_class).from_pretrained(source, dtype=dtype, **kwargs)
        except OSError as exc:
            raise weights.missing_weights(self.spec, self.settings, exc) from exc
        self.model.to(self.device).eval()
        self.discrete = self.spec.pipeline_class == "VQModel"
        self.default_side = self.spec.size.default
        self.revision = weights.loaded_revision(self.spec, self.settings)

    def unload(self) -> None:
        """Drop the model."""
        self.model = None

    def memory_bytes(self) -> int:
        """Bytes of the model's parameters."""
        model = getattr(self, "model", None)
        return 0 if model is None else sum(p.numel() * p.element_size() for p in model.parameters())

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> codecs.Tokens:
        """Latents (continuous, counted as float16) or codebook indices (discrete, log2 K bits each)."""
        import torch

        pixels = torch.from_numpy(image).permute(2, 0, 1)[None].to(self.device, self._dtype()) * 2 - 1
        with torch.inference_mode():
            if self.discrete:
                latents = self.model.encode(pixels).latents  # (1, C, h, w) before quantisation
                _, _, (_, _, indices) = self.model.quantize(latents)
                codes = indices.reshape(latents.shape[-2:]).cpu().numpy().astype(np.int32)
                size = self.model.quantize.n_e
                return codecs.Tokens("discrete", codes, codes.size, codes.size * int(np.ceil(np.log2(size))),
                                     codes.shape, image.shape[:2], False, image.shape[:2], "vq-model",
                                     {"codebook_size": size})
            encoded = self.model.encode(pixels)
            latents = encoded.latent_dist.mode() if hasattr(encoded, "latent_dist") else encoded.latents
        data = latents[0].float().cpu().numpy()  # (C, h, w)
        return codecs.Tokens("continuous", data, data.shape[1] * data.shape[2], data.size * 16, data.shape[1:],
                             image.shape[:2], False, image.shape[:2], "latent", {"channels": data.shape[0]})

    def decode(self, tokens: codecs.Tokens) -> np.ndarray:
        """Pixels HxWx3 in [0, 1] from latents or codes."""
        import torch

        with torch.inference_mode():
            if tokens.codec == "vq-model":
                indices = torch.from_numpy(np.array(tokens.data, dtype=np.int64)).to(self.device)
                h, w = tokens.grid
                channels = self.model.quantize.vq_embed_dim
                quant = self.model.quantize.get_codebook_entry(indices.reshape(-1), (1, h, w, channels))
                pixels = self.model.decode(quant.to(self._dtype()), force_not_quantize=True).sample
            else:
                latents = torch.from_numpy(np.array(tokens.data))[None].to(self.device, self._dtype())
                pixels = self.model.decode(latents).sample
        return np.clip((pixels[0].float().permute(1, 2, 0).cpu().numpy() + 1) / 2, 0, 1)

    def perturb(self, tokens: codecs.Tokens, alpha: float, delta: int, seed: int) -> codecs.Tokens:
        """RobustTok: each code, with probability alpha, becomes one of its delta nearest codewords (itself
        included), uniformly; the draws do not depend on alpha, so a larger alpha perturbs a superset."""
        if not self.discrete:
            return super().perturb(tokens, alpha, delta, seed)
        from scipy.spatial import cKDTree

        codebook = self.model.quantize.embedding.weight.detach().float().cpu().numpy()
        codes = np.asarray(tokens.data).reshape(-1)
        delta = min(int(delta), len(codebook))
        # Nearest codewords of each distinct code (a k-d tree: a dense distance matrix against 16384 codes would
        # need gigabytes); the code itself comes first at distance 0.
        unique, inverse = np.unique(codes, return_inverse=True)
        _, neighbours = cKDTree(codebook).query(codebook[unique], k=delta)
        nearest = np.asarray(neighbours).reshape(len(unique), delta)[inverse]
        rng = np.random.default_rng(seed)
        chosen = nearest[np.arange(len(codes)), rng.integers(0, delta, len(codes))]
        perturbed = np.where(rng.random(len(codes)) < alpha, chosen, codes).reshape(tokens.grid).astype(np.int32)
        return codecs.Tokens(tokens.kind, perturbed, tokens.count, tokens.bits, tokens.grid, tokens.image_size,
                             False, tokens.padded_size, tokens.codec,
                             {**tokens.params, "perturbation": {"alpha": alpha, "delta": delta, "seed": seed}})

    def token_map(self, tokens: codecs.Tokens) -> np.ndarray:
        """Codes as palette colours, or the first three latent channels as RGB, upscaled to the image."""
        if tokens.codec == "vq-model":
            grid = codecs.code_palette(int(tokens.params["codebook_size"]))[np.asarray(tokens.data)]
        else:
            first = np.asarray(tokens.data)[:3]
            first = np.concatenate([first, np.repeat(first[-1:], 3 - len(first), axis=0)])
            low = np.percentile(first, 1, axis=(1, 2), keepdims=True)
            high = np.percentile(first, 99, axis=(1, 2), keepdims=True)
            grid = np.rint(np.clip((first - low) / np.maximum(high - low, 1e-12), 0, 1) * 255).astype(np.uint8)
            grid = grid.transpose(1, 2, 0)
        h, w = tokens.image_size
        return np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.NEAREST))

    def _dtype(self) -> Any:
        return next(self.model.parameters()).dtype


# --------------------------------------------------------------------------------------------------------------------
# Released research tokenizers
# --------------------------------------------------------------------------------------------------------------------
class ResearchTokenizer(_TokenizerBase):
    """Adapters for research tokenizers whose model code lives in the authors' repositories (not on PyPI).

    ``spec.call_kwargs["module"]`` names the Python module the adapter needs and ``spec.notes`` where it comes
    from. Until it is importable, loading raises ``ModelUnavailable`` saying so; the studio does not ship that code.
    """

    def load(self, progress: ProgressFn | None = None) -> None:
        """Import the authors' code, or explain what is missing."""
        module = self.spec.call_kwargs.get("module", "")
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ModelUnavailable(f"{self.spec.name} ({self.spec.key}) needs the authors' model code "
                                   f"(`import {module}` failed): {self.spec.notes}") from exc
        raise ModelUnavailable(f"{self.spec.name}: the authors' code is installed, but its checkpoint format has "
                               "not been verified against this adapter yet (no GPU session has run it)")

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> codecs.Tokens:  # pragma: no cover
        raise ModelUnavailable(f"{self.spec.key} is not loaded")

    def decode(self, tokens: codecs.Tokens) -> np.ndarray:  # pragma: no cover
        raise ModelUnavailable(f"{self.spec.key} is not loaded")


# --------------------------------------------------------------------------------------------------------------------
def _pil(array: np.ndarray | None) -> Image.Image | None:
    if array is None:
        return None
    return Image.fromarray(np.rint(np.clip(array, 0, 1) * 255).astype(np.uint8))


def _finite(value: float) -> float | None:
    """JSON has no infinity: an exact reconstruction's PSNR is reported as None (and said so in the UI)."""
    return None if not np.isfinite(value) else round(float(value), 4)


def _json_metrics(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (_finite(v) if isinstance(v, float) else v) for k, v in values.items()}
