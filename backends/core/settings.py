"""Settings read from ``STUDIO_*`` environment variables.

``Settings.from_env`` is called once, by ``app.py``; everything else receives the resulting object. Importing this
module touches neither torch nor the disk: the device policy (``backends.models.device``) resolves the device only
when a model loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.core.clients import check_proxies
from backends.core.errors import InvalidInput

PROFILES = ("real", "tiny")
DTYPES = ("auto", "float32", "float16", "bfloat16")
OFFLOADS = ("none", "model", "sequential")
EXECUTORS = ("local", "ray")
DEFAULT_ARK_BASE_URL = "https://ark.ap-southeast.bytepluses.com/api/v3"
DEFAULT_SEEDREAM_MODEL = "seedream-3-0-t2i-250415"


@dataclass(frozen=True)
class EnvVar:
    """One documented environment variable (rendered by ``python app.py --help``)."""

    name: str
    default: str
    help: str


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("STUDIO_PROFILE", "real", "real: Hugging Face models; tiny: random-weight miniatures, no downloads"),
    EnvVar("STUDIO_DEVICE", "auto", "auto | cpu | cuda | cuda:N | mps"),
    EnvVar("STUDIO_DTYPE", "auto", "auto (per model: bf16/fp16 on GPU, fp32 on CPU) | float32 | float16 | bfloat16"),
    EnvVar("STUDIO_DATA_DIR", "./data", "outputs, miniatures, the labeling database"),
    EnvVar("STUDIO_CACHE_BUDGET_GB", "0", "memory for loaded models; 0 = 90% of the GPU, or half the RAM on CPU"),
    EnvVar("STUDIO_OFFLOAD", "none", "none | model (enable_model_cpu_offload) | sequential (lowest VRAM)"),
    EnvVar("STUDIO_HOST", "127.0.0.1", "address to serve on (GRADIO_SERVER_NAME is honoured; 0.0.0.0 in Docker)"),
    EnvVar("STUDIO_PORT", "7860", "port to serve on (GRADIO_SERVER_PORT is honoured)"),
    EnvVar("STUDIO_MAX_QUEUE", "64", "requests waiting in the queue before new ones are refused"),
    EnvVar("STUDIO_ADMIN_PASSWORD", "", "password for labeling-session admin actions"),
    EnvVar("STUDIO_DATABASE_URL", "", "SQLAlchemy URL of the labeling database; default SQLite in the data dir"),
    EnvVar("STUDIO_LOG_LEVEL", "INFO", "DEBUG | INFO | WARNING | ERROR"),
    EnvVar("ARK_API_KEY", "", "key for Seedream through the ModelArk / Ark images API (optional)"),
    EnvVar("STUDIO_ARK_BASE_URL", DEFAULT_ARK_BASE_URL, "Ark API base URL (Volcengine: ark.cn-beijing.volces.com)"),
    EnvVar("STUDIO_SEEDREAM_MODEL", DEFAULT_SEEDREAM_MODEL, "Ark model id (or endpoint id) used for Seedream"),
    EnvVar("HF_HUB_OFFLINE", "0", "1: never contact the hub; a missing model names the command that fetches it"),
    EnvVar("STUDIO_INPUT_ROOTS", "", f"server folders batch features may read ('{os.pathsep}'-separated); empty: "
                                     "uploads only"),
    EnvVar("STUDIO_MODEL_ROOTS", "", f"folders LoRAs and discriminators may be loaded from "
                                     f"('{os.pathsep}'-separated)"),
    EnvVar("STUDIO_LORA_ALLOWLIST", "", "Hugging Face repo ids of LoRAs anyone may load (comma-separated)"),
    EnvVar("STUDIO_MAX_UPLOAD_MB", "50", "largest upload accepted, in MB"),
    EnvVar("STUDIO_ADMIN_RATE", "30", "admin calls per client per minute (failed passwords count 5 times)"),
    EnvVar("STUDIO_TRUSTED_PROXIES", "", "reverse proxies (IP addresses or CIDR networks, comma-separated) whose "
                                         "X-Forwarded-For names the client; empty: the direct peer is the client"),
    EnvVar("SPACE_ID", "", "set by Hugging Face Spaces: enables 'Sign in with Hugging Face' for labeling sessions"),
    EnvVar("STUDIO_CHECKPOINT_ROOTS", "", f"folders searched for research tokenizer checkpoints, as <root>/<repo id>/"
                                          f"<file> or <root>/<file>, before the Hugging Face cache ('{os.pathsep}'-"
                                          "separated)"),
    EnvVar("STUDIO_EXECUTOR", "local", "local: models run in this process; ray: on Ray Serve deployments "
                                       "(pip install -r requirements-ray.txt)"),
    EnvVar("STUDIO_RAY_ADDRESS", "", "Ray cluster for STUDIO_EXECUTOR=ray: auto (this box joined it with ray start) "
                                     "or ray://head:10001; empty: start a local Ray"),
    EnvVar("STUDIO_RAY_GPU_GB", "80", "memory of one GPU of the Ray cluster: a group's num_gpus = its VRAM / this; "
                                      "0: a CPU-only cluster"),
    EnvVar("STUDIO_RAY_CONFIG", "", "JSON file of Ray Serve group settings (replicas, autoscaling, num_gpus, which "
                                    "models); see deploy/ray/"),
    EnvVar("STUDIO_RAY_APP", "studio", "prefix of the Ray Serve applications holding the model groups"),
    EnvVar("STUDIO_REMOTE_MODELS", "", "models served by other studios or Spaces: key=space-or-url, comma-separated "
                                       "(keys may be patterns such as t2i/*)"),
    EnvVar("STUDIO_SERVE_MODELS", "", "models this studio runs for other studios through /run_model (comma-separated "
                                      "keys or patterns); empty: none"),
    EnvVar("STUDIO_REMOTE_TOKEN", "", "shared secret between a front studio and the studios serving its models"),
    EnvVar("SPACES_ZERO_GPU", "", "set by Hugging Face Spaces on ZeroGPU hardware: device jobs run in @spaces.GPU"),
)


@dataclass(frozen=True)
class Settings:
    """The studio's configuration.

    Attributes:
        profile: ``"real"`` or ``"tiny"``.
        device: requested device (``"auto"`` resolves on first load).
        dtype: requested dtype or ``"auto"``.
        data_dir: folder for outputs, miniatures and the database.
        cache_budget_gb: budget for loaded models; 0 means automatic.
        offload: diffusers CPU-offload mode on CUDA.
        host: address to serve on.
        port: port to serve on.
        max_queue: queue size before new requests are refused.
        admin_password: password for labeling admin actions ("" disables them).
        database_url: SQLAlchemy URL, "" for SQLite under ``data_dir``.
        log_level: Python logging level name.
        ark_api_key: key for the Seedream API ("" disables it).
        ark_base_url: Ark API base URL.
        seedream_model: Ark model id.
        offline: whether the Hugging Face hub must not be contacted.
        input_roots: server folders batch features may read (empty: uploads only).
        model_roots: folders LoRAs and discriminators may be loaded from.
        lora_allowlist: Hugging Face repo ids of LoRAs anyone may load.
        max_upload_mb: largest upload accepted, in MB.
        admin_rate: admin calls per client per minute.
        trusted_proxies: reverse proxies (addresses or CIDR networks) whose ``X-Forwarded-For`` is believed.
        space_id: the Hugging Face Space this runs in ("" elsewhere).
        checkpoint_roots: folders searched for research tokenizer checkpoints before the Hugging Face cache.
        executor: where models run: ``"local"`` (this process) or ``"ray"`` (Ray Serve deployments).
        ray_address: the Ray cluster ("" starts a local one).
        ray_gpu_gb: memory of one GPU on the Ray cluster (0: CPU-only cluster).
        ray_config: JSON file of Ray Serve group settings, or None.
        ray_app: name of the Ray Serve application.
        remote_models: (key or pattern, Space id or URL) pairs of models other studios serve.
        serve_models: keys or patterns this studio runs for other studios.
        remote_token: shared secret between a front studio and its model studios ("" for none).
        zero_gpu: running on Hugging Face ZeroGPU hardware.
    """

    profile: str = "real"
    device: str = "auto"
    dtype: str = "auto"
    data_dir: Path = Path("data")
    cache_budget_gb: float = 0.0
    offload: str = "none"
    host: str = "127.0.0.1"
    port: int = 7860
    max_queue: int = 64
    admin_password: str = ""
    database_url: str = ""
    log_level: str = "INFO"
    ark_api_key: str = ""
    ark_base_url: str = DEFAULT_ARK_BASE_URL
    seedream_model: str = DEFAULT_SEEDREAM_MODEL
    offline: bool = False
    input_roots: tuple[Path, ...] = ()
    model_roots: tuple[Path, ...] = ()
    lora_allowlist: tuple[str, ...] = ()
    max_upload_mb: float = 50.0
    admin_rate: int = 30
    trusted_proxies: tuple[str, ...] = ()
    space_id: str = ""
    checkpoint_roots: tuple[Path, ...] = ()
    executor: str = "local"
    ray_address: str = ""
    ray_gpu_gb: float = 80.0
    ray_config: Path | None = None
    ray_app: str = "studio"
    remote_models: tuple[tuple[str, str], ...] = ()
    serve_models: tuple[str, ...] = ()
    remote_token: str = ""
    zero_gpu: bool = False

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise InvalidInput("STUDIO_PROFILE", f"{self.profile!r} is not one of {', '.join(PROFILES)}")
        if self.dtype not in DTYPES:
            raise InvalidInput("STUDIO_DTYPE", f"{self.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.offload not in OFFLOADS:
            raise InvalidInput("STUDIO_OFFLOAD", f"{self.offload!r} is not one of {', '.join(OFFLOADS)}")
        device_kind = self.device.split(":")[0]
        if device_kind not in ("auto", "cpu", "cuda", "mps"):
            raise InvalidInput("STUDIO_DEVICE", f"{self.device!r} is not auto, cpu, cuda, cuda:N or mps")
        if not 0 < self.port < 65536:
            raise InvalidInput("STUDIO_PORT", f"{self.port} is not a TCP port (1-65535)")
        if self.cache_budget_gb < 0:
            raise InvalidInput("STUDIO_CACHE_BUDGET_GB", f"{self.cache_budget_gb} must be >= 0 (0 = automatic)")
        if self.max_queue < 1:
            raise InvalidInput("STUDIO_MAX_QUEUE", f"{self.max_queue} must be >= 1")
        if self.max_upload_mb <= 0:
            raise InvalidInput("STUDIO_MAX_UPLOAD_MB", f"{self.max_upload_mb} must be > 0")
        if self.admin_rate < 1:
            raise InvalidInput("STUDIO_ADMIN_RATE", f"{self.admin_rate} must be >= 1")
        check_proxies(self.trusted_proxies, "STUDIO_TRUSTED_PROXIES")
        if self.executor not in EXECUTORS:
            raise InvalidInput("STUDIO_EXECUTOR", f"{self.executor!r} is not one of {', '.join(EXECUTORS)}")
        if self.ray_gpu_gb < 0:
            raise InvalidInput("STUDIO_RAY_GPU_GB", f"{self.ray_gpu_gb} must be >= 0 (0 = a CPU-only cluster)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from environment variables (``os.environ`` by default).

        Raises:
            InvalidInput: a variable holds a value of the wrong kind; the message names it.
        """
        env = os.environ if environ is None else environ

        def get(name: str, fallback: str = "") -> str:
            return env.get(name, "").strip() or fallback

        def number(name: str, fallback: str, kind: type[int] | type[float]) -> Any:
            raw = get(name, fallback)
            try:
                return kind(raw)
            except ValueError:
                raise InvalidInput(name, f"{raw!r} is not {'a whole number' if kind is int else 'a number'}") from None

        def paths(name: str) -> tuple[Path, ...]:
            return tuple(Path(p).expanduser() for p in get(name).split(os.pathsep) if p.strip())

        def items(name: str) -> tuple[str, ...]:
            return tuple(item.strip() for item in get(name).split(",") if item.strip())

        def routes(name: str) -> tuple[tuple[str, str], ...]:
            pairs = []
            for item in items(name):
                key, _, source = item.partition("=")
                if not key.strip() or not source.strip():
                    raise InvalidInput(name, f"{item!r} is not key=space-or-url (e.g. t2i/kolors=me/kolors-space)")
                pairs.append((key.strip(), source.strip()))
            return tuple(pairs)

        return cls(
            profile=get("STUDIO_PROFILE", "real").lower(),
            device=get("STUDIO_DEVICE", "auto").lower(),
            dtype=get("STUDIO_DTYPE", "auto").lower(),
            data_dir=Path(get("STUDIO_DATA_DIR", "data")).expanduser(),
            cache_budget_gb=number("STUDIO_CACHE_BUDGET_GB", "0", float),
            offload=get("STUDIO_OFFLOAD", "none").lower(),
            host=get("STUDIO_HOST", get("GRADIO_SERVER_NAME", "127.0.0.1")),
            port=number("STUDIO_PORT", get("GRADIO_SERVER_PORT", "7860"), int),
            max_queue=number("STUDIO_MAX_QUEUE", "64", int),
            admin_password=get("STUDIO_ADMIN_PASSWORD"),
            database_url=get("STUDIO_DATABASE_URL"),
            log_level=get("STUDIO_LOG_LEVEL", "INFO").upper(),
            ark_api_key=get("ARK_API_KEY"),
            ark_base_url=get("STUDIO_ARK_BASE_URL", DEFAULT_ARK_BASE_URL).rstrip("/"),
            seedream_model=get("STUDIO_SEEDREAM_MODEL", DEFAULT_SEEDREAM_MODEL),
            offline=get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"),
            input_roots=paths("STUDIO_INPUT_ROOTS"),
            model_roots=paths("STUDIO_MODEL_ROOTS"),
            lora_allowlist=tuple(r.strip() for r in get("STUDIO_LORA_ALLOWLIST").split(",") if r.strip()),
            max_upload_mb=number("STUDIO_MAX_UPLOAD_MB", "50", float),
            admin_rate=number("STUDIO_ADMIN_RATE", "30", int),
            trusted_proxies=items("STUDIO_TRUSTED_PROXIES"),
            space_id=get("SPACE_ID"),
            checkpoint_roots=paths("STUDIO_CHECKPOINT_ROOTS"),
            executor=get("STUDIO_EXECUTOR", "local").lower(),
            ray_address=get("STUDIO_RAY_ADDRESS"),
            ray_gpu_gb=number("STUDIO_RAY_GPU_GB", "80", float),
            ray_config=Path(get("STUDIO_RAY_CONFIG")).expanduser() if get("STUDIO_RAY_CONFIG") else None,
            ray_app=get("STUDIO_RAY_APP", "studio"),
            remote_models=routes("STUDIO_REMOTE_MODELS"),
            serve_models=items("STUDIO_SERVE_MODELS"),
            remote_token=get("STUDIO_REMOTE_TOKEN"),
            zero_gpu=get("SPACES_ZERO_GPU").lower() in ("1", "t", "true"),
        )

    @property
    def outputs_dir(self) -> Path:
        """Where generated images are written."""
        return self.data_dir / "outputs"

    @property
    def tiny_dir(self) -> Path:
        """Where the tiny profile's miniatures are saved."""
        return self.data_dir / "tiny"


def env_help() -> str:
    """The environment variables as an aligned table, for ``--help``."""
    width = max(len(v.name) for v in ENV_VARS)
    lines = [f"  {v.name:<{width}}  {v.help} (default: {v.default or 'unset'})" for v in ENV_VARS]
    return "environment variables:\n" + "\n".join(lines)
