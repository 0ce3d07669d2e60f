from __future__ import annotations

import dataclasses

import pytest

from backends.core.errors import InvalidInput
from backends.models.registry import Registry, default_registry
from backends.models.spec import (
    BuiltinDefaults,
    CodeDefaults,
    GenerationDefaults,
    ModelSpec,
    SizeRule,
    TransformersDefaults,
)

T2I = "backends.tasks.t2i.pipeline:DiffusersTextToImage"
GENERATION = {"steps", "guidance", "guidance_param", "call_kwargs"}


def spec(**changes) -> ModelSpec:
    base = dict(key="t2i/demo", name="Demo", task="t2i", backend=T2I, loader="diffusers", repo_id="org/demo",
                class_name="X")
    defaults = {k: changes.pop(k) for k in list(changes) if k in GENERATION}
    base.update(changes)
    if defaults:
        base["defaults"] = GenerationDefaults(**defaults)
    return ModelSpec(**base)


def test_registry_has_the_bilingual_models_the_issue_asks_for() -> None:
    reg = default_registry()
    for key in ("t2i/kolors", "t2i/hunyuan-dit", "t2i/hunyuan-dit-distilled", "t2i/cogview4", "t2i/qwen-image",
                "t2i/hunyuan-image-2.1", "t2i/taiyi-sd-1b", "t2i/flux-schnell", "t2i/seedream"):
        assert key in reg
    assert reg["t2i/taiyi-sd-1b"].cpu_ok
    assert "zh" not in reg["t2i/flux-schnell"].languages  # the English-centred reference


def test_model_card_quirks_are_recorded() -> None:
    reg = default_registry()
    assert reg["t2i/qwen-image"].generation.guidance_param == "true_cfg_scale"
    assert "float16" in reg["t2i/cogview4"].forbidden_dtypes
    assert reg["t2i/cogview4"].size.multiple == 32 and reg["t2i/cogview4"].size.max_pixels == 2**21
    assert reg["t2i/hunyuan-image-2.1"].generation.guidance_param == "guider"
    assert reg["t2i/hunyuan-dit-distilled"].generation.steps == 25
    assert reg["tok/flux-vae"].subfolder == "vae" and reg["t2i/kolors"].variant == "fp16"
    for s in reg.values():
        assert s.license and s.paper, s.key
    assert all(s.languages for s in reg.by_task("t2i"))


def test_duplicate_keys_raise() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Registry([spec(), spec()])


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"key": "Kolors"}, "must look like"),
        ({"key": "ocr/demo"}, "does not start with its task"),
        ({"backend": "no-colon"}, "module:Class"),
        ({"dtype": "float8"}, "dtypes"),
        ({"dtype": "float16", "forbidden_dtypes": ("float16",)}, "also forbidden"),
        ({"steps": 0}, "default steps"),
        ({"guidance_param": "cfg"}, "guidance_param"),
        ({"repo_id": None}, "needs a repo_id"),
        ({"loader": "onnx"}, "loader"),
        ({"loader": "api"}, "an api model has no repo_id"),
        ({"defaults": TransformersDefaults()}, "a diffusers model takes GenerationDefaults"),
        ({"loader": "builtin", "defaults": CodeDefaults()}, "a builtin model takes BuiltinDefaults"),
    ],
)
def test_invalid_specs_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec(**changes)


def test_specs_are_immutable() -> None:
    s = spec(call_kwargs={"max_sequence_length": 256})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.generation.steps = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.generation.call_kwargs["max_sequence_length"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        BuiltinDefaults(options={"codec": "pca"}).options["codec"] = "vq"  # type: ignore[index]


def test_every_loader_gets_its_own_typed_defaults() -> None:
    reg = default_registry()
    assert {s.loader for s in reg.values()} >= {"diffusers", "api", "code", "builtin"}
    assert isinstance(reg["t2i/seedream"].defaults, GenerationDefaults) and reg["t2i/seedream"].remote
    assert reg["tok/pca"].defaults.options["codec"] == "pca"
    assert reg["tok/sd-vae"].generation.steps is None and not reg["tok/sd-vae"].is_pipeline
    with pytest.raises(TypeError, match="without generation defaults"):
        reg["tok/pca"].generation  # noqa: B018 - the property raises


def test_unknown_key_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="models: unknown model key 'nope'.*t2i/kolors"):
        default_registry().get_spec("nope", "models")


def test_size_rule_names_the_field_value_and_rule() -> None:
    rule = SizeRule(default=1024, minimum=512, maximum=2048, multiple=32, max_pixels=2**21)
    assert rule.check(1024, 768, "m") == (1024, 768)
    assert rule.check(1024.0, 768.0, "m") == (1024, 768)
    with pytest.raises(InvalidInput, match=r"width: 0 is outside 512\.\.2048"):
        rule.check(0, 512, "m")
    with pytest.raises(InvalidInput, match=r"height: 100000 is outside"):
        rule.check(512, 100000, "m")
    with pytest.raises(InvalidInput, match=r"width: 1000 is not a multiple of 32.*try 992 or 1024"):
        rule.check(1000, 512, "m")
    with pytest.raises(InvalidInput, match="exceeds m's limit"):
        rule.check(2048, 2048, "m")
    with pytest.raises(InvalidInput, match="width: expected a finite number"):
        rule.check(float("nan"), 512, "m")
    with pytest.raises(InvalidInput, match="height: expected a whole number"):
        rule.check(512, 512.5, "m")


def test_describe_is_json_ready() -> None:
    import json

    for s in default_registry().values():
        json.dumps(s.describe())
