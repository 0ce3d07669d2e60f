"""Tokenizer speed at 512x512: fit time, and encode+decode throughput (images/s) of the PCA and VQ tokenizers and
the DCT baseline.

Baseline, measured in the same run: a reshape-only round trip (reflect-pad, patchify into (P, 8*8*3) rows,
unpatchify, crop), i.e. the data movement every patch tokenizer pays with no arithmetic; "x baseline" is a codec's
encode+decode time over that. The ratio against the DCT codec's encode+decode is printed too.

    python bench/codecs.py [--size 512] [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from skimage import data, transform

from backends.tasks.tokenize import codecs
from backends.tasks.tokenize.dct import DCTCodec
from backends.vision.metrics import psnr


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of ``repeats`` calls, after one warm-up call."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reshape_round_trip(image: np.ndarray, patch: int = 8) -> np.ndarray:
    """The baseline: pad, patchify, unpatchify and crop with plain numpy reshapes (no arithmetic)."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, -h % patch), (0, -w % patch), (0, 0)), mode="reflect")
    gh, gw = padded.shape[0] // patch, padded.shape[1] // patch
    rows = padded.reshape(gh, patch, gw, patch, 3).transpose(0, 2, 1, 3, 4).reshape(gh * gw, -1).copy()
    back = rows.reshape(gh, gw, patch, patch, 3).transpose(0, 2, 1, 3, 4).reshape(gh * patch, gw * patch, 3)
    return np.ascontiguousarray(back[:h, :w])


def main(argv: list[str] | None = None) -> None:
    """Fit each tokenizer once, time encode+decode, print throughput and ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    image = data.astronaut().astype(np.float32) / 255
    if image.shape[0] != args.size:
        image = transform.resize(image, (args.size, args.size), anti_aliasing=True).astype(np.float32)

    start = time.perf_counter()
    pca = codecs.PCAPatchTokenizer().fit(image)
    pca_fit = time.perf_counter() - start
    start = time.perf_counter()
    vq = codecs.VQPatchTokenizer(codebook_size=256, seed=0).fit(image)
    vq_fit = time.perf_counter() - start
    dct = DCTCodec()
    pca_tokens, vq_tokens = pca.encode(image), vq.encode(image)

    baseline = median_seconds(lambda: reshape_round_trip(image), args.repeats)
    rows = [
        ("PCA, all 192 tokens", pca_fit, lambda: pca.decode(pca.encode(image)), pca.decode(pca_tokens), pca_tokens),
        ("PCA, 16-token prefix", pca_fit, lambda: pca.decode_prefix(pca.encode(image), 16),
         pca.decode_prefix(pca_tokens, 16), pca.truncate(pca_tokens, 16)),
        ("VQ, 256 codes", vq_fit, lambda: vq.decode(vq.encode(image)), vq.decode(vq_tokens), vq_tokens),
        ("VQ + perturb(0.5, 16)", vq_fit, lambda: vq.decode(vq.perturb(vq.encode(image), 0.5, 16, 0)),
         vq.decode(vq.perturb(vq_tokens, 0.5, 16, 0)), vq_tokens),
        ("DCT, keep 10 @ 8 bits", 0.0, lambda: dct.decode(dct.encode(image, 10)), dct.decode(dct.encode(image, 10)),
         dct.encode(image, 10)),
    ]
    timings = {name: median_seconds(work, args.repeats) for name, _, work, _, _ in rows}
    dct_time = timings["DCT, keep 10 @ 8 bits"]
    at_bits = median_seconds(lambda: dct.at_bits(image, vq_tokens.bits), max(3, args.repeats // 3))

    print(f"{args.size}x{args.size} RGB, 8px patches, median of {args.repeats} (cpu)")
    print(f"baseline reshape-only round trip: {baseline * 1e3:.2f} ms ({1 / baseline:.0f} images/s)")
    print(f"{'codec':24} {'fit s':>7} {'enc+dec ms':>11} {'images/s':>9} {'x baseline':>11} {'x DCT':>7} "
          f"{'bpp':>7} {'PSNR dB':>8}")
    for name, fit, _, reconstruction, tokens in rows:
        seconds = timings[name]
        print(f"{name:24} {fit:7.3f} {seconds * 1e3:11.2f} {1 / seconds:9.1f} {seconds / baseline:11.1f} "
              f"{seconds / dct_time:7.2f} {tokens.bits_per_pixel():7.3f} {psnr(image, reconstruction):8.2f}")
    matched, reconstruction = dct.at_bits(image, vq_tokens.bits)
    print(f"DCT at_bits(VQ's {vq_tokens.bits} bits): {at_bits * 1e3:.1f} ms, {matched.bits} bits, "
          f"{matched.params['coefficient_bits']}-bit coefficients, PSNR {psnr(image, reconstruction):.2f} dB")


if __name__ == "__main__":
    main()
