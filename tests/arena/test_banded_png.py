"""Served images written from pre-compressed bands: valid PNGs, the nonce in one band, the same pixels as shown, each
image banded once however many ask for it at once."""

from __future__ import annotations

import io
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arena.banded_png import BAND_ROWS, BandedPng, _adler_combine
from arena.media import ImageStore, ServedFiles, served_copy


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == "RGB" and image.info == {}
        return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("shape", [(1, 1, 3), (BAND_ROWS, 7, 3), (BAND_ROWS + 1, 2, 3), (53, 41, 3)])
def test_a_banded_png_decodes_to_its_pixels_and_any_band_can_be_replaced(shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    banded = BandedPng(pixels)
    assert banded.size == (shape[1], shape[0]) and len(banded.bands) == -(-shape[0] // BAND_ROWS)
    assert np.array_equal(decode(banded.png()), pixels)
    for band in range(len(banded.bands)):
        rows = pixels[banded.band_rows(band)].copy()
        rows[-1, -1] ^= 0xFF
        expected = pixels.copy()
        expected[banded.band_rows(band)] = rows
        assert np.array_equal(banded.band_pixels(band), pixels[banded.band_rows(band)])
        assert np.array_equal(decode(banded.png(band, rows)), expected)  # PIL checks the CRCs and zlib the Adler-32
    assert np.array_equal(decode(banded.png()), pixels)  # replacing a band never changes the kept image


def test_wrong_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        BandedPng(np.zeros((4, 4), dtype=np.uint8))
    banded = BandedPng(np.zeros((20, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="band 0"):
        banded.png(0, np.zeros((BAND_ROWS, 5, 3), dtype=np.uint8))


def test_adler_checksums_combine_like_the_checksum_of_the_joined_bytes() -> None:
    rng = np.random.default_rng(3)
    for first, second in ((b"", b"abc"), (b"x" * 70000, b"y" * 99999), (rng.bytes(1234), rng.bytes(5))):
        assert _adler_combine(zlib.adler32(first), zlib.adler32(second), len(second)) == zlib.adler32(first + second)


def test_a_served_copy_is_its_file_and_differs_on_every_serve(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    yy, xx = np.mgrid[0:70, 0:90]
    name = store.put(Image.fromarray(np.stack([xx * 2, yy * 3, xx + yy], -1).astype(np.uint8)))
    served = ServedFiles(tmp_path / "served")
    size = (60, 47)  # resized, so the banded image is the display copy, not the stored one
    stored = np.asarray(store.open(name, size), dtype=int)
    contents = []
    for _ in range(4):
        image = served_copy(store.banded(name, size))
        assert image.size == size and image.info == {} and image.getexif() == {}
        data = Path(served.write(image)).read_bytes()
        shown = decode(data)
        assert np.array_equal(shown, np.asarray(image.convert("RGB")))  # the file is what the image object shows
        changed = np.flatnonzero(np.abs(shown.astype(int) - stored).max(axis=(1, 2)))
        assert len(changed) and np.abs(shown.astype(int) - stored).max() == 1
        assert changed.max() // BAND_ROWS == changed.min() // BAND_ROWS  # the nonce sits in one band
        contents.append(data)
    assert len(set(contents)) == len(contents)
    assert served.write(None) is None


def test_the_banded_cache_is_bounded_by_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    store = ImageStore(tmp_path / "images", cache_banded_bytes=1)
    names = [store.put(Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))) for _ in range(3)]
    for name in names:
        store.banded(name, (32, 32))
    assert len(store._banded) == 1 and store._banded_bytes == store.banded(names[-1], (32, 32)).nbytes
    assert store.size_of(names[0]) == (32, 32)


def test_an_image_asked_for_by_many_at_once_is_banded_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ImageStore(tmp_path / "images")
    name = store.put(Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 30, 3), dtype=np.uint8)))
    decode_image, builds, gate = store._decode, [], threading.Event()

    def slow_decode(*args: object) -> Image.Image:  # the first build holds until everyone else is waiting
        builds.append(args)
        gate.wait(timeout=30)
        return decode_image(*args)

    monkeypatch.setattr(store, "_decode", slow_decode)
    with ThreadPoolExecutor(8) as pool:
        results = [pool.submit(store.banded, name, (30, 40)) for _ in range(8)]
        time.sleep(0.2)
        gate.set()
        bands = [result.result() for result in results]
    assert len(builds) == 1 and all(banded is bands[0] for banded in bands)

    def broken(*args: object) -> Image.Image:
        raise OSError("disk gone")

    monkeypatch.setattr(store, "_decode", broken)
    with pytest.raises(OSError, match="disk gone"):
        store.banded(name, (15, 20))
    monkeypatch.setattr(store, "_decode", decode_image)  # a failed build is not remembered: the next one runs
    assert store.banded(name, (15, 20)).size == (15, 20) and not store._building
