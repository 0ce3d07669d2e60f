"""Pool pre-generation on a Ray cluster: Ray Data ``map_batches`` with one actor pool per model.

Each model's missing jobs form a dataset with one block per job, mapped by ``PoolGenerator`` (a callable class: Ray
runs it as a pool of actors, each loading its model once, in ``__init__``). The models' datasets are unioned into
one streaming execution, so on a cluster with room every model runs at once. Images come back to this process as
PNG bytes, which writes them durably and appends the manifest as each arrives (``arena.pregen_jobs.PoolWriter``):
the pool folder need not be on the cluster's storage, and a restart resumes from the manifest, whatever happened to
the cluster. Ray is imported inside functions: installing it is optional (``requirements-ray.txt``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from arena.pregen_jobs import Job, Params, PoolWriter, Report, describe, local_executor, render
from backends.core.errors import GenerationFailed, ModelUnavailable, StudioError
from backends.core.settings import Settings

LOCAL = "local"
LOCAL_CPUS = 2
INSTALL_HINT = "pip install 'ray[data]==2.60.0'"


class PoolGenerator:
    """One actor of a model's pool: loads the model once, then turns batches of jobs into PNG bytes and recipes.

    Args:
        settings: the driver's settings (profile, device policy, data dir for miniatures).
        model: the registry key this actor serves.
        params: the run's generation parameters.
    """

    def __init__(self, settings: Settings, model: str, params: Params) -> None:
        self.model = model
        self.params = params
        self.executor = local_executor(settings)
        self.error = ""  # why the model cannot load: every job then comes back with it
        try:
            with self.executor.cache.use(model):  # load now, once per actor
                pass
        except StudioError as exc:
            self.error = describe(exc)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Columns ``job_id``, ``item_id``, ``prompt``, ``negative_prompt``, ``seed`` in; ``job_id``, ``png``,
        ``recipe`` (JSON text), ``error`` ("" or the studio error, in one line) and ``seconds`` out."""
        out: dict[str, list[Any]] = {"job_id": [], "png": [], "recipe": [], "error": [], "seconds": []}
        for i, job_id in enumerate(batch["job_id"]):
            job = Job(str(job_id), self.model, str(batch["item_id"][i]), str(batch["prompt"][i]),
                      str(batch["negative_prompt"][i]), int(batch["seed"][i]))
            started = time.perf_counter()
            png, recipe, error = b"", {}, self.error
            if not error:
                try:
                    png, recipe = render(self.executor, job, self.params)
                except StudioError as exc:  # goes back to the driver as data: the other jobs carry on
                    error = describe(exc)
            out["job_id"].append(job.job_id)
            out["png"].append(png)
            out["recipe"].append(json.dumps(recipe, ensure_ascii=False))
            out["error"].append(error)
            out["seconds"].append(time.perf_counter() - started)
        return {"job_id": np.array(out["job_id"]), "png": np.array(out["png"], dtype=object),
                "recipe": np.array(out["recipe"]), "error": np.array(out["error"]),
                "seconds": np.array(out["seconds"])}


def connect(address: str, settings: Settings, ship_code: bool = False) -> bool:
    """Join the cluster at ``address``, or start a local Ray with 2 CPUs for ``"local"``; True if this call started
    or joined it (and so should disconnect at the end), False when this process was already connected.

    Raises:
        ModelUnavailable: Ray is not installed, or the cluster cannot be reached.
    """
    try:
        import pyarrow  # noqa: F401  (Ray Data's blocks; only the ray[data] extra installs it)
        import ray
        import ray.data  # fail here, not halfway
    except ImportError as exc:
        raise ModelUnavailable(f"--ray needs Ray Data ({exc.name} is missing): {INSTALL_HINT}") from None
    if ray.is_initialized():
        return False
    from backends.models.executors.ray_serve import connect as ray_connect

    options: dict[str, Any] = {"num_cpus": LOCAL_CPUS} if address == LOCAL else {}
    ray_connect(dataclasses.replace(settings, ray_address="" if address == LOCAL else address), ship_code, **options)
    return True


def actor_options(settings: Settings, model: str, args: argparse.Namespace) -> dict[str, Any]:
    """``map_batches`` resources of ``model``'s actor pool: ``--num-gpus``, or the model's VRAM over
    ``--ray-gpu-gb`` when the cluster has GPUs (none on a CPU-only cluster)."""
    import ray

    from backends.models.executors.groups import gpu_share
    from backends.models.registry import default_registry

    num_gpus = args.num_gpus
    if num_gpus is None:
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        num_gpus = gpu_share(default_registry().get_spec(model).vram_gb, settings.ray_gpu_gb) if has_gpus else 0.0
    env = {"HF_HUB_OFFLINE": "1"} if settings.offline else {}
    options: dict[str, Any] = {"compute": ray.data.ActorPoolStrategy(size=args.actors), "num_cpus": args.num_cpus,
                               "num_gpus": num_gpus}
    if env:
        options["runtime_env"] = {"env_vars": env}
    return options


def results(jobs: Sequence[Job], params: Params, settings: Settings,
            args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Rows ``job_id``, ``png``, ``recipe``, ``error``, ``seconds`` as the actors finish them (any order)."""
    import ray

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # this command prints one line per image instead
    datasets = []
    for model in dict.fromkeys(job.model for job in jobs):
        rows = [{"job_id": j.job_id, "item_id": j.item_id, "prompt": j.prompt, "negative_prompt": j.negative_prompt,
                 "seed": j.seed} for j in jobs if j.model == model]
        # One block per job, so each image streams back as soon as it is made (and is saved before the next).
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        datasets.append(dataset.map_batches(PoolGenerator, batch_size=1, batch_format="numpy",
                                            fn_constructor_kwargs={"settings": settings, "model": model,
                                                                   "params": params},
                                            **actor_options(settings, model, args)))
    combined = datasets[0].union(*datasets[1:]) if len(datasets) > 1 else datasets[0]
    yield from combined.iter_rows()


def run_ray(pool: PoolWriter, jobs: Sequence[Job], params: Params, settings: Settings, args: argparse.Namespace,
            report: Report) -> int:
    """Make ``jobs`` on the Ray cluster ``args.ray`` and save each one as it arrives; returns how many.

    Raises:
        ModelUnavailable: Ray is missing or the cluster cannot be reached.
        GenerationFailed: Ray stopped the run (an actor or a node died...); what was saved is kept. A model's own
            error on a job is not raised: the job is noted in ``pool.failures`` and the others carry on.
    """
    import ray

    started = connect(args.ray, settings, args.ship_code)
    by_id = {job.job_id: job for job in jobs}
    reported: set[tuple[str, str]] = set()
    try:
        for row in results(jobs, params, settings, args):
            job = by_id[str(row["job_id"])]
            if row["error"]:
                pool.fail(job, str(row["error"]))
                if (job.model, row["error"]) not in reported:  # a model that cannot load fails every job alike
                    reported.add((job.model, row["error"]))
                    report(f"[-] {job.model} {job.item_id} failed on Ray: {row['error']}")
                continue
            pool.save(job, bytes(row["png"]), json.loads(row["recipe"]))
            report(f"[{pool.saved}/{len(jobs)}] {job.model} {job.item_id} ({float(row['seconds']):.2f} s on Ray)")
    except ray.exceptions.RayError as exc:  # the cluster, not a model: the details are in Ray's log above
        raise GenerationFailed(f"the Ray run stopped: {str(exc).strip().splitlines()[0]}") from exc
    finally:
        if started:
            ray.shutdown()
    return pool.saved
