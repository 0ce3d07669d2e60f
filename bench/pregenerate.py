"""Pool pre-generation on the tiny profile: the cost of writing a resumable pool, and Ray against one process.

1. Overhead: the wall time of ``arena.pregenerate``'s local runner (PNG encode, fsync of image and folder, a manifest
   line with fsync per image) against the time spent inside its executor (loading, generating, freeing a model),
   measured in the same run, image by image, so a busy machine slows both alike; best of ``--rounds``. Reported:
   the miniatures take about 0.1 s an image, real models seconds to minutes, so the ratio is the worst case.
2. Ray against one process: the same jobs on a local Ray (``ray.init(num_cpus=2)`` before the clock; one actor pool
   per model, each actor on 1 CPU, loading its model in its own process): the time to the first image, then
   images/s. Reported: on a 2-core machine the two actor pools share the cores the local run has alone.

    python bench/pregenerate.py [--prompts 4] [--seeds 3] [--size 256] [--steps 2] [--rounds 2] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from arena.pregen_jobs import Job, Params, PoolWriter, local_executor, plan
from arena.pregenerate import run_local
from backends.core.settings import Settings

MODELS = ("t2i/flux-schnell", "t2i/qwen-image")  # two miniatures that take 256 px
PROMPTS = ("a red fox in the snow", "一只红色的猫", "a lighthouse at dusk", "a shop sign that says \"OPEN\"",
           "雨中的城市夜景", "a bowl of ramen, top view")


class TimedExecutor:
    """The executor, with the seconds spent inside it (loading, generating, freeing) added up."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.seconds = 0.0

    def _timed(self, call: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.seconds += time.perf_counter() - started

    def run(self, key: str, request: Any) -> Any:
        return self._timed(self.executor.run, key, request)

    def free(self, keys: list[str]) -> list[str]:
        return self._timed(self.executor.free, keys)


class Clock:
    """A progress callback that notes when each image is saved (the lines starting ``[<n>/``)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.saved: list[float] = []

    def __call__(self, line: str) -> None:
        if line[:2] != "[-":
            self.saved.append(time.perf_counter())

    def first(self) -> float:
        """Seconds from the start to the first image (starting actors, loading)."""
        return self.saved[0] - self.started

    def rate(self) -> float:
        """Images per second after the first one."""
        return (len(self.saved) - 1) / (self.saved[-1] - self.saved[0])


def pooled(settings: Settings, jobs: list[Job], params: Params, root: Path) -> tuple[float, float, Clock]:
    """Seconds of the local runner writing a fresh pool (a cold executor: each model loads once), the seconds of
    that spent inside the executor (loading, generating, freeing each model after its jobs), and its clock."""
    executor = TimedExecutor(local_executor(settings))
    clock = Clock()
    with PoolWriter(root) as pool:
        run_local(pool, jobs, params, executor, clock)
    return time.perf_counter() - clock.started, executor.seconds, clock


def on_ray(settings: Settings, jobs: list[Job], params: Params, root: Path) -> tuple[float, Clock]:
    """Seconds of the Ray runner writing a fresh pool on a local 2-CPU Ray started beforehand, and its clock."""
    import ray

    from arena.pregen_ray import run_ray

    args = argparse.Namespace(ray="local", ship_code=False, actors=1, num_cpus=1.0, num_gpus=None)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=256 * 1024**2,
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}})
    try:
        clock = Clock()
        with PoolWriter(root) as pool:
            run_ray(pool, jobs, params, settings, args, clock)
        return time.perf_counter() - clock.started, clock
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray measurement")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-pregenerate-"))
    settings = Settings(profile="tiny", device="cpu", data_dir=scratch / "data", offline=True)
    params = Params(width=args.size, height=args.size, steps=args.steps, profile="tiny")
    prompts = scratch / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"item_id": f"p{i}", "prompt": text}, ensure_ascii=False) + "\n"
                               for i, text in enumerate(PROMPTS[:args.prompts])), "utf-8")
    _, jobs = plan(prompts, MODELS, tuple(range(args.seeds)), params)
    pooled(settings, jobs[:1] + jobs[-1:], params, scratch / "warm-up")  # builds both miniatures off the clock
    wall, inside, clock = min((pooled(settings, jobs, params, scratch / f"pool-{r}") for r in range(args.rounds)),
                              key=lambda run: run[0])
    n = len(jobs)
    print(f"{n} images ({args.prompts} prompts x {args.seeds} seeds x {len(MODELS)} models), {args.size} px, "
          f"{args.steps} steps, tiny profile")
    print(f"local runner, best of {args.rounds}: {wall:.2f} s, of which inside the executor {inside:.2f} s; "
          f"overhead ratio {wall / inside:.3f} ({(wall - inside) / n * 1000:.1f} ms per image: PNG encode, fsyncs, "
          "manifest)")
    if not args.no_ray:
        seconds, ray_clock = on_ray(settings, jobs, params, scratch / "pool-ray")
        print(f"first image after: local {clock.first():.2f} s, Ray {ray_clock.first():.2f} s (actors start and "
              f"load their model); then local {clock.rate():.2f} images/s, Ray (2 actor pools x 1 CPU) "
              f"{ray_clock.rate():.2f} images/s: ratio Ray/local {ray_clock.rate() / clock.rate():.2f}; whole run "
              f"local {wall:.2f} s, Ray {seconds:.2f} s")


if __name__ == "__main__":
    main()
