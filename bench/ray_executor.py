"""/t2i through the Ray Serve executor vs the local executor, on the same miniature (tiny profile, CPU).

Both run the text-to-image tab's handler logic (``tabs.text_to_image.compare``: validation, generation, PNG with
recipe) for one model at 512 px x 8 steps, alternating. The local side runs in a plain studio process without Ray
(a child of this one: Ray's background threads in the driver would hold the GIL against a Python-bound miniature
and flatter Ray); the Ray side runs on a local 2-CPU Ray whose replica computes with as many torch threads.
Reported: the median seconds of each and their ratio, and the time each executor adds to the model's own run (the
wall clock minus the recipe's ``run_seconds``) with the ratio it makes on the local run time: the steadier figure
on a shared CPU, where the two processes' compute speeds drift apart. Target <= 1.10: handles, pickling and
progress streaming cost little next to a generation.

    python bench/ray_executor.py [--models t2i/hunyuan-dit t2i/flux-schnell] [--rounds 7] [--steps 8] [--size 512]
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends.core.run import RunControl
from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from backends.models.executors.groups import GroupConfig
from backends.models.executors.ray_serve import RayExecutor, connect
from backends.models.registry import default_registry
from tabs.common import AppContext, make_i18n
from tabs.text_to_image import compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["t2i/hunyuan-dit", "t2i/flux-schnell"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    import torch
    from ray import serve

    settings = Settings(profile="tiny", device="cpu", data_dir=Path(tempfile.mkdtemp(prefix="bench-ray-")),
                        offline=True, executor="ray", ray_gpu_gb=0, ray_app="bench")
    registry = default_registry()
    baseline = LocalStudio(settings, torch.get_num_threads())  # started before Ray: a plain studio process
    connect(settings, num_cpus=2, log_to_driver=False, object_store_memory=256 * 1024**2)
    config = GroupConfig(models=tuple(args.models), defaults={
        "min_replicas": 1, "num_cpus": 1, "env": {"OMP_NUM_THREADS": str(torch.get_num_threads())}})
    local = LocalExecutor(ModelCache(registry, settings))  # OCR and the like (unused here)
    ctx = AppContext(settings, registry, RayExecutor(registry, settings, local, config, auto_deploy=True),
                     make_i18n())
    try:
        for key in args.models:
            t2i(ctx, key, args), baseline.t2i(key, args)  # build the miniature, load it on both sides, warm up
            runs: dict[str, list[tuple[float, float]]] = {"ray": [], "local": []}
            for _ in range(args.rounds):
                runs["ray"].append(t2i(ctx, key, args))
                runs["local"].append(baseline.t2i(key, args))
            report(key, args, runs)
    finally:
        baseline.close()
        serve.shutdown()


def report(key: str, args: argparse.Namespace, runs: dict[str, list[tuple[float, float]]]) -> None:
    """End to end (wall clock of /t2i), and the part each executor adds to the model's own run (wall minus the
    recipe's ``run_seconds``), which the shared CPU's noise touches far less."""
    wall = {name: statistics.median(w for w, _ in values) for name, values in runs.items()}
    added = {name: statistics.median(w - r for w, r in values) for name, values in runs.items()}
    model = statistics.median(r for _, r in runs["local"])
    print(f"{key:20} {args.size}px {args.steps} steps, median of {args.rounds}: /t2i ray {wall['ray']:.3f} s, "
          f"local {wall['local']:.3f} s, ratio {wall['ray'] / wall['local']:.3f}; added to the model's "
          f"{model:.3f} s: ray {added['ray'] * 1000:.0f} ms, local {added['local'] * 1000:.0f} ms, ratio "
          f"{(model + added['ray']) / (model + added['local']):.3f} (target <= 1.10)")


def t2i(ctx: AppContext, key: str, args: argparse.Namespace) -> tuple[float, float]:
    """Seconds of one /t2i comparison of ``key`` through ``ctx``'s executor, and the model's own run seconds."""
    started = time.perf_counter()
    result = compare(ctx, prompt="一张中秋节海报 with a full moon", negative_prompt="", models=[key], seed=0,
                     width=args.size, height=args.size, steps=args.steps, guidance=None,
                     control=RunControl(on_progress=lambda event: None))
    return time.perf_counter() - started, result.records[0]["recipe"]["run_seconds"]


class LocalStudio:
    """A child process running /t2i through the local executor, on request."""

    def __init__(self, settings: Settings, threads: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_serve_local, args=(child, settings, threads), daemon=True)
        self.process.start()

    def t2i(self, key: str, args: argparse.Namespace) -> tuple[float, float]:
        self.pipe.send((key, args))
        return self.pipe.recv()

    def close(self) -> None:
        self.pipe.send(None)
        self.process.join(timeout=30)


def _serve_local(pipe, settings: Settings, threads: int) -> None:
    import os

    os.environ["OMP_NUM_THREADS"] = str(threads)  # as the replica gets it from Ray: before torch starts OpenMP
    import torch

    torch.set_num_threads(threads)
    registry = default_registry()
    ctx = AppContext(dataclasses.replace(settings, executor="local"), registry,
                     LocalExecutor(ModelCache(registry, settings)), make_i18n())
    while (job := pipe.recv()) is not None:
        pipe.send(t2i(ctx, *job))


if __name__ == "__main__":
    main()
