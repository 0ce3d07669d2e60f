from __future__ import annotations

from pathlib import Path

import pytest

from backends.core.errors import InvalidInput
from backends.core.settings import ENV_VARS, Settings, env_help


def test_defaults() -> None:
    s = Settings.from_env({})
    assert (s.profile, s.device, s.dtype, s.host, s.port, s.offline) == ("real", "auto", "auto", "127.0.0.1", 7860,
                                                                         False)
    assert s.data_dir == Path("data")


def test_reads_studio_variables() -> None:
    s = Settings.from_env({"STUDIO_PROFILE": "TINY", "STUDIO_DEVICE": "cuda:1", "STUDIO_DTYPE": "bfloat16",
                           "STUDIO_DATA_DIR": "/tmp/x", "STUDIO_CACHE_BUDGET_GB": "12.5", "STUDIO_PORT": "9000",
                           "STUDIO_OFFLOAD": "model", "HF_HUB_OFFLINE": "1", "ARK_API_KEY": "k"})
    assert (s.profile, s.device, s.dtype, s.cache_budget_gb, s.port, s.offload, s.offline, s.ark_api_key) == (
        "tiny", "cuda:1", "bfloat16", 12.5, 9000, "model", True, "k")
    assert s.outputs_dir == Path("/tmp/x/outputs")


def test_gradio_server_variables_are_honoured() -> None:
    s = Settings.from_env({"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7861"})
    assert (s.host, s.port) == ("0.0.0.0", 7861)


@pytest.mark.parametrize(
    "env, field",
    [
        ({"STUDIO_PROFILE": "huge"}, "STUDIO_PROFILE"),
        ({"STUDIO_DTYPE": "int4"}, "STUDIO_DTYPE"),
        ({"STUDIO_DEVICE": "tpu"}, "STUDIO_DEVICE"),
        ({"STUDIO_PORT": "http"}, "STUDIO_PORT"),
        ({"STUDIO_PORT": "70000"}, "STUDIO_PORT"),
        ({"STUDIO_CACHE_BUDGET_GB": "-1"}, "STUDIO_CACHE_BUDGET_GB"),
        ({"STUDIO_OFFLOAD": "disk"}, "STUDIO_OFFLOAD"),
        ({"STUDIO_EXECUTOR": "dask"}, "STUDIO_EXECUTOR"),
        ({"STUDIO_RAY_GPU_GB": "-8"}, "STUDIO_RAY_GPU_GB"),
        ({"STUDIO_REMOTE_MODELS": "t2i/kolors"}, "STUDIO_REMOTE_MODELS"),
        ({"STUDIO_TRUSTED_PROXIES": "10.0.0.5,proxy.local"}, "STUDIO_TRUSTED_PROXIES"),
    ],
)
def test_bad_values_name_the_variable(env: dict, field: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{field}: "):
        Settings.from_env(env)


class Recording(dict):
    """An environment that remembers which variables were read."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        super().__init__(values or {})
        self.read: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:
        self.read.add(key)
        return super().get(key, default)


# A valid, non-default value per documented variable: setting it must change the settings.
EXAMPLES = {"STUDIO_PROFILE": "tiny", "STUDIO_DEVICE": "cpu", "STUDIO_DTYPE": "float16", "STUDIO_DATA_DIR": "/srv/x",
            "STUDIO_CACHE_BUDGET_GB": "3", "STUDIO_OFFLOAD": "model", "STUDIO_HOST": "0.0.0.0", "STUDIO_PORT": "9999",
            "STUDIO_MAX_QUEUE": "5", "STUDIO_ADMIN_PASSWORD": "pw", "STUDIO_DATABASE_URL": "sqlite:///x.db",
            "STUDIO_LOG_LEVEL": "DEBUG", "ARK_API_KEY": "k", "STUDIO_ARK_BASE_URL": "https://ark.example/api",
            "STUDIO_SEEDREAM_MODEL": "seedream-4", "HF_HUB_OFFLINE": "1", "STUDIO_INPUT_ROOTS": "/srv/in",
            "STUDIO_MODEL_ROOTS": "/srv/models", "STUDIO_LORA_ALLOWLIST": "org/lora", "STUDIO_MAX_UPLOAD_MB": "7",
            "STUDIO_ADMIN_RATE": "3", "STUDIO_TRUSTED_PROXIES": "10.0.0.0/8", "SPACE_ID": "me/space",
            "STUDIO_CHECKPOINT_ROOTS": "/srv/ckpt",
            "STUDIO_EXECUTOR": "ray", "STUDIO_RAY_ADDRESS": "ray://head:10001", "STUDIO_RAY_GPU_GB": "48",
            "STUDIO_RAY_CONFIG": "/srv/ray.json", "STUDIO_RAY_APP": "lab",
            "STUDIO_REMOTE_MODELS": "t2i/*=me/t2i-space", "STUDIO_SERVE_MODELS": "t2i/kolors",
            "STUDIO_REMOTE_TOKEN": "s3cret", "SPACES_ZERO_GPU": "true"}


def test_the_documented_variables_are_exactly_the_ones_read() -> None:
    env = Recording()
    Settings.from_env(env)
    documented = {var.name for var in ENV_VARS}
    honoured = {"GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"}  # Gradio's own, named in STUDIO_HOST / STUDIO_PORT help
    assert env.read == documented | honoured, "a variable is read but not in --help, or documented but never read"
    text = env_help()
    assert all(var.name in text and var.help in text for var in ENV_VARS)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_documented_variable_changes_a_setting(name: str) -> None:
    assert {var.name for var in ENV_VARS} == set(EXAMPLES)
    assert Settings.from_env({name: EXAMPLES[name]}) != Settings.from_env({})


def test_every_variable_has_a_row_in_a_readme_table() -> None:
    """The README's settings tables (Configuration, and the Ray / serving sections) list every variable read."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text("utf-8")
    rows = [line.split("|")[1] for line in readme.splitlines() if line.startswith("| `")]
    missing = [var.name for var in ENV_VARS if not any(f"`{var.name}`" in first for first in rows)]
    assert not missing, f"not in a README settings table: {missing}"
