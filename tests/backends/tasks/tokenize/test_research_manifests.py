"""Every released checkpoint the manifests describe against its adapter, built at full size on the meta device (no
memory, no weights): zero missing, zero unexpected and zero mis-shaped keys after the documented drops, and the
architecture the adapter reads from the file's shapes is the released one.

Manifests: ``tests/fixtures/tokenizer-manifests`` (see its SOURCE.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.models.registry import default_registry
from backends.tasks.tokenize.research import checkpoint, llamagen, robusttok, semanticist, titok
from backends.tasks.tokenize.research.adapter import ResearchTokenizer

MANIFESTS = Path(__file__).resolve().parents[3] / "fixtures" / "tokenizer-manifests"

# manifest -> the registry entries whose released file it describes
CASES = [
    ("llamagen_vq16", "tok/llamagen-vq"),
    ("robusttok_xqgan4096_DERIVED", "tok/robusttok"),
    ("robusttok_xqgan4096_DERIVED", "tok/xqgan-4096"),
    ("robusttok_xqgan4096_DERIVED", "tok/robustok-main"),
    ("robusttok_xqgan4096_DERIVED", "tok/robustok-post"),
    ("titok_l32", "tok/titok"),
    ("titok_b64", "tok/titok-b64"),
    ("titok_s128", "tok/titok-s128"),
    ("titok_sl256_vq8k", "tok/titok-sl256-vq8k"),
    ("titok_bl128_vae_c16", "tok/titok-bl128-vae"),
    ("semanticist_ditxl2", "tok/semanticist"),
]


def manifest(name: str) -> dict[str, list[int]]:
    return json.loads((MANIFESTS / f"{name}.json").read_text())["keys"]


def backend(key: str, tiny_settings) -> ResearchTokenizer:
    from backends.models.backend import import_backend

    made = import_backend(default_registry()[key], tiny_settings)
    assert isinstance(made, ResearchTokenizer)
    return made


@pytest.mark.parametrize("name, key", CASES, ids=[f"{k}:{n}" for n, k in CASES])
def test_released_architecture_matches_the_manifest(name: str, key: str, tiny_settings) -> None:
    adapter = backend(key, tiny_settings)
    keys, dropped = checkpoint.clean(manifest(name), adapter.drop_prefixes)
    report = checkpoint.compare(adapter.expected_shapes(adapter.released_config()), keys, dropped)
    assert report.ok, report.describe(limit=40)
    assert adapter.infer_config(keys, {}) == adapter.released_config()


def test_documented_drops_are_exactly_the_train_only_parts(tiny_settings) -> None:
    _, dropped = checkpoint.clean(manifest("robusttok_xqgan4096_DERIVED"), (robusttok.SEMANTIC_PREFIX,))
    assert len(dropped) == 174 and all(k.startswith("semantic_model.") for k in dropped)  # the frozen DINOv2
    _, dropped = checkpoint.clean(manifest("semanticist_ditxl2"), semanticist.SemanticistTokenizer.drop_prefixes)
    assert sorted(dropped) == sorted(f"dit.projector.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias"))
    assert "semantic_model.* (174 tensors)" in checkpoint.compare({}, {}, [f"semantic_model.{i}" for i in range(174)]
                                                                  ).describe()


def test_xqgan_8192_is_read_from_its_codebook(tiny_settings) -> None:
    keys, _ = checkpoint.clean(manifest("robusttok_xqgan4096_DERIVED"), (robusttok.SEMANTIC_PREFIX,))
    keys.update({"quantize.embedding.weight": [8192, 32], "quantize.ema_vocab_hit_SV": [8192],
                 "quant_conv.weight": [32, 768, 1, 1], "quant_conv.bias": [32],
                 "post_quant_conv.weight": [768, 32, 1, 1]})
    adapter = backend("tok/xqgan-8192", tiny_settings)
    assert adapter.infer_config(keys, {}) == adapter.released_config() == robusttok.VARIANTS["8192"]
    assert checkpoint.compare(adapter.expected_shapes(adapter.released_config()), keys).ok


def test_semanticist_l_config_matches_its_manifest() -> None:
    import torch

    keys, _ = checkpoint.clean(manifest("semanticist_ditl2"), semanticist.SemanticistTokenizer.drop_prefixes)
    with torch.device("meta"):
        model = semanticist.build(semanticist.VARIANTS["l"])
    assert checkpoint.compare(model.state_dict(), keys).ok
    assert semanticist.infer_config(keys) == semanticist.VARIANTS["l"]


def test_a_wrong_shape_is_named_with_both_shapes() -> None:
    keys = manifest("llamagen_vq16")
    keys["quantize.embedding.weight"] = [8192, 8]
    import torch

    with torch.device("meta"):
        expected = llamagen.build(llamagen.RELEASED).state_dict()
    report = checkpoint.compare(expected, keys)
    assert report.misshaped == (("quantize.embedding.weight", (16384, 8), (8192, 8)),) and not report.missing
    assert "quantize.embedding.weight: [16384, 8] vs [8192, 8]" in report.describe()


def test_titok_variants_are_the_authors_configs() -> None:
    # configs/infer/TiTok/*.yaml: widths small 512/8, base 768/12, large 1024/24; legacy models decode via MaskGIT
    assert titok.VARIANTS["l32"].tokens == 32 and titok.VARIANTS["l32"].enc_width == 1024
    assert titok.VARIANTS["s128"].enc_depth == 8 and titok.VARIANTS["s128"].pixel is not None
    vq8k = titok.VARIANTS["sl256_vq8k"]
    assert (vq8k.enc_width, vq8k.dec_width, vq8k.codebook_size) == (512, 1024, 8192)
    assert not vq8k.l2 and not vq8k.legacy
