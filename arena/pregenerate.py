"""Pre-generate a labeling pool in bulk: every prompt x seed on every model, resumable.

    python -m arena.pregenerate prompts.jsonl --models t2i/kolors t2i/cogview4 --seeds 0-3 --out POOL
    python -m arena.pregenerate prompts.jsonl --models ... --seeds 1,2,3 --out POOL --ray ray://head:10001
    python -m arena.pregenerate prompts.jsonl --models ... --seeds 0-9 --out POOL --profile tiny   # miniatures

Locally the models run in this process through the studio's executor and model cache, one model after the other
(each loads once); with ``--ray`` they run on a Ray cluster (``arena/pregen_ray.py``). The pool layout, the job ids
and the manifest that make a rerun resume are in ``arena/pregen_jobs.py``. The settings come from the options
(only ``app.py`` reads ``STUDIO_*`` variables).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arena.pregen_jobs import (
    Job,
    Params,
    PoolWriter,
    Report,
    describe,
    local_executor,
    model_folder,
    parse_seeds,
    plan,
    render,
    request_for,
)
from backends.core.errors import InvalidInput, ModelUnavailable, StudioError
from backends.core.settings import DTYPES, OFFLOADS, PROFILES, Settings
from backends.core.validation import check_number

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
# Settings' own checks name the studio's variables; here the options stand in for them.
OPTION_OF_VARIABLE = (("STUDIO_DEVICE", "--device"), ("STUDIO_CACHE_BUDGET_GB", "--cache-budget-gb"),
                      ("STUDIO_RAY_GPU_GB", "--ray-gpu-gb"))


# --------------------------------------------------------------------------------------------------------------------
# Checking, and running in this process
# --------------------------------------------------------------------------------------------------------------------
def check_models(executor: Any, models: Sequence[str], params: Params, prompt: str, available: bool = True) -> None:
    """Validate the models and the parameters before anything runs.

    ``available``: also ask whether each model can run in this process (not for Ray: its workers hold the weights).

    Raises:
        InvalidInput: an unknown key (the text-to-image keys are listed), a model of another task, a model listed
            twice, or parameters a model refuses (its size rule, steps...).
        ModelUnavailable: a model cannot run here (its reason).
    """
    t2i = [spec.key for spec in executor.registry.by_task("t2i")]
    if not models:
        raise InvalidInput("--models", "name at least one text-to-image model")
    if len(set(models)) != len(models):
        raise InvalidInput("--models", f"{list(models)} lists a model twice")
    for key in models:
        if key not in t2i:
            raise InvalidInput("--models", f"{key!r} is not a text-to-image model; choose from {', '.join(t2i)}")
        executor.check(key, request_for(Job("", key, "", prompt, params.negative_prompt, 0), params))
        ok, why = executor.availability(key) if available else (True, "")
        if not ok:
            raise ModelUnavailable(f"{key} is not available here: {why}")


def run_local(pool: PoolWriter, jobs: Sequence[Job], params: Params, executor: Any, report: Report) -> int:
    """Make ``jobs`` in this process, model by model (each loads once and is freed after its jobs).

    A job whose model fails (a studio error) is reported and left missing; a model that cannot load skips its
    remaining jobs. Returns the number of images saved.
    """
    for model in dict.fromkeys(job.model for job in jobs):
        own = [job for job in jobs if job.model == model]
        for number, job in enumerate(own):
            started = time.perf_counter()
            try:
                png, recipe = render(executor, job, params)
            except ModelUnavailable as exc:  # the model cannot load: none of its jobs can run
                for skipped in own[number:]:
                    pool.fail(skipped, describe(exc))
                report(f"[-] {model} cannot run, {len(own) - number} image(s) skipped: {describe(exc)}")
                break
            except StudioError as exc:
                pool.fail(job, describe(exc))
                report(f"[-] {job.model} {job.item_id} failed: {describe(exc)}")
                continue
            pool.save(job, png, recipe)
            report(f"[{pool.saved}/{len(jobs)}] {job.model} {job.item_id} ({time.perf_counter() - started:.2f} s)")
        executor.free([model])
    return pool.saved


# --------------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The command-line arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m arena.pregenerate",
        description="Generate a labeling pool: every prompt x seed on every model, in the layout the pool import "
                    "reads; resumable (a rerun makes only what is missing). --profile tiny: random-weight "
                    "miniatures, no GPU, no downloads.")
    parser.add_argument("prompts", type=Path, help="JSONL, one {\"item_id\", \"prompt\"} object per line (optional "
                                                   "\"language\", \"negative_prompt\")")
    parser.add_argument("--models", nargs="+", required=True,
                        help="text-to-image registry keys (space- or comma-separated), e.g. t2i/kolors t2i/cogview4")
    parser.add_argument("--seeds", required=True, help="seeds: a range 0-9, a list 1,2,3, or both: 0-3,10")
    parser.add_argument("--out", type=Path, required=True, help="the pool folder (created; resumed if it exists)")
    parser.add_argument("--width", type=int, default=1024, help="width in pixels (default 1024)")
    parser.add_argument("--height", type=int, default=1024, help="height in pixels (default 1024)")
    parser.add_argument("--steps", type=int, help="denoising steps (default: each model card's)")
    parser.add_argument("--guidance", type=float, help="guidance strength (default: each model card's)")
    parser.add_argument("--negative-prompt", default="", help="negative prompt for lines that have none")
    studio = parser.add_argument_group("studio settings (app.py reads them from STUDIO_* variables; this command "
                                       "from these options)")
    studio.add_argument("--profile", choices=PROFILES, default="real",
                        help="real: the Hugging Face models; tiny: random-weight miniatures, no downloads")
    studio.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    studio.add_argument("--dtype", choices=DTYPES, default="auto", help="auto: per model (bf16/fp16 on GPU)")
    studio.add_argument("--data-dir", type=Path, default=Path("data"), help="where miniatures are built (./data)")
    studio.add_argument("--offload", choices=OFFLOADS, default="none", help="diffusers CPU offload on small GPUs")
    studio.add_argument("--cache-budget-gb", type=float, default=0.0, help="memory for loaded models (0: automatic)")
    studio.add_argument("--offline", action="store_true", help="never contact the Hugging Face hub")
    ray = parser.add_argument_group("Ray (pip install -r requirements-ray.txt 'ray[data]==2.60.0')")
    ray.add_argument("--ray", metavar="ADDRESS", help="run on a Ray cluster with Ray Data, one actor pool per model: "
                                                     "an address (ray://head:10001, auto) or 'local' for a local Ray "
                                                     "with 2 CPUs")
    ray.add_argument("--actors", type=int, default=1, help="actors per model (default 1)")
    ray.add_argument("--num-cpus", type=float, default=1.0, help="CPUs per actor (default 1)")
    ray.add_argument("--num-gpus", type=float, help="GPUs per actor (default: the model's VRAM over --ray-gpu-gb "
                                                    "on a cluster with GPUs, else 0)")
    ray.add_argument("--ray-gpu-gb", type=float, default=80.0, help="memory of one cluster GPU (default 80)")
    ray.add_argument("--ship-code", action="store_true",
                     help="upload this checkout to the cluster instead of expecting the studio on its workers")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """The studio settings of this run, from its options.

    Raises:
        InvalidInput: naming the option.
    """
    try:
        return Settings(profile=args.profile, device=args.device, dtype=args.dtype, data_dir=args.data_dir,
                        offload=args.offload, cache_budget_gb=args.cache_budget_gb, offline=args.offline,
                        ray_gpu_gb=args.ray_gpu_gb)
    except InvalidInput as exc:
        raise InvalidInput(dict(OPTION_OF_VARIABLE).get(exc.field, exc.field), exc.reason) from None


def parse_params(args: argparse.Namespace, settings: Settings) -> Params:
    """``Params`` from the arguments (numbers checked, each naming its option)."""
    steps = None if args.steps is None else int(check_number(args.steps, "--steps", minimum=1, integer=True))
    guidance = None if args.guidance is None else float(check_number(args.guidance, "--guidance", minimum=0))
    for name in ("actors", "num_cpus"):
        check_number(getattr(args, name), f"--{name.replace('_', '-')}", minimum=1 if name == "actors" else 0)
    return Params(width=args.width, height=args.height, steps=steps, guidance=guidance,
                  negative_prompt=args.negative_prompt, profile=settings.profile)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code (2 for bad input, 1 when a model failed, 130 when interrupted).

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
    """
    args = build_parser().parse_args(argv)

    def report(line: str) -> None:
        print(line, flush=True)

    pool: PoolWriter | None = None
    todo = 0
    try:
        settings = settings_from(args)
        models = [m.strip() for value in args.models for m in value.split(",") if m.strip()]
        seeds = parse_seeds(args.seeds)
        params = parse_params(args, settings)
        items, jobs = plan(args.prompts, models, seeds, params)
        executor = local_executor(settings)
        check_models(executor, models, params, items[0]["prompt"], available=not args.ray)
        with PoolWriter(args.out) as pool:
            pool.write_prompts(items)
            done = pool.records()
            missing = [job for job in jobs if job.job_id not in done]
            todo = len(missing)
            where = f"Ray ({args.ray})" if args.ray else "this process"
            report(f"{args.out}: {len(items) // len(seeds)} prompt(s) x {len(seeds)} seed(s) x {len(models)} "
                   f"model(s) = {len(jobs)} image(s); {len(jobs) - todo} already done, {todo} to make in {where} "
                   f"({settings.profile} profile)")
            started = time.perf_counter()
            if missing and args.ray:
                from arena.pregen_ray import run_ray

                run_ray(pool, missing, params, settings, args, report)
            elif missing:
                run_local(pool, missing, params, executor, report)
            made, seconds = pool.saved, time.perf_counter() - started
            if made:
                report(f"made {made} image(s) in {seconds:.1f} s ({made / max(seconds, 1e-9):.2f} images/s)")
            others = sorted({p.name for p in args.out.iterdir() if p.is_dir()} - {model_folder(m) for m in models})
            if others:
                report(f"note: {args.out} also holds {', '.join(others)}; an import takes every model folder")
            if pool.failures:
                job, error = pool.failures[0]
                print(f"failed: {len(pool.failures)} image(s), e.g. {job.model} {job.item_id}: {error}; what was "
                      "made is kept, run the same command again to retry the rest", file=sys.stderr)
                return EXIT_FAILED
            report(f"pool complete: {args.out} ({len(items)} items, models {', '.join(models)})")
    except KeyboardInterrupt:
        made = pool.saved if pool else 0
        print(f"interrupted after {made} of {todo} image(s); run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except InvalidInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (StudioError, OSError) as exc:  # a model that cannot run, the cluster, a full disk...
        print(f"failed: {describe(exc)}; what was made is kept, run again to resume", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
