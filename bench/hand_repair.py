"""Overhead of MGHanD's guided loop with guidance off vs plain inpainting through the diffusers pipeline, on the
same miniature, crop, mask, seed, steps and strength, alternating in one process. Target: ratio at most 1.05.

    python bench/hand_repair.py [--size 512] [--steps 20] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image

from backends.core.run import RunControl
from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.registry import default_registry
from backends.tasks.hand_repair.mghand import guided_inpaint
from backends.tasks.hand_repair.types import HandRepairRequest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    import torch

    settings = Settings(profile="tiny", device="cpu", data_dir=Path(tempfile.mkdtemp(prefix="bench-hand-")),
                        offline=True)
    cache = ModelCache(default_registry(), settings)
    rng = np.random.default_rng(0)
    crop = Image.fromarray(rng.integers(0, 255, (args.size, args.size, 3), dtype=np.uint8))
    tight = np.zeros((args.size, args.size), bool)
    tight[args.size // 3: 2 * args.size // 3, args.size // 3: 2 * args.size // 3] = True
    loose = np.zeros_like(tight)
    loose[args.size // 4: 3 * args.size // 4, args.size // 4: 3 * args.size // 4] = True
    request = HandRepairRequest(crop, method="mghand", text_guidance=0.0, strength=0.75, seed=0, steps=args.steps)

    with cache.use("inpaint/sd15") as backend:
        pipe = backend.model

        def guided() -> None:
            with torch.inference_mode():
                guided_inpaint(pipe, "cpu", crop, tight, loose, request, 0, args.steps, 7.5, None, None, RunControl(),
                               "sd15")

        def plain() -> None:
            with torch.inference_mode():
                pipe(prompt=request.prompt, negative_prompt=request.negative_prompt, image=crop,
                     mask_image=Image.fromarray(loose.astype(np.uint8) * 255), height=args.size, width=args.size,
                     strength=0.75, num_inference_steps=args.steps, guidance_scale=7.5,
                     generator=torch.Generator("cpu").manual_seed(0))

        guided(), plain()  # warm-up
        times = {"guided": [], "plain": []}
        for _ in range(args.rounds):
            for name, run in (("guided", guided), ("plain", plain)):
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
    ours, base = statistics.median(times["guided"]), statistics.median(times["plain"])
    print(f"sd_inpaint miniature, {args.size}px crop, {args.steps} steps, strength 0.75, median of {args.rounds}")
    print(f"mghand loop, guidance off: {ours:.3f} s; diffusers StableDiffusionInpaintPipeline: {base:.3f} s")
    print(f"overhead ratio mghand/plain = {ours / base:.3f} (target <= 1.05)")

    # With the text guidance on, for reference (two more UNet evaluations per step, by design).
    request.text_guidance = 1.5
    with cache.use("inpaint/sd15") as backend, torch.inference_mode():
        started = time.perf_counter()
        guided_inpaint(backend.model, "cpu", crop, tight, loose, request, 0, args.steps, 7.5, None, None, RunControl(),
                       "sd15")
    print(f"mghand with text guidance on: {time.perf_counter() - started:.3f} s (reference)")


if __name__ == "__main__":
    main()
