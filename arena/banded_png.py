"""PNGs whose pixel data is compressed in independent bands of rows, so that a copy with a few pixels changed is
re-encoded in a fraction of a millisecond.

Why hand-written (no PNG library writes this): every served battle image must differ from the last serve of the
same output (a one-bit nonce, see :func:`arena.media.served_copy`), and a full PNG encode per served image was the
labeling server's largest cost (``bench/vote_ingestion.py``). The PNG format (ISO/IEC 15948, sections 10-11) stores
the filtered rows as one zlib stream; a deflate *full flush* between bands leaves no back-reference across the
boundary, so each band can be compressed on its own and the bands concatenated. Rows use filter type 1 (Sub), which
depends only on the same row, so changing pixels of one band changes the compressed bytes of that band alone. The
zlib trailer (Adler-32 of all filtered bytes) is combined from per-band checksums (the identity is in RFC 1950's
definition: both sums are linear in the bytes), so the cached image needs only its compressed bands.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

BAND_ROWS = 16
_ADLER_MOD = 65521
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def _adler_combine(first: int, second: int, second_length: int) -> int:
    """Adler-32 of ``X + Y`` from ``adler32(X)``, ``adler32(Y)`` and ``len(Y)``.

    With ``A = 1 + sum of bytes`` and ``B = sum of the running A values``, appending ``Y`` (``n`` bytes) to ``X`` adds
    ``A_Y - 1`` to ``A`` and ``B_Y + n * (A_X - 1)`` to ``B`` (``B_Y`` already counts ``n`` times its start of 1).
    """
    a1, b1 = first & 0xFFFF, first >> 16
    a2, b2 = second & 0xFFFF, second >> 16
    a = (a1 + a2 - 1) % _ADLER_MOD
    b = (b1 + b2 + second_length * (a1 - 1)) % _ADLER_MOD
    return (b << 16) | a


def _filtered(rows: np.ndarray) -> bytes:
    """``(n, W, 3)`` uint8 rows as PNG scanlines with filter Sub: each byte minus the same channel one pixel left."""
    flat = rows.reshape(len(rows), -1)
    out = np.empty((len(rows), flat.shape[1] + 1), dtype=np.uint8)
    out[:, 0] = 1
    out[:, 1:4] = flat[:, :3]
    np.subtract(flat[:, 3:], flat[:, :-3], out=out[:, 4:])  # uint8 wraps modulo 256, as the filter does
    return out.tobytes()


def _deflate(raw: bytes) -> bytes:
    # Level 1 with run-length matching: what the served images used before (several times faster than level 6 on
    # photo-like images, about as small); a raw deflate stream ending on a full flush, so bands concatenate.
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15, 8, zlib.Z_RLE)
    return compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH)


class BandedPng:
    """An RGB image kept as compressed PNG bands, written out with any one band replaced.

    Args:
        pixels: ``(H, W, 3)`` uint8 RGB.
    """

    def __init__(self, pixels: np.ndarray) -> None:
        pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        if pixels.ndim != 3 or pixels.shape[2] != 3 or 0 in pixels.shape:
            raise ValueError(f"pixels must be a non-empty (H, W, 3) array, got shape {pixels.shape}")
        height, width = pixels.shape[:2]
        self.size = (width, height)
        self.bands: list[bytes] = []
        self.adlers: list[int] = []
        self.lengths: list[int] = []
        for start in range(0, height, BAND_ROWS):
            raw = _filtered(pixels[start:start + BAND_ROWS])
            self.bands.append(_deflate(raw))
            self.adlers.append(zlib.adler32(raw))
            self.lengths.append(len(raw))
        # 8-bit RGB, deflate, adaptive filtering, no interlace; no ancillary chunks (no metadata at all).
        self._head = _SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        self.nbytes = sum(len(band) for band in self.bands)

    def band_pixels(self, band: int) -> np.ndarray:
        """Band ``band``'s rows as ``(n, W, 3)`` uint8 RGB (inflating that band only)."""
        width = self.size[0]
        raw = zlib.decompressobj(-15).decompress(self.bands[band])
        rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3 * width + 1)[:, 1:].reshape(-1, width, 3)
        return np.cumsum(rows, axis=1, dtype=np.uint8)

    def band_rows(self, band: int) -> slice:
        """The image rows of band ``band``."""
        return slice(band * BAND_ROWS, min((band + 1) * BAND_ROWS, self.size[1]))

    def png(self, band: int | None = None, rows: np.ndarray | None = None) -> bytes:
        """The PNG file, with band ``band`` replaced by ``rows`` (its ``(n, W, 3)`` pixels) when given."""
        bands, adlers = self.bands, self.adlers
        if band is not None and rows is not None:
            raw = _filtered(np.ascontiguousarray(rows, dtype=np.uint8))
            if len(raw) != self.lengths[band]:
                raise ValueError(f"band {band} has {self.lengths[band]} filtered bytes, the rows give {len(raw)}")
            bands, adlers = list(bands), list(adlers)
            bands[band], adlers[band] = _deflate(raw), zlib.adler32(raw)
        checksum = 1  # the Adler-32 of nothing
        for adler, length in zip(adlers, self.lengths, strict=True):
            checksum = _adler_combine(checksum, adler, length)
        # zlib header (deflate, 32 KiB window, fastest), the bands, an empty final block, the Adler-32.
        stream = b"".join([b"\x78\x01", *bands, b"\x03\x00", struct.pack(">I", checksum)])
        return b"".join([self._head, _chunk(b"IDAT", stream), _chunk(b"IEND", b"")])
