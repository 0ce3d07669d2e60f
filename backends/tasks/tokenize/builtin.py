"""The weight-free tokenizers of the studio (teaching baselines): PCA, k-means VQ and the rate-matched DCT."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.core.run import ProgressFn
from backends.tasks.tokenize import codecs, dct
from backends.tasks.tokenize.base import TokenizerBackend
from backends.tasks.tokenize.tokens import Tokens
from backends.tasks.tokenize.types import TokenizeRequest


class CodecTokenizer(TokenizerBackend):
    """The PCA, VQ and DCT codecs, fitted on the image being tokenized.

    The spec's builtin options configure them: ``codec`` (pca | vq | dct), ``patch``, ``components``,
    ``codebook_size``, ``block``.
    """

    def load(self, report: ProgressFn | None = None) -> None:
        """Build the codec (no weights)."""
        options = dict(self.spec.defaults.options)
        kind = options.pop("codec")
        self.kind = kind
        # The DCT baseline is rate-matched, not a token sequence: only PCA has meaningful prefixes.
        self.ordered, self.discrete = kind == "pca", kind == "vq"
        if kind == "pca":
            self.codec: Any = codecs.PCAPatchTokenizer(**options)
        elif kind == "vq":
            self.codec = codecs.VQPatchTokenizer(**options)
        else:
            self.codec = dct.DCTCodec(**options)

    def fit(self, image: np.ndarray, request: TokenizeRequest) -> None:
        """PCA and VQ learn their basis / codebook from the image's own patches."""
        if self.kind in ("pca", "vq"):
            self.codec.fit(image)

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:
        """PCA / VQ tokens, or DCT coefficients at the requested bit budget (default 0.25 bits per pixel)."""
        if self.kind != "dct":
            return self.codec.encode(image)
        bits = int(request.bits or 0.25 * image.shape[0] * image.shape[1])
        tokens, _ = self.codec.at_bits(image, bits)
        return tokens

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Reconstruct from all tokens."""
        return self.codec.decode(tokens)

    def decode_prefix(self, tokens: Tokens, k: int) -> np.ndarray:
        """PCA: reconstruction from the first k components (coarse to fine)."""
        return self.codec.decode_prefix(tokens, k)

    def perturb(self, tokens: Tokens, alpha: float, delta: int, seed: int) -> Tokens:
        """RobustTok-style perturbation among the delta nearest codewords."""
        return self.codec.perturb(tokens, alpha, min(delta, self.codec.codebook_size), seed)
