"""Overhead of one text-to-image generation through the studio's backend (validation, recipe, step callback,
progress) vs calling the same loaded miniature diffusers pipeline directly with the same arguments.
Runs alternate, same process, same pipeline object. Target: ratio at most 1.05.

    python bench/t2i_overhead.py [--models t2i/kolors t2i/hunyuan-dit] [--rounds 7] [--steps 8] [--size 512]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends.core.run import RunControl
from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.registry import default_registry
from backends.tasks.t2i.types import T2IRequest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["t2i/kolors", "t2i/hunyuan-dit", "t2i/cogview4"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    settings = Settings(profile="tiny", device="cpu", data_dir=Path(tempfile.mkdtemp(prefix="bench-t2i-")),
                        offline=True)
    registry = default_registry()
    cache = ModelCache(registry, settings)
    for key in args.models:
        studio, direct = measure(cache, key, args.size, args.steps, args.rounds)
        print(f"{key:20} {args.size}px {args.steps} steps: studio {studio:.3f} s, direct {direct:.3f} s, "
              f"overhead ratio {studio / direct:.3f} (target <= 1.05)")


def measure(cache: ModelCache, key: str, size: int, steps: int, rounds: int) -> tuple[float, float]:
    """Median seconds of a studio generation and of the direct pipeline call, alternating."""
    import torch

    prompt = "一张中秋节海报，中间写着「花好月圆」"

    def studio_run() -> None:
        request = T2IRequest(prompt=prompt, seed=0, width=size, height=size, steps=steps)
        cache.run(key, request, RunControl(on_progress=lambda event: None))

    studio_run()  # builds the miniature, loads it and warms up
    with cache.use(key) as backend:
        pipe = backend.model
        kwargs = backend._call_arguments(T2IRequest(prompt=prompt, width=size, height=size), steps,
                                         cache.registry[key].generation.guidance)
        kwargs["output_type"] = "pil"  # what a direct diffusers user gets; the studio converts NaN-checked arrays

    def direct_run() -> None:
        with torch.inference_mode():
            pipe(**kwargs, generator=torch.Generator("cpu").manual_seed(0))

    direct_run()
    studio_times, direct_times = [], []
    for _ in range(rounds):
        for runner, times in ((studio_run, studio_times), (direct_run, direct_times)):
            started = time.perf_counter()
            runner()
            times.append(time.perf_counter() - started)
    return statistics.median(studio_times), statistics.median(direct_times)


if __name__ == "__main__":
    main()
