"""Throughput of the studio's hand report (``Detectors.hands`` + ``hand_report`` on each image, from the PIL image a
tab holds) vs calling mediapipe's ``Hands(static_image_mode=True)`` directly on the same images as RGB arrays (what
it takes), with the same settings, in the same process, alternating image by image after a warm-up.
Target: ratio studio/direct at least 0.9.

    python bench/detection.py [--photos /work/shared/photos] [--rounds 5] [--max-hands 4] [--min-confidence 0.3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.core.imaging import load_image  # noqa: E402
from backends.vision.detectors import Detectors  # noqa: E402
from backends.vision.hands import hand_report  # noqa: E402

DEFAULT_PHOTOS = (ROOT.parent / "shared" / "photos", ROOT / "tests" / "fixtures" / "photos")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=None, help="folder of JPEG/PNG photos (default: the shared "
                        "photos, else the test fixtures)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-hands", type=int, default=4)
    parser.add_argument("--min-confidence", type=float, default=0.3)
    args = parser.parse_args()
    folder = args.photos or next(p for p in DEFAULT_PHOTOS if p.is_dir())
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    images = [load_image(p) for p in paths]
    arrays = [np.asarray(im) for im in images]

    import mediapipe as mp

    direct = mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=args.max_hands,
                                      min_detection_confidence=args.min_confidence)
    detectors = Detectors()

    def studio_run(i: int) -> int:
        image = images[i]
        return hand_report(detectors.hands(image, args.max_hands, args.min_confidence), image.size)["count"]

    def direct_run(i: int) -> int:
        return len(direct.process(arrays[i]).multi_hand_landmarks or ())

    for i in range(len(images)):  # warm-up: builds both graphs, and checks that both see the same hands
        if studio_run(i) != direct_run(i):
            raise SystemExit(f"studio and direct disagree on {paths[i].name}")
    hands = sum(direct_run(i) for i in range(len(images)))

    studio_rates, direct_rates = [], []
    for _ in range(args.rounds):
        spent = {"studio": 0.0, "direct": 0.0}
        for i in range(len(images)):
            for name, runner in (("studio", studio_run), ("direct", direct_run)):
                started = time.perf_counter()
                runner(i)
                spent[name] += time.perf_counter() - started
        studio_rates.append(len(images) / spent["studio"])
        direct_rates.append(len(images) / spent["direct"])
    direct.close()
    detectors.close()

    studio, plain = statistics.median(studio_rates), statistics.median(direct_rates)
    print(f"{len(images)} photos from {folder} ({hands} hands), max_hands={args.max_hands}, "
          f"min_confidence={args.min_confidence}, {args.rounds} rounds (medians)")
    print(f"studio (Detectors.hands + hand_report): {studio:7.1f} images/s ({1000 / studio:.1f} ms/image)")
    print(f"direct (mp.solutions.hands.Hands)     : {plain:7.1f} images/s ({1000 / plain:.1f} ms/image)")
    print(f"ratio studio/direct: {studio / plain:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
