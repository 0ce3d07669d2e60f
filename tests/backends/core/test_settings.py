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
    ],
)
def test_bad_values_name_the_variable(env: dict, field: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{field}: "):
        Settings.from_env(env)


def test_help_documents_every_variable() -> None:
    text = env_help()
    for var in ENV_VARS:
        assert var.name in text
