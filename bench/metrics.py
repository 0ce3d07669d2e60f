"""Metric overhead: PSNR + SSIM through ``backends.vision.metrics`` on a 1024x1024 RGB image, against calling
scikit-image's ``peak_signal_noise_ratio`` + ``structural_similarity`` directly on the same arrays, measured in the
same run (target ratio <= 1.1: the wrappers only add input validation). Also times MS-SSIM and ``compare``.

    python bench/metrics.py [--size 1024] [--repeats 7]
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
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from backends.vision import metrics


def seconds(work: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Time both paths alternately (so drift hits them alike) and print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    reference = transform.resize(data.astronaut(), (args.size, args.size), anti_aliasing=True).astype(np.float32)
    rng = np.random.default_rng(0)
    test = np.clip(reference + rng.normal(0, 0.05, reference.shape), 0, 1).astype(np.float32)

    def baseline() -> tuple[float, float]:
        return (peak_signal_noise_ratio(reference, test, data_range=1.0),
                structural_similarity(reference, test, channel_axis=-1, data_range=1.0))

    def studio() -> tuple[float, float]:
        return metrics.psnr(reference, test), metrics.ssim(reference, test)

    assert baseline() == studio(), "the wrappers must return scikit-image's numbers exactly"
    base_times, studio_times = [], []
    for _ in range(args.repeats):
        base_times.append(seconds(baseline))
        studio_times.append(seconds(studio))
    ms_times = [seconds(lambda: metrics.ms_ssim(reference, test)) for _ in range(max(3, args.repeats // 2))]
    compare_times = [seconds(lambda: metrics.compare(reference, test)) for _ in range(3)]

    base, ours = statistics.median(base_times), statistics.median(studio_times)
    print(f"{args.size}x{args.size} RGB float32, median of {args.repeats} (cpu, {time.strftime('%Y-%m-%d')})")
    print(f"  scikit-image psnr+ssim (baseline)   {base * 1e3:8.1f} ms")
    print(f"  backends.metrics psnr+ssim          {ours * 1e3:8.1f} ms   ratio {ours / base:.3f} (target <= 1.1)")
    print(f"  backends.metrics ms_ssim            {statistics.median(ms_times) * 1e3:8.1f} ms   "
          f"({statistics.median(ms_times) / base:.2f}x the baseline)")
    print(f"  backends.metrics compare (all)      {statistics.median(compare_times) * 1e3:8.1f} ms   "
          f"(lpips: {metrics.compare(reference[:64, :64], test[:64, :64])['lpips']})")


if __name__ == "__main__":
    main()
