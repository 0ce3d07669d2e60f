"""Memory groups: how the registry's accelerator models are split between GPU workers, from their VRAM figures.

Two plans, one per engine:

- Ray Serve (``plan_groups``): a model of ``SOLO_GB`` or more gets a deployment of its own, so a side-by-side
  comparison of big models runs on different replicas at once; smaller models share one deployment per task (they
  take turns in that replica's model cache). ``num_gpus`` is the group's largest VRAM figure over the cluster's GPU
  size, rounded up to sixteenths; a JSON file (``STUDIO_RAY_CONFIG``) overrides any of it.
- Hugging Face Spaces on ZeroGPU (``plan_spaces``): one Space per group, packed first-fit decreasing within the
  48 GB of a ``large`` ZeroGPU slice; a model over ``ZEROGPU_XLARGE_FROM_GB`` gets an ``xlarge`` Space of its own
  (hub-docs ``spaces-zerogpu.md``: large = half an RTX Pro 6000, 48 GB; xlarge = the whole card, 96 GB).

The VRAM figures are the registry's approximations (see ``ModelSpec.vram_gb``); peak memory at the studio's sizes
has not been measured on a GPU, so the JSON overrides exist for operators who measure it.
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from backends.core.errors import InvalidInput
from backends.models import zerogpu
from backends.models.registry import Registry
from backends.models.spec import ModelSpec

DEVICE_LOADERS = ("diffusers", "transformers", "code")  # models that compute on the accelerator
SOLO_GB = 8.0  # models this big get a Ray deployment of their own
GPU_STEP = 16  # num_gpus is rounded up to 1/GPU_STEP of a GPU
ZEROGPU_LARGE_GB = 48.0
ZEROGPU_XLARGE_FROM_GB = zerogpu.XLARGE_FROM_GB
CONFIG_SECTIONS = ("models", "defaults", "groups", "assign")
# Helper models share a Space with the task that calls them (rFID's Inception runs inside tokenizer evaluations).
SPACE_COMPANIONS: Mapping[str, str] = MappingProxyType({"metric": "tok"})


@dataclass(frozen=True)
class ReplicaOptions:
    """How one Ray Serve deployment runs; every field can be set in the JSON config.

    Attributes:
        num_gpus: GPUs per replica; None derives it from the group's VRAM and the GPU size.
        num_cpus: CPUs per replica (Ray also sets the replica's OMP_NUM_THREADS from it).
        min_replicas: replicas kept when idle; 0 lets a rarely used model scale to zero (the first request then
            waits for a replica to start and load the weights).
        max_replicas: most replicas the autoscaler starts.
        initial_replicas: replicas at deployment (None: ``min_replicas``).
        max_ongoing_requests: requests one replica takes at a time (1: a loaded pipeline keeps per-call state).
        target_ongoing_requests: the autoscaler's target per replica.
        upscale_delay_s: how long demand must last before scaling up.
        downscale_delay_s: how long a replica must be idle before it is stopped.
        env: environment variables of the replica processes (e.g. ``HF_HOME``, ``OMP_NUM_THREADS``).
    """

    num_gpus: float | None = None
    num_cpus: float = 1.0
    min_replicas: int = 0
    max_replicas: int = 1
    initial_replicas: int | None = None
    max_ongoing_requests: int = 1
    target_ongoing_requests: float = 1.0
    upscale_delay_s: float = 0.0
    downscale_delay_s: float = 600.0
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", MappingProxyType({str(k): str(v) for k, v in dict(self.env).items()}))
        if self.min_replicas < 0 or self.max_replicas < max(self.min_replicas, 1):
            raise InvalidInput("STUDIO_RAY_CONFIG", f"replicas need 0 <= min_replicas <= max_replicas and "
                                                    f"max_replicas >= 1, got {self.min_replicas}..{self.max_replicas}")
        if self.max_ongoing_requests < 1 or self.num_cpus < 0 or (self.num_gpus is not None and self.num_gpus < 0):
            raise InvalidInput("STUDIO_RAY_CONFIG", "max_ongoing_requests must be >= 1 and num_cpus, num_gpus >= 0")

    def autoscaling(self) -> dict[str, Any]:
        """Ray Serve's ``autoscaling_config``."""
        config: dict[str, Any] = {
            "min_replicas": self.min_replicas, "max_replicas": self.max_replicas,
            "target_ongoing_requests": self.target_ongoing_requests, "upscale_delay_s": self.upscale_delay_s,
            "downscale_delay_s": self.downscale_delay_s,
        }
        if self.initial_replicas is not None:
            config["initial_replicas"] = self.initial_replicas
        return config


@dataclass(frozen=True)
class ModelGroup:
    """Models that share one worker (a Ray Serve deployment or a Space).

    Attributes:
        name: the deployment (or Space) name, e.g. ``"t2i-kolors"`` or ``"tok-small"``.
        keys: the registry keys it serves.
        vram_gb: the registry's VRAM figure of its largest member.
        total_gb: the sum of its members' figures.
        num_gpus: GPUs one replica reserves (0 on a CPU-only cluster).
        fits: whether the largest member fits the GPU share (False: it needs ``STUDIO_OFFLOAD``).
        options: replica and autoscaling settings.
    """

    name: str
    keys: tuple[str, ...]
    vram_gb: float
    total_gb: float
    num_gpus: float
    fits: bool
    options: ReplicaOptions = ReplicaOptions()

    def budget_gb(self, gpu_gb: float) -> float:
        """The model-cache budget of one replica: 90% of its GPU share (0: automatic, on a CPU-only cluster)."""
        return round(0.9 * self.num_gpus * gpu_gb, 3) if gpu_gb > 0 and self.num_gpus > 0 else 0.0


@dataclass(frozen=True)
class GroupConfig:
    """Operator overrides of the Ray plan (the JSON file of ``STUDIO_RAY_CONFIG``).

    Attributes:
        models: key patterns to deploy (fnmatch, e.g. ``"t2i/*"``); empty: every accelerator model.
        defaults: ``ReplicaOptions`` fields for every group.
        groups: per group name, ``ReplicaOptions`` fields that win over the defaults.
        assign: key -> group name, to move a model into another (or a new) group.
    """

    models: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    groups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    assign: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Any, source: str = "STUDIO_RAY_CONFIG") -> GroupConfig:
        """Validate parsed JSON.

        Raises:
            InvalidInput: naming ``source``, for unknown sections or option names.
        """
        if not isinstance(data, Mapping):
            raise InvalidInput(source, "must be a JSON object with models, defaults, groups and assign")
        unknown = set(data) - set(CONFIG_SECTIONS)
        if unknown:
            raise InvalidInput(source, f"unknown sections {sorted(unknown)}; allowed: {', '.join(CONFIG_SECTIONS)}")
        options = {f.name for f in fields(ReplicaOptions)}
        for where, values in [("defaults", data.get("defaults", {})), *data.get("groups", {}).items()]:
            if not isinstance(values, Mapping) or set(values) - options:
                raise InvalidInput(source, f"{where}: options must be an object with keys among {sorted(options)}")
        return cls(models=tuple(data.get("models", ())), defaults=dict(data.get("defaults", {})),
                   groups={k: dict(v) for k, v in data.get("groups", {}).items()},
                   assign=dict(data.get("assign", {})))

    @classmethod
    def load(cls, path: Path | None) -> GroupConfig:
        """Read the JSON file (None: no overrides).

        Raises:
            InvalidInput: the file is missing, not JSON, or not a valid config.
        """
        if path is None:
            return cls()
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput("STUDIO_RAY_CONFIG", f"cannot read {path}: {exc}") from None
        return cls.from_data(data)


def gpu_share(vram_gb: float, gpu_gb: float) -> float:
    """``num_gpus`` for a model of ``vram_gb`` on GPUs of ``gpu_gb``: rounded up to sixteenths, at most 1."""
    if gpu_gb <= 0:
        return 0.0
    return min(1.0, max(1, math.ceil(vram_gb / gpu_gb * GPU_STEP)) / GPU_STEP)


def group_name(spec: ModelSpec) -> str:
    """The default Ray group of ``spec``: its own for big models, ``<task>-small`` for the rest."""
    if spec.vram_gb >= SOLO_GB:
        return spec.key.replace("/", "-").replace(".", "-")
    return f"{spec.task}-small"


def device_specs(registry: Registry, patterns: Iterable[str] = ()) -> list[ModelSpec]:
    """The accelerator models of ``registry`` (optionally only keys matching ``patterns``), in registry order."""
    patterns = tuple(patterns)
    return [s for s in registry.values()
            if s.loader in DEVICE_LOADERS and (not patterns or any(fnmatch.fnmatch(s.key, p) for p in patterns))]


def plan_groups(registry: Registry, gpu_gb: float, config: GroupConfig | None = None) -> list[ModelGroup]:
    """The Ray Serve deployments: one group per big model, one per task for the small ones, then the overrides.

    Raises:
        InvalidInput: the config names a model or group that does not exist.
    """
    config = config or GroupConfig()
    for key in config.assign:
        spec = registry.get_spec(key, "STUDIO_RAY_CONFIG")
        if spec.loader not in DEVICE_LOADERS:
            raise InvalidInput("STUDIO_RAY_CONFIG", f"{key} does not run on an accelerator ({spec.loader})")
    members: dict[str, list[ModelSpec]] = {}
    for spec in device_specs(registry, config.models):
        members.setdefault(config.assign.get(spec.key) or group_name(spec), []).append(spec)
    unknown = set(config.groups) - set(members)
    if unknown:
        raise InvalidInput("STUDIO_RAY_CONFIG", f"no deployed group is named {sorted(unknown)}; groups: "
                                                f"{', '.join(members)}")
    groups = []
    for name, specs in members.items():
        options = ReplicaOptions(**{**config.defaults, **config.groups.get(name, {})})
        vram = max(s.vram_gb for s in specs)
        num_gpus = gpu_share(vram, gpu_gb) if options.num_gpus is None else options.num_gpus
        groups.append(ModelGroup(name, tuple(s.key for s in specs), vram, sum(s.vram_gb for s in specs), num_gpus,
                                 gpu_gb <= 0 or vram <= num_gpus * gpu_gb, options))
    return groups


def plan_spaces(registry: Registry, capacity_gb: float = ZEROGPU_LARGE_GB) -> list[ModelGroup]:
    """One ZeroGPU Space per group: per task (helpers with the task that calls them, ``SPACE_COMPANIONS``), first-fit
    decreasing within ``capacity_gb``; a model over ``ZEROGPU_XLARGE_FROM_GB`` alone on an ``xlarge`` Space.
    ``num_gpus`` is 1.0 for xlarge and 0.5 for large (half a card)."""
    by_task: dict[str, list[ModelSpec]] = {}
    for spec in device_specs(registry):
        by_task.setdefault(SPACE_COMPANIONS.get(spec.task, spec.task), []).append(spec)
    groups = []
    for task, specs in by_task.items():
        bins: list[list[ModelSpec]] = []
        for spec in sorted(specs, key=lambda s: -s.vram_gb):
            fitting = [b for b in bins if b[0].vram_gb <= ZEROGPU_XLARGE_FROM_GB
                       and sum(s.vram_gb for s in b) + spec.vram_gb <= capacity_gb]
            if spec.vram_gb > ZEROGPU_XLARGE_FROM_GB or not fitting:
                bins.append([spec])
            else:
                fitting[0].append(spec)
        for index, members in enumerate(bins, start=1):
            vram = max(s.vram_gb for s in members)
            name = group_name(members[0]) if len(members) == 1 and vram >= SOLO_GB else f"{task}-{index}"
            groups.append(ModelGroup(name, tuple(s.key for s in members), vram,
                                     round(sum(s.vram_gb for s in members), 3),
                                     1.0 if vram > ZEROGPU_XLARGE_FROM_GB else 0.5, vram <= 2 * ZEROGPU_LARGE_GB))
    return groups


def groups_table(groups: Iterable[ModelGroup], gpu_gb: float | None = None, spaces: bool = False) -> str:
    """A Markdown table of a plan (the README's tables are printed by ``python -m
    backends.models.executors.ray_serve plan``)."""
    if spaces:
        rows = ["| Space (group) | models | largest (GB) | sum (GB) | ZeroGPU size |", "|---|---|---|---|---|"]
        for g in groups:
            size = "xlarge (96 GB)" if g.num_gpus >= 1 else "large (48 GB)"
            rows.append(f"| `{g.name}` | {', '.join(g.keys)} | {g.vram_gb:g} | {g.total_gb:g} | {size} |")
        return "\n".join(rows)
    rows = ["| deployment (group) | models | largest (GB) | num_gpus | replicas | fits |", "|---|---|---|---|---|---|"]
    for g in groups:
        replicas = f"{g.options.min_replicas}..{g.options.max_replicas}"
        fits = "yes" if g.fits else f"no: needs > {g.num_gpus * (gpu_gb or 0):g} GB, use STUDIO_OFFLOAD"
        rows.append(f"| `{g.name}` | {', '.join(g.keys)} | {g.vram_gb:g} | {g.num_gpus:g} | {replicas} | {fits} |")
    return "\n".join(rows)


def with_options(group: ModelGroup, **changes: Any) -> ModelGroup:
    """``group`` with some ``ReplicaOptions`` changed (tests and the deploy command's flags)."""
    return replace(group, options=replace(group.options, **changes))
