"""The research tokenizer adapters' overhead: encode + decode of each adapter's miniature through the studio (the
loaded backend's ``encode`` / ``decode``: numpy in and out, validation, codebook lookups on the device) against the
same module functions called directly, measured in the same run: both back to back in each of ``--repeats`` rounds
(alternating which goes first); the ratio is the median of the rounds' ratios, the times the best of the rounds.
The target is a ratio of at most 1.05.

A second column times a whole ``/tokenize`` request (``ModelCache.run``: preparation, PSNR / SSIM / MS-SSIM, error
and token maps, the recipe) against the same direct calls, for information: on random-weight miniatures that cost
is mostly the metrics, which a real model's compute dwarfs.

    python bench/tokenizers_research.py [--repeats 9] [--steps 4] [--threads 1]

Both paths run with the same torch thread count (default 1: on a shared 2-core machine, fewer threads means less
disturbance from other processes for both).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from skimage import data

from backends.core.settings import Settings
from backends.models import device
from backends.models.cache import ModelCache
from backends.models.registry import default_registry
from backends.tasks.tokenize.research import common, dit, llamagen, robusttok, semanticist, titok
from backends.tasks.tokenize.types import TokenizeRequest

KEYS = ("tok/llamagen-vq", "tok/robusttok", "tok/titok", "tok/titok-bl128-vae", "tok/va-vae", "tok/semanticist")


def direct_call(key: str, backend: Any, image: np.ndarray, steps: int) -> Callable[[], object]:
    """The module functions alone, as a script calling them would: the image to a tensor in the model's range, the
    module functions, the pixels back to an array."""
    import torch

    model, config = backend.model, backend.config
    low = 0.0 if key.startswith(("tok/titok", "tok/semanticist")) else -1.0

    def pixels() -> torch.Tensor:
        return torch.from_numpy(image).permute(2, 0, 1)[None] * (1 - low) + low

    def to_array(out: torch.Tensor) -> np.ndarray:
        return ((out[0] - low) / (1 - low)).clamp(0, 1).permute(1, 2, 0).numpy()

    def vq(encode: Callable, decode: Callable, l2: bool) -> Callable[[], object]:
        def run() -> object:
            with torch.inference_mode():
                z = encode(pixels())
                rows = z[0].flatten(1).transpose(0, 1)  # (N, D)
                codes = common.nearest_codes(rows, model.quantize.embedding, l2)
                vectors = common.codebook_vectors(model.quantize.embedding, l2)[codes].transpose(0, 1)
                return to_array(decode(vectors.reshape(z.shape)))
        return run

    if key == "tok/llamagen-vq":
        return vq(lambda t: llamagen.encode_latents(model, t), lambda q: llamagen.decode_latents(model, q), True)
    if key == "tok/robusttok":
        return vq(lambda t: robusttok.encode_latents(model, t),
                  lambda q: robusttok.decode_latents(model, q, config.patch), True)
    if key == "tok/titok":
        return vq(lambda t: titok.encode_latents(model, t, config), lambda q: titok.decode_latents(model, q, config),
                  True)
    if key == "tok/titok-bl128-vae":
        def vae() -> object:
            with torch.inference_mode():
                z = titok.encode_latents(model, pixels(), config)
                return to_array(titok.decode_latents(model, z[:, : config.token_size], config))
        return vae
    if key == "tok/va-vae":
        def kl() -> object:
            with torch.inference_mode():
                return to_array(model.decode(model.encode(pixels()).latent_dist.mode()).sample)
        return kl

    def diffusion() -> object:
        with torch.inference_mode():
            tokens = semanticist.encode_tokens(model, pixels(), config)
            keep = torch.ones(1, tokens.shape[1], dtype=torch.bool)
            latents = dit.sample(model.dit, config.dit, tokens, keep, steps, 3.0, 0, backend.control, "bench",
                                 torch.float32)
            return to_array(dit.decode_with_vae(backend.vae.model, latents))
    return diffusion


def paired(first: Callable[[], object], second: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """Best-of-``repeats`` seconds of two workloads and the median of their per-round ratios (second / first).

    Each round runs both back to back, alternating which goes first, so slow load drift on a shared machine hits
    both alike and the ratio of a round is taken under the same conditions.
    """
    first(), second()
    a, b = [], []
    for i in range(repeats):
        order = ((first, a), (second, b)) if i % 2 == 0 else ((second, b), (first, a))
        for work, times in order:
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
    return min(a), min(b), statistics.median(y / x for x, y in zip(a, b, strict=True))


def main(argv: list[str] | None = None) -> None:
    """Time every adapter's miniature both ways and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=4, help="Semanticist's sampling steps")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both paths")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    image = np.asarray(data.astronaut()[::2, ::2], dtype=np.float32) / 255  # 256x256
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(profile="tiny", device="cpu", data_dir=Path(folder), offline=True)
        cache = ModelCache(default_registry(), settings)
        print(f"{'tokenizer':22} {'direct ms':>10} {'studio ms':>10} {'ratio':>7} {'request ms':>11} {'ratio':>7}")
        for key in KEYS:
            request = TokenizeRequest(image, curves=False, steps=args.steps, guidance=3.0)
            with cache.use(key) as backend, device.flushed_denormals():
                prepared = backend.prepare(image, None)
                direct = direct_call(key, backend, prepared, args.steps)
                studio = lambda b=backend, p=prepared, r=request: b.decode(b.encode(p, r))  # noqa: E731
                direct_s, studio_s, ratio = paired(direct, studio, args.repeats)
            whole = lambda k=key, r=request: cache.run(k, r)  # noqa: E731
            with device.flushed_denormals():
                _, whole_s, whole_ratio = paired(direct, whole, max(3, args.repeats // 2))
            print(f"{key:22} {direct_s * 1e3:10.1f} {studio_s * 1e3:10.1f} {ratio:7.3f} "
                  f"{whole_s * 1e3:11.1f} {whole_ratio:7.3f}")


if __name__ == "__main__":
    main()
