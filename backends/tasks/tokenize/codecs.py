"""Weight-free image tokenizers fitted on the images they encode: ordered PCA patches and k-means patch VQ.

They are teaching baselines, each showing one idea exactly:

* ``PCAPatchTokenizer``: Semanticist's ordered 1D token sequence in its simplest exact form. Token k is principal
  component k of the image's patches (its coefficient in every patch), so tokens are ordered by variance and each
  further token adds detail orthogonal to the previous ones: any prefix is a valid, coarser reconstruction.
* ``VQPatchTokenizer``: a k-means codebook of patches (one discrete code per patch), with RobustTok's latent
  perturbation (models.md 6.1) for pFID-style robustness probes.

How sizes are counted (``Tokens.bits``): the tokens *and* the basis or codebook fitted on the image. A learned
tokenizer's weights are fixed in advance and shared by every image, so only its tokens count; these codecs fit
their "model" on the image being coded, so the decoder cannot do without it and it is part of the message. PCA
coefficients are stored as float16 (16 bits each) plus the fitted basis rows and mean at 16 bits per value; VQ codes
take ceil(log2(codebook_size)) bits each (fixed-length codes, no entropy coding) plus the codebook at 16 bits per
value. (Keeping all 192 components of 8x8 RGB patches therefore costs more than the 24-bit raw image.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np

from backends.core.errors import InvalidInput
from backends.core.validation import check_number
from backends.tasks.tokenize.tokens import (
    Tokens,
    check_patch,
    check_tokens,
    fingerprint,
    finish,
    fit_patches,
    patchify,
    prepare_image,
    split,
    unpatchify,
)
from backends.vision.metrics import psnr

PCA_COEFFICIENT_BITS = 16  # PCA tokens are stored as float16
FITTED_VALUE_BITS = 16  # a basis / codebook fitted on the image travels with its tokens, as float16
KMEANS_CHUNK = 32768  # rows per distance block, so encoding a large image never builds a huge (N, K) matrix


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
        self.patch = check_patch(patch)
        dim = self.patch * self.patch * 3
        self.components = None if components is None else int(
            check_number(components, "components", minimum=1, maximum=dim, integer=True))
        self.mean_: np.ndarray | None = None  # (D,) float64
        self.basis_: np.ndarray | None = None  # (K, D) float64, orthonormal rows, by decreasing variance
        self.variance_: np.ndarray | None = None  # (K,) variance of each component over the fitting patches
        self._fit = ""

    def fit(self, images: Any) -> PCAPatchTokenizer:
        """Find the principal axes of the patches of ``images`` (one image, a list, or an (N, H, W, 3) batch); self."""
        patches = fit_patches(images, self.patch).astype(np.float64)
        mean = patches.mean(axis=0)
        _, singular, axes = np.linalg.svd(patches - mean, full_matrices=False)
        keep = min(self.components or axes.shape[0], axes.shape[0])
        basis = axes[:keep]
        # SVD signs are arbitrary: make each axis' largest entry positive so token maps keep their colours across fits
        signs = np.sign(basis[np.arange(keep), np.argmax(np.abs(basis), axis=1)])
        basis = basis * np.where(signs == 0, 1.0, signs)[:, None]
        self.mean_, self.basis_ = mean, basis
        self.variance_ = singular[:keep] ** 2 / max(len(patches) - 1, 1)
        self._fit = fingerprint(mean, basis)
        return self

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.basis_ is None or self.mean_ is None:
            raise InvalidInput("tokenizer", "the PCA tokenizer is not fitted: call fit(images) first")
        return self.mean_, self.basis_

    def encode(self, image: Any) -> Tokens:
        """Encode an image of any size as K ordered tokens: ``data`` (K, P) float16, 16 bits per coefficient."""
        mean, basis = self._fitted()
        img, padded, grid = split(image, self.patch)
        patches = patchify(padded, self.patch).astype(np.float64)
        coefficients = ((patches - mean) @ basis.T).T.astype(np.float16)  # (K, P)
        return Tokens(
            kind="continuous", data=coefficients, count=len(basis),
            bits=self._bits(len(basis), coefficients.shape[1]), grid=grid, image_size=img.shape[:2],
            ordered=True, padded_size=padded.shape[:2], codec="pca",
            params={"patch": self.patch, "fit": self._fit, "coefficient_bits": PCA_COEFFICIENT_BITS},
        )

    def truncate(self, tokens: Tokens, k: int) -> Tokens:
        """The first k (1..count) tokens as tokens of their own, with their own bits (e.g. to match a DCT budget)."""
        tokens = check_tokens(tokens, "pca", self._fit)
        k = int(check_number(k, "prefix", minimum=1, maximum=tokens.count, integer=True))
        return replace(tokens, data=tokens.data[:k], count=k, bits=self._bits(k, tokens.data.shape[1]))

    def _bits(self, k: int, patches: int) -> int:
        """k coefficients per patch, plus the k basis rows and the mean they need (float16 each)."""
        dim = self.patch * self.patch * 3
        return k * patches * PCA_COEFFICIENT_BITS + (k * dim + dim) * FITTED_VALUE_BITS

    def decode_prefix(self, tokens: Tokens, k: int) -> np.ndarray:
        """Reconstruct (float32 HxWx3 at the original size) from the first k tokens only.

        Raises:
            InvalidInput: ``prefix`` when k is outside 1..count; ``tokens`` when from another codec or fit.
        """
        mean, basis = self._fitted()
        tokens = check_tokens(tokens, "pca", self._fit)
        k = int(check_number(k, "prefix", minimum=1, maximum=tokens.count, integer=True))
        patches = tokens.data[:k].T.astype(np.float64) @ basis[:k] + mean  # (P, k) @ (k, D) -> (P, D)
        return finish(unpatchify(patches, tokens.grid, self.patch), tokens)

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Reconstruct from all the tokens."""
        tokens = check_tokens(tokens, "pca", self._fit)
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
        self.patch = check_patch(patch)
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
        patches = fit_patches(images, self.patch)
        if len(patches) < self.codebook_size:
            raise InvalidInput("images", f"{len(patches)} patches of {self.patch}px cannot fit {self.codebook_size} "
                                         "codewords: use larger or more images, a smaller patch or codebook_size")
        rng = np.random.default_rng(self.seed)
        if len(patches) > self.max_fit_patches:
            patches = patches[np.sort(rng.choice(len(patches), self.max_fit_patches, replace=False))]
        self.codebook_ = _kmeans(np.ascontiguousarray(patches, dtype=np.float32), self.codebook_size,
                                 self.iterations, rng)
        self._fit = fingerprint(self.codebook_)
        return self

    def _codebook(self) -> np.ndarray:
        if self.codebook_ is None:
            raise InvalidInput("tokenizer", "the VQ tokenizer is not fitted: call fit(images) first")
        return self.codebook_

    def encode(self, image: Any) -> Tokens:
        """One code per patch (nearest codeword): ``data`` (gh, gw) int32, bits = gh*gw*ceil(log2(codebook_size))
        plus the fitted codebook at 16 bits per value."""
        codebook = self._codebook()
        img, padded, grid = split(image, self.patch)
        codes = _nearest(patchify(padded, self.patch), codebook).reshape(grid)
        bits = codes.size * self.code_bits + codebook.size * FITTED_VALUE_BITS
        return Tokens(kind="discrete", data=codes, count=codes.size, bits=bits, grid=grid,
                      image_size=img.shape[:2], ordered=False, padded_size=padded.shape[:2], codec="vq",
                      params={"patch": self.patch, "fit": self._fit, "codebook_size": self.codebook_size,
                              "code_bits": self.code_bits})

    def _checked(self, tokens: Tokens) -> Tokens:
        tokens = check_tokens(tokens, "vq", self._fit)
        if tokens.data.shape != tokens.grid or tokens.data.min() < 0 or tokens.data.max() >= self.codebook_size:
            raise InvalidInput("tokens", f"codes must form the {tokens.grid} grid with values in "
                                         f"0..{self.codebook_size - 1}")
        return tokens

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Reconstruct (float32 HxWx3 at the original size): each patch becomes its codeword."""
        codebook = self._codebook()
        tokens = self._checked(tokens)
        return finish(unpatchify(codebook[tokens.data.ravel()], tokens.grid, self.patch), tokens)

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



def reconstruction_curve(tokenizer: PCAPatchTokenizer, image: Any, ks: Sequence[int]) -> list[tuple[int, float]]:
    """``[(k, psnr_db), ...]``: PSNR from each prefix length in ``ks`` (1..count) of a fitted ordered tokenizer."""
    if not hasattr(tokenizer, "decode_prefix"):
        raise InvalidInput("tokenizer", f"{type(tokenizer).__name__} has no ordered prefixes (decode_prefix)")
    reference = prepare_image(image)
    tokens = tokenizer.encode(reference)
    return [(int(k), psnr(reference, tokenizer.decode_prefix(tokens, k))) for k in ks]
