"""Memory groups from the registry's VRAM figures: Ray deployments (num_gpus, overrides) and ZeroGPU Spaces."""

from __future__ import annotations

import json

import pytest

from backends.core.errors import InvalidInput
from backends.models.executors.groups import (
    DEVICE_LOADERS,
    SOLO_GB,
    GroupConfig,
    ReplicaOptions,
    gpu_share,
    groups_table,
    plan_groups,
    plan_spaces,
)
from backends.models.executors.ray_serve import deployment_options, replica_settings


def test_num_gpus_is_the_vram_share_rounded_up_to_sixteenths() -> None:
    assert gpu_share(58, 80) == 0.75 and gpu_share(19, 80) == 0.25 and gpu_share(0.1, 80) == 1 / 16
    assert gpu_share(120, 80) == 1.0 and gpu_share(30, 0) == 0.0


def test_every_accelerator_model_is_in_exactly_one_group(registry) -> None:
    groups = plan_groups(registry, 80)
    keys = [key for group in groups for key in group.keys]
    expected = [s.key for s in registry.values() if s.loader in DEVICE_LOADERS]
    assert sorted(keys) == sorted(expected) and len(keys) == len(set(keys))
    by_name = {g.name: g for g in groups}
    # Big models alone (side by side on different replicas), small ones together per task.
    assert by_name["t2i-qwen-image"].keys == ("t2i/qwen-image",) and by_name["t2i-qwen-image"].num_gpus == 0.75
    assert "t2i/taiyi-sd-1b" in by_name["t2i-small"].keys
    assert all(registry[key].vram_gb < SOLO_GB for key in by_name["t2i-small"].keys)
    assert all(g.options == ReplicaOptions() for g in groups)  # min 0 (scale to zero), max 1, one request each


def test_a_model_larger_than_a_gpu_is_flagged(registry) -> None:
    qwen = next(g for g in plan_groups(registry, 48) if g.name == "t2i-qwen-image")
    assert qwen.num_gpus == 1.0 and not qwen.fits
    assert "use STUDIO_OFFLOAD" in groups_table([qwen], 48)


def test_the_json_config_overrides_everything(registry, tmp_path) -> None:
    path = tmp_path / "ray.json"
    path.write_text(json.dumps({
        "models": ["t2i/*"],
        "defaults": {"max_replicas": 2, "env": {"HF_HOME": "/models"}},
        "groups": {"t2i-qwen-image": {"min_replicas": 1, "num_gpus": 1}},
        "assign": {"t2i/sdxl": "t2i-small"},
    }))
    groups = {g.name: g for g in plan_groups(registry, 80, GroupConfig.load(path))}
    assert all(key.startswith("t2i/") for g in groups.values() for key in g.keys)
    assert groups["t2i-qwen-image"].num_gpus == 1 and groups["t2i-qwen-image"].options.min_replicas == 1
    assert {"t2i/taiyi-sd-1b", "t2i/sdxl"} <= set(groups["t2i-small"].keys) and "t2i-sdxl" not in groups
    options = deployment_options(replica_settings_for(registry), groups["t2i-kolors"])
    assert options["max_ongoing_requests"] == 1 and options["ray_actor_options"]["num_gpus"] == 0.25
    assert options["autoscaling_config"]["max_replicas"] == 2 and options["autoscaling_config"]["min_replicas"] == 0
    assert options["ray_actor_options"]["runtime_env"]["env_vars"] == {"HF_HOME": "/models"}


def replica_settings_for(registry):
    from backends.core.settings import Settings

    return Settings(ray_gpu_gb=80)


def test_a_replica_budgets_its_gpu_share(registry) -> None:
    from backends.core.settings import Settings

    kolors = next(g for g in plan_groups(registry, 80) if g.name == "t2i-kolors")
    settings = replica_settings(Settings(executor="ray", ray_gpu_gb=80, remote_models=(("t2i/*", "x/y"),)), kolors)
    assert settings.cache_budget_gb == pytest.approx(0.9 * 0.25 * 80)
    assert (settings.executor, settings.remote_models, settings.zero_gpu) == ("local", (), False)


@pytest.mark.parametrize("data, message", [
    ({"replicas": 2}, "unknown sections"),
    ({"defaults": {"gpus": 1}}, "options must be an object"),
    ({"groups": {"t2i-nope": {"max_replicas": 2}}}, "no deployed group is named"),
    ({"assign": {"ocr/rapidocr": "x"}}, "does not run on an accelerator"),
    ({"defaults": {"min_replicas": 3, "max_replicas": 2}}, "min_replicas <= max_replicas"),
])
def test_bad_configs_name_the_variable(registry, data, message) -> None:
    with pytest.raises(InvalidInput, match=f"^STUDIO_RAY_CONFIG: .*{message}"):
        plan_groups(registry, 80, GroupConfig.from_data(data))


def test_spaces_fit_a_zerogpu_slice(registry) -> None:
    spaces = plan_spaces(registry)
    keys = [key for space in spaces for key in space.keys]
    assert sorted(keys) == sorted(s.key for s in registry.values() if s.loader in DEVICE_LOADERS)
    for space in spaces:
        if space.num_gpus == 1.0:  # xlarge: one model over 45 GB alone
            assert len(space.keys) == 1 and space.vram_gb > 45
        else:
            assert space.total_gb <= 48
    xlarge = {s.keys[0] for s in spaces if s.num_gpus == 1.0}
    assert xlarge == {"t2i/qwen-image", "t2i/hunyuan-image-2.1"}
    assert any("metric/inception-fid" in s.keys and "tok/sd-vae" in s.keys for s in spaces)  # rFID with tokenizers
    assert "| `t2i-qwen-image` | t2i/qwen-image | 58 | 58 | xlarge (96 GB) |" in groups_table(spaces, spaces=True)
