"""Weight-free image tokenizers for the reconstruction visualizer: ordered PCA patches, k-means patch VQ, block DCT.

They stand in for learned tokenizers where no weights can be downloaded, and each shows one idea exactly:

* ``PCAPatchTokenizer``: Semanticist's ordered 1D token sequence in its simplest exact form. Token k is principal
  component k of the image's patches (its coefficient in every patch), so tokens are ordered by variance and each
  further token adds detail orthogonal to the previous ones: any prefix is a valid, coarser reconstruction.
* ``VQPatchTokenizer``: a k-means codebook of patches (one discrete code per patch), with RobustTok's latent
  perturbation (models.md 6.1) for pFID-style robustness probes.
* ``DCTCodec``: a JPEG-like baseline (YCbCr, 8x8 orthonormal block DCT, zigzag order, uniform quantisation) that can
  be set to any bit budget, to compare tokenizers with a classical codec at matched bit rates.

Images are float32 HxWx3 arrays in [0, 1] (uint8 arrays and PIL images are converted; see
``backends.metrics.to_float_image``). Any size is accepted: images are reflect-padded to a multiple of the patch for
encoding and decoded images are cropped back; the tokens record both sizes.

How sizes are counted (``Tokens.bits``): only the tokens, never the fitted basis or codebook (they are the
"model", as a learned tokenizer's weights are). PCA coefficients are stored as float16 (16 bits each); VQ codes take
ceil(log2(codebook_size)) bits each (fixed-length codes, no entropy coding); DCT levels take the chosen number of
bits each, plus the quantiser's side information (a float32 minimum and step per channel and zigzag position used).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
from PIL import Image

from backends.base import InvalidInput, check_number
from backends.metrics import psnr, to_float_image

MAX_PIXELS = 4096 * 4096  # one 512x512 image is the design point; this bounds memory (patches are copied as floats)
MAX_PATCH = 64
PCA_COEFFICIENT_BITS = 16  # PCA tokens are stored as float16
DCT_BIT_DEPTHS = tuple(range(2, 13))  # coefficient bit depths at_bits() tries
DCT_SIDE_BITS = 64  # per channel and zigzag position: the quantiser's float32 minimum and float32 step
KMEANS_CHUNK = 32768  # rows per distance block, so encoding a large image never builds a huge (N, K) matrix
RGB_TO_YCBCR = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))  # JPEG (JFIF)


# --------------------------------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays field by field has no single truth value
class Tokens:
    """An encoded image.

    Attributes:
        kind: ``"continuous"`` (PCA coefficients) or ``"discrete"`` (VQ codes, quantised DCT levels).
        data: PCA: (K, P) float16, row k = component k's coefficient in each of the P patches (row-major grid);
            VQ: (gh, gw) int32 codes; DCT: (3, T) uint16 quantisation levels per YCbCr channel, the first T
            coefficients in spectral-selection order (zigzag position by position, each over all blocks). Read-only.
        count: number of tokens: PCA K components; VQ gh*gw codes; DCT 3*T kept coefficients (T = kept per block x
            blocks when every block keeps the same number).
        bits: size in bits as stored (see the module docstring for what is counted).
        grid: patch or block grid (gh, gw).
        image_size: the original (h, w); decoding crops back to it.
        ordered: whether prefixes are meaningful (coarse to fine): True for PCA and DCT, False for VQ.
        padded_size: the reflect-padded (h, w) that was encoded, a multiple of the patch size.
        codec: ``"pca"``, ``"vq"`` or ``"dct"``.
        params: codec details (patch size, fit fingerprint, quantiser side information...), read-only.
    """

    kind: str
    data: np.ndarray
    count: int
    bits: int
    grid: tuple[int, int]
    image_size: tuple[int, int]
    ordered: bool
    padded_size: tuple[int, int] = (0, 0)
    codec: str = ""
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.kind not in ("continuous", "discrete"):
            raise InvalidInput("kind", f"expected 'continuous' or 'discrete', got {self.kind!r}")
        view = np.asarray(self.data).view()
        view.flags.writeable = False  # tokens are values: perturb() and truncate() return new ones
        object.__setattr__(self, "data", view)
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def bits_per_pixel(self) -> float:
        """Stored bits per pixel of the original image."""
        return self.bits / float(self.image_size[0] * self.image_size[1])


# --------------------------------------------------------------------------------------------------------------------
# Shared helpers: validation, padding, patches
# --------------------------------------------------------------------------------------------------------------------
def _prepare(image: Any, field_name: str = "image") -> np.ndarray:
    """A float32 HxWx3 image in [0, 1] (tiny overshoots clipped), within the size limit."""
    array = to_float_image(image, field_name)
    h, w = array.shape[:2]
    if h * w > MAX_PIXELS:
        raise InvalidInput(field_name, f"{w}x{h} has more than {MAX_PIXELS} pixels; downscale it first")
    return np.clip(array.astype(np.float32, copy=False), 0.0, 1.0)


def _images(images: Any) -> list[np.ndarray]:
    """One image, a list of images or an (N, H, W, 3) batch, each validated."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        images = list(images)
    elif isinstance(images, np.ndarray | Image.Image):
        images = [images]
    if not isinstance(images, Sequence) or isinstance(images, str) or len(images) == 0:
        raise InvalidInput("images", "expected an image or a non-empty list of images")
    return [_prepare(image, f"images[{i}]") for i, image in enumerate(images)]


def _split(image: Any, patch: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """The validated image, its padded copy and the patch grid."""
    img = _prepare(image)
    padded = _pad(img, patch)
    return img, padded, (padded.shape[0] // patch, padded.shape[1] // patch)


def _fit_patches(images: Any, patch: int) -> np.ndarray:
    """All patches of the fitting images, stacked: (N, p*p*3) float32."""
    return np.concatenate([_patchify(_pad(img, patch), patch) for img in _images(images)])


def _check_patch(patch: Any, field_name: str = "patch") -> int:
    return int(check_number(patch, field_name, minimum=1, maximum=MAX_PATCH, integer=True))


def _pad(image: np.ndarray, patch: int) -> np.ndarray:
    """Reflect-pad the bottom and right edges to a multiple of ``patch`` (reflection avoids a hard edge to code)."""
    h, w = image.shape[:2]
    pad_h, pad_w = -h % patch, -w % patch
    if pad_h == 0 and pad_w == 0:
        return image
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")


def _patchify(padded: np.ndarray, patch: int) -> np.ndarray:
    """(gh*p, gw*p, 3) -> (gh*gw, p*p*3), patches in row-major grid order."""
    gh, gw = padded.shape[0] // patch, padded.shape[1] // patch
    return padded.reshape(gh, patch, gw, patch, 3).transpose(0, 2, 1, 3, 4).reshape(gh * gw, patch * patch * 3)


def _unpatchify(patches: np.ndarray, grid: tuple[int, int], patch: int) -> np.ndarray:
    """(gh*gw, p*p*3) -> (gh*p, gw*p, 3), the inverse of ``_patchify``."""
    gh, gw = grid
    return patches.reshape(gh, gw, patch, patch, 3).transpose(0, 2, 1, 3, 4).reshape(gh * patch, gw * patch, 3)


def _finish(padded: np.ndarray, tokens: Tokens) -> np.ndarray:
    """Crop back to the original size and clip to [0, 1] as float32."""
    h, w = tokens.image_size
    return np.clip(padded[:h, :w], 0.0, 1.0).astype(np.float32)


def _fingerprint(*arrays: np.ndarray) -> str:
    """A short hash of a fitted model, stamped into tokens so a different fit cannot silently decode them."""
    digest = hashlib.blake2b(digest_size=8)
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _check_tokens(tokens: Any, codec: str, fit: str | None = None) -> Tokens:
    if not isinstance(tokens, Tokens):
        raise InvalidInput("tokens", f"expected Tokens, got {type(tokens).__name__}")
    if tokens.codec != codec:
        raise InvalidInput("tokens", f"were made by the {tokens.codec!r} codec; this is the {codec!r} codec")
    if fit is not None and tokens.params.get("fit") != fit:
        raise InvalidInput("tokens", "were encoded by a different fit of this tokenizer; encode again")
    return tokens


def _sq_distances(x: np.ndarray, centres: np.ndarray, centre_norms: np.ndarray) -> np.ndarray:
    """||x - c||^2 up to the per-row constant ||x||^2 (argmin only needs ||c||^2 - 2 x.c; one BLAS call)."""
    return centre_norms[None, :] - 2.0 * (x @ centres.T)


def _nearest(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of each row of ``x``, in chunks to bound memory."""
    norms = np.einsum("ij,ij->i", centres, centres)
    out = np.empty(len(x), dtype=np.int32)
    for start in range(0, len(x), KMEANS_CHUNK):
        out[start:start + KMEANS_CHUNK] = np.argmin(_sq_distances(x[start:start + KMEANS_CHUNK], centres, norms), 1)
    return out


def _kmeans(x: np.ndarray, k: int, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; hand-written so distances are one BLAS product per iteration
    (scipy's ``kmeans2`` computes them in a plain C loop: ~10 s instead of ~0.15 s for 256 codes on a 512px image)."""
    n = len(x)
    norms = np.einsum("ij,ij->i", x, x)
    centres = np.empty((k, x.shape[1]), dtype=x.dtype)
    first = int(rng.integers(n))
    centres[0] = x[first]
    closest = np.maximum(norms - 2.0 * (x @ x[first]) + norms[first], 0.0)
    for i in range(1, k):
        total = float(closest.sum())
        # k-means++: draw proportional to the squared distance to the nearest chosen centre (uniform if all covered)
        index = int(rng.integers(n)) if total <= 0 else int(np.searchsorted(np.cumsum(closest), rng.random() * total))
        index = min(index, n - 1)
        centres[i] = x[index]
        np.minimum(closest, np.maximum(norms - 2.0 * (x @ x[index]) + norms[index], 0.0), out=closest)
    from scipy import sparse  # imported on first use: scipy.sparse and scipy.fft cost ~0.1 s at start-up

    labels = np.full(n, -1, dtype=np.int32)
    for _ in range(iterations):
        new_labels = _nearest(x, centres)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=k)
        one_hot = sparse.csr_matrix((np.ones(n, dtype=x.dtype), (labels, np.arange(n))), shape=(k, n))
        sums = np.asarray(one_hot @ x)
        filled = counts > 0
        centres[filled] = (sums[filled] / counts[filled, None]).astype(x.dtype)
        if not filled.all():  # an empty cluster takes over the points worst served by their current centre
            errors = norms + _sq_distances(x, centres, np.einsum("ij,ij->i", centres, centres))[np.arange(n), labels]
            worst = np.argsort(-errors, kind="stable")[: int((~filled).sum())]
            centres[~filled] = x[worst]
    return centres


# --------------------------------------------------------------------------------------------------------------------
# PCA: an ordered 1D token sequence
# --------------------------------------------------------------------------------------------------------------------
class PCAPatchTokenizer:
    """Ordered tokens from the principal components of the image's patches (Semanticist's nested tokens, exactly).

    Patches (p x p x 3, flattened) are mean-centred and projected on the principal axes found by an SVD of the
    fitting patches. Token k holds component k's coefficient in every patch. Because the axes are orthonormal and
    ordered by variance, each token removes a non-negative amount of squared error in patch space: reconstructions
    from longer prefixes are never worse, and all components (fitted on the same image) reconstruct it up to the
    float16 rounding of the coefficients.

    Args:
        patch: patch side in pixels (1..64).
        components: components kept (1..p*p*3); None keeps all. Fitting on fewer patches than that keeps only as
            many components as the patches span.
    """

    def __init__(self, patch: int = 8, components: int | None = None) -> None:
        self.patch = _check_patch(patch)
        dim = self.patch * self.patch * 3
        self.components = None if components is None else int(
            check_number(components, "components", minimum=1, maximum=dim, integer=True))
        self.mean_: np.ndarray | None = None  # (D,) float64
        self.basis_: np.ndarray | None = None  # (K, D) float64, orthonormal rows, by decreasing variance
        self.variance_: np.ndarray | None = None  # (K,) variance of each component over the fitting patches
        self._fit = ""

    def fit(self, images: Any) -> PCAPatchTokenizer:
        """Find the principal axes of the patches of ``images`` (one image, a list, or an (N, H, W, 3) batch); self."""
        patches = _fit_patches(images, self.patch).astype(np.float64)
        mean = patches.mean(axis=0)
        _, singular, axes = np.linalg.svd(patches - mean, full_matrices=False)
        keep = min(self.components or axes.shape[0], axes.shape[0])
        basis = axes[:keep]
        # SVD signs are arbitrary: make each axis' largest entry positive so token maps keep their colours across fits
        signs = np.sign(basis[np.arange(keep), np.argmax(np.abs(basis), axis=1)])
        basis = basis * np.where(signs == 0, 1.0, signs)[:, None]
        self.mean_, self.basis_ = mean, basis
        self.variance_ = singular[:keep] ** 2 / max(len(patches) - 1, 1)
        self._fit = _fingerprint(mean, basis)
        return self

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.basis_ is None or self.mean_ is None:
            raise InvalidInput("tokenizer", "the PCA tokenizer is not fitted: call fit(images) first")
        return self.mean_, self.basis_

    def encode(self, image: Any) -> Tokens:
        """Encode an image of any size as K ordered tokens: ``data`` (K, P) float16, 16 bits per coefficient."""
        mean, basis = self._fitted()
        img, padded, grid = _split(image, self.patch)
        patches = _patchify(padded, self.patch).astype(np.float64)
        coefficients = ((patches - mean) @ basis.T).T.astype(np.float16)  # (K, P)
        return Tokens(
            kind="continuous", data=coefficients, count=len(basis),
            bits=len(basis) * coefficients.shape[1] * PCA_COEFFICIENT_BITS, grid=grid, image_size=img.shape[:2],
            ordered=True, padded_size=padded.shape[:2], codec="pca",
            params={"patch": self.patch, "fit": self._fit, "coefficient_bits": PCA_COEFFICIENT_BITS},
        )

    def truncate(self, tokens: Tokens, k: int) -> Tokens:
        """The first k (1..count) tokens as tokens of their own, with their own bits (e.g. to match a DCT budget)."""
        tokens = _check_tokens(tokens, "pca", self._fit)
        k = int(check_number(k, "prefix", minimum=1, maximum=tokens.count, integer=True))
        return replace(tokens, data=tokens.data[:k], count=k, bits=k * tokens.data.shape[1] * PCA_COEFFICIENT_BITS)

    def decode_prefix(self, tokens: Tokens, k: int) -> np.ndarray:
        """Reconstruct (float32 HxWx3 at the original size) from the first k tokens only.

        Raises:
            InvalidInput: ``prefix`` when k is outside 1..count; ``tokens`` when from another codec or fit.
        """
        mean, basis = self._fitted()
        tokens = _check_tokens(tokens, "pca", self._fit)
        k = int(check_number(k, "prefix", minimum=1, maximum=tokens.count, integer=True))
        patches = tokens.data[:k].T.astype(np.float64) @ basis[:k] + mean  # (P, k) @ (k, D) -> (P, D)
        return _finish(_unpatchify(patches, tokens.grid, self.patch), tokens)

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Reconstruct from all the tokens."""
        tokens = _check_tokens(tokens, "pca", self._fit)
        return self.decode_prefix(tokens, tokens.count)


# --------------------------------------------------------------------------------------------------------------------
# VQ: a k-means patch codebook
# --------------------------------------------------------------------------------------------------------------------
class VQPatchTokenizer:
    """One discrete code per patch from a k-means codebook of patches (a VQ tokenizer with identity encoder).

    Args:
        patch: patch side in pixels (1..64).
        codebook_size: number of codewords (2..65536).
        seed: seeds the patch subsample and the k-means++ initialisation, so a fit is reproducible.
        iterations: at most this many Lloyd iterations (stops early when no assignment changes).
        max_fit_patches: fitting uses a seeded random subset of at most this many patches, bounding its time.
    """

    def __init__(self, patch: int = 8, codebook_size: int = 256, seed: int = 0, *, iterations: int = 50,
                 max_fit_patches: int = 16384) -> None:
        self.patch = _check_patch(patch)
        self.codebook_size = int(check_number(codebook_size, "codebook_size", minimum=2, maximum=65536, integer=True))
        self.seed = int(check_number(seed, "seed", minimum=0, integer=True))
        self.iterations = int(check_number(iterations, "iterations", minimum=1, maximum=1000, integer=True))
        self.max_fit_patches = int(check_number(max_fit_patches, "max_fit_patches", minimum=self.codebook_size,
                                                integer=True))
        self.code_bits = math.ceil(math.log2(self.codebook_size))  # fixed-length codes
        self.codebook_: np.ndarray | None = None  # (K, D) float32
        self._fit = ""

    def fit(self, images: Any) -> VQPatchTokenizer:
        """Learn the codebook by k-means on the patches of ``images`` (one image, a list or a batch); returns self.

        Raises:
            InvalidInput: ``images`` when they hold fewer patches than codewords.
        """
        patches = _fit_patches(images, self.patch)
        if len(patches) < self.codebook_size:
            raise InvalidInput("images", f"{len(patches)} patches of {self.patch}px cannot fit {self.codebook_size} "
                                         "codewords: use larger or more images, a smaller patch or codebook_size")
        rng = np.random.default_rng(self.seed)
        if len(patches) > self.max_fit_patches:
            patches = patches[np.sort(rng.choice(len(patches), self.max_fit_patches, replace=False))]
        self.codebook_ = _kmeans(np.ascontiguousarray(patches, dtype=np.float32), self.codebook_size,
                                 self.iterations, rng)
        self._fit = _fingerprint(self.codebook_)
        return self

    def _codebook(self) -> np.ndarray:
        if self.codebook_ is None:
            raise InvalidInput("tokenizer", "the VQ tokenizer is not fitted: call fit(images) first")
        return self.codebook_

    def encode(self, image: Any) -> Tokens:
        """One code per patch (nearest codeword): ``data`` (gh, gw) int32, bits = gh*gw*ceil(log2(codebook_size))."""
        codebook = self._codebook()
        img, padded, grid = _split(image, self.patch)
        codes = _nearest(_patchify(padded, self.patch), codebook).reshape(grid)
        return Tokens(kind="discrete", data=codes, count=codes.size, bits=codes.size * self.code_bits, grid=grid,
                      image_size=img.shape[:2], ordered=False, padded_size=padded.shape[:2], codec="vq",
                      params={"patch": self.patch, "fit": self._fit, "codebook_size": self.codebook_size,
                              "code_bits": self.code_bits})

    def _checked(self, tokens: Tokens) -> Tokens:
        tokens = _check_tokens(tokens, "vq", self._fit)
        if tokens.data.shape != tokens.grid or tokens.data.min() < 0 or tokens.data.max() >= self.codebook_size:
            raise InvalidInput("tokens", f"codes must form the {tokens.grid} grid with values in "
                                         f"0..{self.codebook_size - 1}")
        return tokens

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Reconstruct (float32 HxWx3 at the original size): each patch becomes its codeword."""
        codebook = self._codebook()
        tokens = self._checked(tokens)
        return _finish(_unpatchify(codebook[tokens.data.ravel()], tokens.grid, self.patch), tokens)

    def neighbours(self, codes: np.ndarray, delta: int) -> np.ndarray:
        """The ``delta`` nearest codewords to each of ``codes`` (1-D indices) in codebook space, nearest first.

        Returns:
            (len(codes), delta) int32; column 0 is the code itself, even where duplicate codewords tie with it.
        """
        codebook = self._codebook().astype(np.float64)
        delta = int(check_number(delta, "delta", minimum=1, maximum=self.codebook_size, integer=True))
        codes = np.asarray(codes)
        valid = codes.ndim == 1 and np.issubdtype(codes.dtype, np.integer)
        if not valid or np.any((codes < 0) | (codes >= len(codebook))):
            raise InvalidInput("codes", f"expected a 1-D array of code indices in 0..{len(codebook) - 1}")
        norms = np.einsum("ij,ij->i", codebook, codebook)
        distances = norms[codes][:, None] + _sq_distances(codebook[codes], codebook, norms)
        distances[np.arange(len(codes)), codes] = -np.inf
        nearest = np.argpartition(distances, delta - 1, axis=1)[:, :delta]
        order = np.argsort(np.take_along_axis(distances, nearest, axis=1), axis=1, kind="stable")
        return np.take_along_axis(nearest, order, axis=1).astype(np.int32)

    def perturb(self, tokens: Tokens, alpha: float, delta: int, seed: int) -> Tokens:
        """RobustTok's latent perturbation (models.md 6.1), with beta = 1 (every image perturbed).

        Each token, with probability alpha, is replaced by one drawn uniformly among the delta codewords nearest to
        its own codeword (itself included, so delta=1 changes nothing). The random draws (a replace flag and a
        neighbour rank per token) do not depend on alpha, so for one seed a larger alpha perturbs a superset of the
        tokens a smaller alpha perturbs: curves over alpha are smooth and comparable.

        Args:
            tokens: tokens from this tokenizer.
            alpha: perturbation rate, the fraction of tokens replaced on average, in [0, 1].
            delta: neighbourhood size, 1..codebook_size.
            seed: seed of the draws (>= 0); the same seed gives the same perturbation.

        Returns:
            New tokens with the perturbed codes (same size and bits).
        """
        tokens = self._checked(tokens)
        alpha = float(check_number(alpha, "alpha", minimum=0.0, maximum=1.0))
        delta = int(check_number(delta, "delta", minimum=1, maximum=self.codebook_size, integer=True))
        seed = int(check_number(seed, "seed", minimum=0, integer=True))
        codes = tokens.data.ravel()
        rng = np.random.default_rng(seed)
        hit = rng.random(codes.size) < alpha
        rank = rng.integers(0, delta, size=codes.size)
        new = codes.astype(np.int32, copy=True)
        if delta > 1 and hit.any():
            unique, inverse = np.unique(codes[hit], return_inverse=True)
            new[hit] = self.neighbours(unique, delta)[inverse.ravel(), rank[hit]]
        perturbation = MappingProxyType({"alpha": alpha, "delta": delta, "seed": seed})
        params = dict(tokens.params) | {"perturbation": perturbation}
        return replace(tokens, data=new.reshape(tokens.grid), params=params)


# --------------------------------------------------------------------------------------------------------------------
# DCT: a JPEG-like baseline at any bit budget
# --------------------------------------------------------------------------------------------------------------------
def zigzag(block: int) -> np.ndarray:
    """JPEG's zigzag scan of a block x block grid, as flat (row-major) indices, lowest frequencies first."""
    rows, cols = np.divmod(np.arange(block * block), block)
    diagonal = rows + cols
    # odd anti-diagonals run down-left (row increasing), even ones up-right (row decreasing)
    return np.lexsort((np.where(diagonal % 2 == 1, rows, -rows), diagonal))


class DCTCodec:
    """JPEG-like baseline: YCbCr, orthonormal block DCT, zigzag coefficients kept in spectral-selection order.

    Coefficients are ordered position by position (every block's DC, then every block's first AC in zigzag order...)
    as in JPEG's progressive spectral selection, so keeping the first T of them per channel is a coarse-to-fine
    prefix and any budget can be hit to within a few coefficients. Each kept coefficient is quantised uniformly per
    channel and zigzag position: DC between its minimum and maximum, AC symmetrically about 0 (mid-tread).

    Args:
        block: block side in pixels (JPEG uses 8).
    """

    def __init__(self, block: int = 8) -> None:
        self.block = _check_patch(block, "block")
        self._zigzag = zigzag(self.block)

    def _coefficients(self, image: Any) -> tuple[np.ndarray, np.ndarray, Tokens]:
        """The image, its (3, block^2 * B) coefficients in spectral-selection order, and a template of its tokens."""
        b = self.block
        img, padded, (gh, gw) = _split(image, b)
        ycc = padded.astype(np.float64) @ np.asarray(RGB_TO_YCBCR).T  # colour decorrelation, as JPEG
        blocks = ycc.reshape(gh, b, gw, b, 3).transpose(4, 0, 2, 1, 3)  # (3, gh, gw, b, b)
        from scipy import fft

        coefficients = fft.dctn(blocks, axes=(-2, -1), norm="ortho").reshape(3, gh * gw, b * b)[:, :, self._zigzag]
        ordered = coefficients.transpose(0, 2, 1).reshape(3, -1)  # index = zigzag position * B + block
        template = Tokens(kind="discrete", data=np.zeros((3, 0), np.uint16), count=0, bits=0, grid=(gh, gw),
                          image_size=img.shape[:2], ordered=True, padded_size=padded.shape[:2], codec="dct")
        return img, ordered, template

    def _quantise(self, ordered: np.ndarray, template: Tokens, total: int, coefficient_bits: int) -> Tokens:
        blocks = template.grid[0] * template.grid[1]
        positions = -(-total // blocks)
        per_position = ordered[:, : positions * blocks].reshape(3, positions, blocks)
        low, high = per_position.min(axis=2), per_position.max(axis=2)
        # DC: 2^bits levels over [min, max]. AC: a mid-tread quantiser, 2^bits - 1 levels over [-m, m], so that 0
        # (by far the most common AC value) is a level; at 2-4 bits this is worth several dB.
        ac = np.arange(positions)[None, :] > 0
        magnitude = np.maximum(np.abs(low), np.abs(high))
        levels = np.where(ac, 2**coefficient_bits - 2, 2**coefficient_bits - 1)
        low = np.where(ac, -magnitude, low).astype(np.float32)
        step = (np.where(ac, 2 * magnitude, high - low) / levels).astype(np.float32)
        step[step <= 0] = 1.0  # a constant position quantises to level 0 exactly
        low.flags.writeable = step.flags.writeable = False  # side information travels inside immutable tokens
        where = np.arange(total) // blocks
        # the float32 side information as stored, so the decoder reproduces exactly these levels
        q = np.rint((ordered[:, :total] - low[:, where]) / step[:, where])
        data = np.clip(q, 0, levels[:, where]).astype(np.uint16)
        bits = 3 * total * coefficient_bits + 3 * positions * DCT_SIDE_BITS
        return Tokens(kind="discrete", data=data, count=3 * total, bits=bits, grid=template.grid,
                      image_size=template.image_size, ordered=True, padded_size=template.padded_size, codec="dct",
                      params={"block": self.block, "coefficient_bits": coefficient_bits, "low": low, "step": step,
                              "kept_per_block": total / blocks})

    def encode(self, image: Any, keep: int, coefficient_bits: int = 8) -> Tokens:
        """Keep the first ``keep`` zigzag coefficients of every block and channel.

        Args:
            image: an image of any size.
            keep: coefficients per block and channel, 1..block^2.
            coefficient_bits: bits per quantised coefficient, 2..16.

        Returns:
            DCT tokens; bits = 3 * keep * blocks * coefficient_bits + side information.
        """
        keep = int(check_number(keep, "keep", minimum=1, maximum=self.block**2, integer=True))
        coefficient_bits = int(check_number(coefficient_bits, "coefficient_bits", minimum=2, maximum=16,
                                            integer=True))
        _, ordered, template = self._coefficients(image)
        return self._quantise(ordered, template, keep * template.grid[0] * template.grid[1], coefficient_bits)

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Dequantise, inverse DCT, back to RGB and crop: the float32 HxWx3 reconstruction at the original size."""
        tokens = _check_tokens(tokens, "dct")
        if tokens.params.get("block") != self.block:
            raise InvalidInput("tokens", f"were made with {tokens.params.get('block')}px blocks, not {self.block}")
        b, (gh, gw) = self.block, tokens.grid
        blocks, total = gh * gw, tokens.data.shape[1]
        low, step = np.asarray(tokens.params["low"]), np.asarray(tokens.params["step"])
        if tokens.data.shape[0] != 3 or not 0 < total <= b * b * blocks or low.shape != (3, -(-total // blocks)):
            raise InvalidInput("tokens", f"DCT data {tokens.data.shape} does not fit the {tokens.grid} grid")
        where = np.arange(total) // blocks
        ordered = np.zeros((3, b * b * blocks))
        ordered[:, :total] = low[:, where] + tokens.data * step[:, where].astype(np.float64)
        coefficients = np.zeros((3, blocks, b * b))
        coefficients[:, :, self._zigzag] = ordered.reshape(3, b * b, blocks).transpose(0, 2, 1)
        from scipy import fft

        ycc = fft.idctn(coefficients.reshape(3, gh, gw, b, b), axes=(-2, -1), norm="ortho")
        padded = ycc.transpose(1, 3, 2, 4, 0).reshape(gh * b, gw * b, 3) @ np.linalg.inv(np.asarray(RGB_TO_YCBCR)).T
        return _finish(padded, tokens)

    def at_bits(self, image: Any, bits: int) -> tuple[Tokens, np.ndarray]:
        """The best of a few quantiser settings whose size fits a bit budget (e.g. another tokenizer's ``bits``).

        For each coefficient bit depth in 2..12 the number of kept coefficients is the largest that fits; the depth
        with the lowest reconstruction error wins. The tokens use at most ``bits`` and fall short of it by less
        than 3 coefficients plus one position's side information (under one block's worth).

        Returns:
            ``(tokens, reconstruction)``.

        Raises:
            InvalidInput: ``bits`` when too small to keep even one coefficient per channel.
        """
        bits = int(check_number(bits, "bits", minimum=1, integer=True))
        img, ordered, template = self._coefficients(image)
        blocks = template.grid[0] * template.grid[1]
        best: tuple[float, Tokens, np.ndarray] | None = None
        for depth in DCT_BIT_DEPTHS:
            total = 0
            for positions in range(1, self.block**2 + 1):  # side information grows with the positions used
                room = (bits - 3 * positions * DCT_SIDE_BITS) // (3 * depth)
                if room > (positions - 1) * blocks:
                    total = min(room, positions * blocks)
            if total == 0:
                continue
            tokens = self._quantise(ordered, template, total, depth)
            reconstruction = self.decode(tokens)
            error = float(np.mean((reconstruction - img) ** 2))
            if best is None or error < best[0]:
                best = (error, tokens, reconstruction)
        if best is None:
            minimum = 3 * (DCT_BIT_DEPTHS[0] + DCT_SIDE_BITS)
            raise InvalidInput("bits", f"{bits} bits cannot hold one coefficient per channel; minimum {minimum}")
        return best[1], best[2]


# --------------------------------------------------------------------------------------------------------------------
# Visualisation helpers
# --------------------------------------------------------------------------------------------------------------------
def code_palette(size: int) -> np.ndarray:
    """A fixed palette of distinct colours for code indices 0..size-1 (golden-ratio hue steps), (size, 3) uint8."""
    index = np.arange(size)
    hue = (index * 0.618033988749895) % 1.0
    saturation = 0.5 + 0.45 * ((index * 0.7548776662) % 1.0)
    value = 0.6 + 0.4 * ((index * 0.5698402910) % 1.0)
    sector = np.floor(hue * 6.0)
    frac = hue * 6.0 - sector
    p, q, t = value * (1 - saturation), value * (1 - frac * saturation), value * (1 - (1 - frac) * saturation)
    choices = np.stack([
        np.stack([value, t, p], 1), np.stack([q, value, p], 1), np.stack([p, value, t], 1),
        np.stack([p, q, value], 1), np.stack([t, p, value], 1), np.stack([value, p, q], 1),
    ])  # (6, size, 3): HSV -> RGB for each hue sector
    rgb = choices[sector.astype(np.int64) % 6, index]
    return np.rint(rgb * 255).astype(np.uint8)


def token_map(tokens: Tokens) -> np.ndarray:
    """An HxWx3 uint8 picture of the tokens at the original image size, one flat colour per patch.

    VQ: each code's colour from ``code_palette``; PCA: the first three components of each patch as RGB, each
    stretched between its 1st and 99th percentile; DCT: each block's DC terms, i.e. its mean colour.
    """
    if not isinstance(tokens, Tokens) or tokens.codec not in ("pca", "vq", "dct"):
        raise InvalidInput("tokens", "expected tokens from PCAPatchTokenizer, VQPatchTokenizer or DCTCodec")
    gh, gw = tokens.grid
    if tokens.codec == "vq":
        grid = code_palette(int(tokens.params["codebook_size"]))[tokens.data]
    elif tokens.codec == "pca":
        first = tokens.data[:3].astype(np.float64)
        first = np.concatenate([first, np.repeat(first[-1:], 3 - len(first), axis=0)])  # fewer than 3 components
        low, high = np.percentile(first, 1, axis=1), np.percentile(first, 99, axis=1)
        scaled = (first - low[:, None]) / np.maximum(high - low, 1e-12)[:, None]
        grid = np.rint(np.clip(scaled, 0, 1) * 255).astype(np.uint8).T.reshape(gh, gw, 3)
    else:
        blocks, b = gh * gw, int(tokens.params["block"])
        dc = np.zeros((3, blocks))
        kept = min(blocks, tokens.data.shape[1])
        low, step = np.asarray(tokens.params["low"])[:, :1], np.asarray(tokens.params["step"])[:, :1]
        dc[:, :kept] = low + tokens.data[:, :kept] * step.astype(np.float64)
        rgb = (dc.T / b) @ np.linalg.inv(np.asarray(RGB_TO_YCBCR)).T  # orthonormal DC = b * block mean
        grid = np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8).reshape(gh, gw, 3)
    cell = tokens.padded_size[0] // gh
    full = np.repeat(np.repeat(grid, cell, axis=0), cell, axis=1)
    return np.ascontiguousarray(full[: tokens.image_size[0], : tokens.image_size[1]])


def reconstruction_curve(tokenizer: PCAPatchTokenizer, image: Any, ks: Sequence[int]) -> list[tuple[int, float]]:
    """``[(k, psnr_db), ...]``: PSNR from each prefix length in ``ks`` (1..count) of a fitted ordered tokenizer."""
    if not hasattr(tokenizer, "decode_prefix"):
        raise InvalidInput("tokenizer", f"{type(tokenizer).__name__} has no ordered prefixes (decode_prefix)")
    reference = _prepare(image)
    tokens = tokenizer.encode(reference)
    return [(int(k), psnr(reference, tokenizer.decode_prefix(tokens, k))) for k in ks]
