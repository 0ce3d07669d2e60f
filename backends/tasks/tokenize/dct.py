"""A JPEG-like baseline at any bit budget: YCbCr, 8x8 orthonormal block DCT, zigzag order, uniform quantisation.

It compares tokenizers with a classical codec at matched bit rates. Sizes count the quantised levels (the chosen
bits each) plus the quantiser's side information (a float32 minimum and step per channel and zigzag position used).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.core.errors import InvalidInput
from backends.core.validation import check_number
from backends.tasks.tokenize.tokens import RGB_TO_YCBCR, Tokens, check_patch, check_tokens, finish, split

DCT_BIT_DEPTHS = tuple(range(2, 13))  # coefficient bit depths at_bits() tries
DCT_SIDE_BITS = 64  # per channel and zigzag position: the quantiser's float32 minimum and float32 step


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
        self.block = check_patch(block, "block")
        self._zigzag = zigzag(self.block)

    def _coefficients(self, image: Any) -> tuple[np.ndarray, np.ndarray, Tokens]:
        """The image, its (3, block^2 * B) coefficients in spectral-selection order, and a template of its tokens."""
        b = self.block
        img, padded, (gh, gw) = split(image, b)
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
        tokens = check_tokens(tokens, "dct")
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
        return finish(padded, tokens)

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


