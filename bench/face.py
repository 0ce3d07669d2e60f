"""Two overheads of the face tab, each against its baseline measured in the same run, alternating:

1. face analysis per image through the studio (the ``face/mediapipe`` engine via the executor: validation, two
   MediaPipe calls, landmarks to numpy, geometry, report and crop) vs the raw MediaPipe ``process`` calls it makes,
   replayed on the same solution objects with the same pixels. Target: ratio at most 1.1. The same with the overlay
   drawn is printed for reference.
2. a VLM answer through the studio (``face/smolvlm-256m`` via the executor) vs the same miniature's processor +
   ``generate`` called directly. Target: ratio at most 1.05.

    python bench/face.py [--rounds 7] [--tokens 24]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image

from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from backends.models.registry import default_registry
from backends.tasks.face.types import ANALYZER, FaceAnalyzeRequest, VQARequest

ROOT = Path(__file__).resolve().parent.parent
VLM = "face/smolvlm-256m"


def photos() -> list[Image.Image]:
    from skimage import data

    names = ("call_0413d5c5", "call_044768ad", "four_06aa70cc", "four_105f8f8e", "none_00c84257", "none_0a0ef3d2")
    files = [ROOT / "tests" / "fixtures" / "photos" / f"hagrid_{name}.jpg" for name in names]
    return [Image.open(p).convert("RGB") for p in files] + [Image.fromarray(data.astronaut())]


def alternate(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Best (minimum) seconds of each callable, run in turn ``rounds`` times after one warm-up each. The minimum,
    not the median: on a CPU shared with other jobs it is the time least disturbed by them (as timeit advises)."""
    for run in runs.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: min(values) for name, values in times.items()}


def recorded_calls(executor: LocalExecutor, image: Image.Image) -> list[tuple[Callable, np.ndarray]]:
    """The MediaPipe ``process`` calls one analysis makes, as (bound method, pixels) to replay."""
    calls: list[tuple[Callable, np.ndarray]] = []
    with executor.cache.use(ANALYZER) as backend:
        for slot in backend.detectors._slots.values():
            solution = slot.solution
            original = type(solution).process

            def recording(pixels: np.ndarray, _solution=solution, _original=original) -> object:
                calls.append((lambda p, s=_solution, o=_original: o(s, p), pixels))
                return _original(_solution, pixels)

            solution.process = recording
        executor.run(ANALYZER, FaceAnalyzeRequest(image))
        for slot in backend.detectors._slots.values():
            del slot.solution.process  # back to the class's method
    return calls


def bench_analysis(executor: LocalExecutor, rounds: int) -> float:
    images = photos()
    for image in images:  # builds every solution variant the images need
        executor.run(ANALYZER, FaceAnalyzeRequest(image))
    replay = [recorded_calls(executor, image) for image in images]
    totals = {"analysis": 0.0, "with overlay": 0.0, "raw": 0.0}
    for image, calls in zip(images, replay, strict=True):
        best = alternate({
            "analysis": lambda image=image: executor.run(ANALYZER, FaceAnalyzeRequest(image, overlay=False)),
            "with overlay": lambda image=image: executor.run(ANALYZER, FaceAnalyzeRequest(image)),
            "raw": lambda calls=calls: [process(pixels) for process, pixels in calls],
        }, rounds)
        for name in totals:
            totals[name] += best[name]
    n, calls = len(images), sum(len(c) for c in replay)
    print(f"face analysis, {n} photos (6 HaGRID fixtures + astronaut), {calls} MediaPipe calls, best of {rounds}")
    print(f"studio ({ANALYZER}: measurements, report, crop): {totals['analysis'] / n * 1000:.1f} ms per image; "
          f"raw MediaPipe calls: {totals['raw'] / n * 1000:.1f} ms per image")
    ratio = totals["analysis"] / totals["raw"]
    print(f"overhead ratio analysis/raw = {ratio:.3f} (target <= 1.1)")
    print(f"with the overlay drawn too (what /face_analyze returns): {totals['with overlay'] / n * 1000:.1f} ms per "
          f"image, ratio {totals['with overlay'] / totals['raw']:.3f} (reference)")
    return ratio


def bench_vlm(executor: LocalExecutor, rounds: int, tokens: int) -> float:
    import torch

    torch.set_num_threads(1)  # one thread for both sides: steadier on a CPU shared with other jobs
    crop = photos()[-1].crop((170, 20, 350, 200))
    question = "Is the person smiling?"
    executor.run(VLM, VQARequest(crop, [question], max_new_tokens=tokens))  # loads (and builds) the miniature
    with executor.cache.use(VLM) as backend:
        model, processor = backend.model, backend.processor

        def direct() -> str:
            messages = [{"role": "user", "content": [{"type": "image", "image": crop},
                                                     {"type": "text", "text": question}]}]
            inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                   return_dict=True, return_tensors="pt")
            with torch.inference_mode():
                out = model.generate(**inputs, max_new_tokens=tokens, do_sample=False)
            return processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)[0]

        medians = alternate({
            "studio": lambda: executor.run(VLM, VQARequest(crop, [question], max_new_tokens=tokens)),
            "direct": direct,
        }, rounds)
    print(f"VLM answer, {VLM} miniature, {crop.width}px crop, {tokens} new tokens, best of {rounds}")
    print(f"studio (executor -> FaceVLM): {medians['studio'] * 1000:.1f} ms; processor + generate directly: "
          f"{medians['direct'] * 1000:.1f} ms")
    ratio = medians["studio"] / medians["direct"]
    print(f"overhead ratio studio/direct = {ratio:.3f} (target <= 1.05)")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=24)
    args = parser.parse_args()
    settings = Settings(profile="tiny", device="cpu", data_dir=Path(tempfile.mkdtemp(prefix="bench-face-")),
                        offline=True)
    executor = LocalExecutor(ModelCache(default_registry(), settings))
    bench_analysis(executor, args.rounds)
    bench_vlm(executor, args.rounds, args.tokens)


if __name__ == "__main__":
    main()
