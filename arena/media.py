"""Images in the labeling store: content-addressed, metadata-free PNGs; served anonymised; degraded for gold checks."""

from __future__ import annotations

import hashlib
import io
import random
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, ImageFilter, PngImagePlugin

from arena.banded_png import BandedPng


class SharedImages(Protocol):
    """Where replicas find each other's images: the database they share (see ``ArenaStore.save_images``)."""

    def save_images(self, entries: Sequence[tuple[str, bytes]]) -> None: ...

    def load_image(self, name: str) -> bytes | None: ...


class ImageStore:
    """PNGs named by the SHA-256 of their bytes (identical images are stored once), in a folder and, when the
    database is a server shared by several studio replicas, in the database too (the folder is then each replica's
    cache: an image another replica stored is fetched once and kept).

    Args:
        folder: where the files live.
        shared: the shared database, or None (SQLite: the database and this folder sit side by side).
        cache_images: decoded images kept in memory.
    """

    def __init__(self, folder: Path, shared: SharedImages | None = None, cache_images: int = 48,
                 cache_banded_bytes: int = 256 << 20) -> None:
        self.folder = folder
        self.shared = shared
        self.cache_images = cache_images
        self.cache_banded_bytes = cache_banded_bytes
        self._decoded: OrderedDict[tuple[str, tuple[int, int] | None], Image.Image] = OrderedDict()
        self._banded: OrderedDict[tuple[str, tuple[int, int]], BandedPng] = OrderedDict()
        self._banded_bytes = 0
        self._building: dict[tuple[str, tuple[int, int]], Future[BandedPng]] = {}  # bands being built, see banded
        self._sizes: dict[str, tuple[int, int]] = {}  # stored images never change (content-addressed)
        self._lock = threading.Lock()

    @staticmethod
    def encode(image: Image.Image) -> tuple[str, bytes]:
        """A metadata-free RGB PNG and its content name."""
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(image.convert("RGB"))).save(buffer, format="PNG")
        data = buffer.getvalue()
        return hashlib.sha256(data).hexdigest() + ".png", data

    def put(self, image: Image.Image) -> str:
        """Save as a metadata-free RGB PNG; returns the file name."""
        return self.put_many([image])[0]

    def put_many(self, images: Sequence[Image.Image]) -> list[str]:
        """Save several images (one database transaction for all of them); returns their names."""
        entries = [self.encode(image) for image in images]
        for name, data in entries:
            self._write(name, data)
        if self.shared is not None and entries:
            self.shared.save_images(list(dict(entries).items()))
        return [name for name, _ in entries]

    def path(self, name: str) -> Path:
        """The local file of a stored image (fetched from the shared database when this replica lacks it).

        Raises:
            FileNotFoundError: no such image anywhere.
        """
        path = self.folder / Path(name).name
        if not path.exists() and self.shared is not None:
            data = self.shared.load_image(Path(name).name)
            if data is not None:
                self._write(path.name, data)
        if not path.exists():
            raise FileNotFoundError(f"image {name} is not in the store")
        return path

    def open(self, name: str, size: tuple[int, int] | None = None, copy: bool = True) -> Image.Image:
        """The stored image as RGB, at ``size`` if given.

        Decoded (and resized) images are kept in a small LRU: a pool's images are served again and again, and
        decoding and resizing a large PNG cost more than the rest of serving it.

        Args:
            name: the stored image.
            size: ``(width, height)`` to resize to (Lanczos), or None for the stored size.
            copy: False returns the cached image itself, which the caller must not change.
        """
        key = (name, tuple(size) if size else None)
        with self._lock:
            image = self._decoded.get(key)
            if image is not None:
                self._decoded.move_to_end(key)
        if image is None:
            image = self._decode(name, size)
            with self._lock:
                self._decoded[key] = image
                while len(self._decoded) > self.cache_images:
                    self._decoded.popitem(last=False)
        return image.copy() if copy else image

    def _decode(self, name: str, size: tuple[int, int] | None) -> Image.Image:
        with Image.open(self.path(name)) as stored:
            image = stored.convert("RGB")
        return image if size is None or image.size == tuple(size) else image.resize(size, Image.Resampling.LANCZOS)

    def size_of(self, name: str) -> tuple[int, int]:
        """``(width, height)`` of a stored image, from its header (no decoding)."""
        with self._lock:
            size = self._sizes.get(name)
        if size is None:
            with Image.open(self.path(name)) as stored:
                size = stored.size
            with self._lock:
                self._sizes[name] = size
        return size

    def banded(self, name: str, size: tuple[int, int]) -> BandedPng:
        """The stored image at ``size`` as a :class:`BandedPng` (kept in an LRU of ``cache_banded_bytes``), from which
        :func:`served_copy` makes each serve's PNG without encoding the whole image again."""
        key = (name, tuple(size))
        with self._lock:
            banded = self._banded.get(key)
            if banded is not None:
                self._banded.move_to_end(key)
                return banded
            # One build per image: when many annotators are served the same new image at once (a session's start),
            # the others wait for the first one's bands instead of each decoding and compressing it again.
            building = self._building.get(key)
            first = building is None
            if first:
                building = self._building[key] = Future()
        if not first:
            return building.result()
        try:
            # decoded outside the decoded-image LRU: once the bands are kept, serving never needs the pixels again
            banded = BandedPng(np.asarray(self._decode(name, size)))
        except BaseException as error:  # every waiter hears it; the next request tries again
            with self._lock:
                del self._building[key]
            building.set_exception(error)
            raise
        with self._lock:
            del self._building[key]
            self._banded[key] = banded
            self._banded_bytes += banded.nbytes
            while self._banded_bytes > self.cache_banded_bytes and len(self._banded) > 1:
                _, old = self._banded.popitem(last=False)
                self._banded_bytes -= old.nbytes
        building.set_result(banded)
        return banded

    def _write(self, name: str, data: bytes) -> None:
        path = self.folder / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{secrets.token_hex(4)}.part")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a half-written image is never served


def _nonce(rows: np.ndarray, rng: np.random.Generator) -> None:
    """Flip the least significant bit of 16 random channel values of ``rows`` (``(n, W, 3)``) in place."""
    ys = rng.integers(0, rows.shape[0], 16)
    xs = rng.integers(0, rows.shape[1], 16)
    rows[ys, xs, rng.integers(0, 3, 16)] ^= 1


class ServedPng(PngImagePlugin.PngImageFile):
    """A served copy: a PNG image decoded only if its pixels are read, carrying its file's bytes.

    Args:
        data: the PNG file.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.png_bytes = data


def served_copy(banded: BandedPng) -> ServedPng:
    """A served copy of a stored image, made from its bands, with a fresh invisible nonce and no metadata.

    The nonce (the least significant bit of 16 random channel values flipped) makes the served bytes, and so any
    content hash in a URL, differ on every serve: an annotator cannot recognise a model's image from an earlier
    reveal. Only one band is inflated, nonced and compressed again (about a millisecond for 768 px, where decoding
    the stored file and encoding the served one took 35 ms). The copy is a lazily decoded PNG: its pixels are
    decoded only if something reads them; :meth:`ServedFiles.write` writes its bytes as they are.
    """
    rng = np.random.default_rng(secrets.randbits(64))
    band = int(rng.integers(0, len(banded.bands)))
    rows = np.array(banded.band_pixels(band))
    _nonce(rows, rng)
    return ServedPng(banded.png(band, rows))


class ServedFiles:
    """Served copies (:func:`served_copy`) as PNG files, for web servers that send files rather than encode images.

    Each copy brings its file's bytes along, so writing one encodes nothing. Files older than ``keep_seconds`` are
    deleted as new ones are written (the web server copies them first).

    Args:
        folder: where the files go.
        keep_seconds: how long a file is kept.
    """

    def __init__(self, folder: Path, keep_seconds: float = 600.0) -> None:
        self.folder = folder
        self.keep_seconds = keep_seconds
        self._written = 0
        self._lock = threading.Lock()

    def write(self, image: ServedPng | None) -> str | None:
        """The served copy as a new PNG file; returns its path (None for None)."""
        if image is None:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{secrets.token_hex(12)}.png"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(image.png_bytes)
        tmp.replace(path)  # a reader never sees half a file
        with self._lock:
            self._written += 1
            prune = self._written % 256 == 0
        if prune:
            self._prune()
        return str(path)

    def _prune(self) -> None:
        cutoff = time.time() - self.keep_seconds
        for old in self.folder.glob("*.png"):
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink()
            except FileNotFoundError:
                pass  # another thread pruned it


def degrade(image: Image.Image, rng: random.Random) -> Image.Image:
    """A clearly worse copy for gold checks: heavy blur, blocky JPEG and noise."""
    radius = max(image.size) / 50
    blurred = image.filter(ImageFilter.GaussianBlur(radius))
    buffer = io.BytesIO()
    blurred.save(buffer, format="JPEG", quality=8)
    noisy = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.int16)
    noise = np.random.default_rng(rng.getrandbits(32)).integers(-25, 26, noisy.shape)
    return Image.fromarray(np.clip(noisy + noise, 0, 255).astype(np.uint8))


def common_size(a: tuple[int, int], b: tuple[int, int], longest: int) -> tuple[int, int]:
    """One size for both sides (``(width, height)`` each): the smaller of the two, capped at ``longest`` on the long
    side."""
    width, height = min(a[0], b[0]), min(a[1], b[1])
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


